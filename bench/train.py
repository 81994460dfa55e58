"""Benchmark gradkit.nn training against PyTorch and hand-written NumPy.

Run with ``python bench/train.py`` (``--quick`` for fewer repeats) from the environment
that has the peers, for example::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch==2.13.0 scikit-learn numpy threadpoolctl
    .venv-bench/bin/pip install -e .
    .venv-bench/bin/python bench/train.py

Every library runs on one thread. Cases:

(a) CNN step: forward and backward of a small CNN on a batch of 64 float32 images
    1x28x28 (NCHW): conv 3x3 16 filters, ReLU, conv 3x3 32 filters, ReLU, global mean
    pool, linear 32 -> 10, softmax cross-entropy; the loss and every parameter's
    gradient. gradkit computes the gradient functionally (``gk.value_and_grad`` over
    ``nn.functional_call``; column "gradkit") and the PyTorch way (``loss.backward()``
    on the model's parameters, as ``nn.fit`` does; column "gk-eager"). The NumPy column
    is im2col written out by hand: channels-last windows, one GEMM per convolution, and
    a backward pass that adds the 3x3 kernel offsets back with slices.
(b) digits MLP epoch: one epoch of mini-batch SGD (batch 32, lr 0.05) of a 64-128-10
    ReLU MLP with softmax cross-entropy on scikit-learn's digits (1797 images 8x8,
    float32), the same initial weights and the same shuffling for every library;
    gradkit with ``nn.fit`` (column "gradkit": the whole loop, with its NaN check,
    history and bookkeeping) and with a bare ``backward()`` loop ("gk-eager").

Each cell is the median wall time in milliseconds. The columns are timed in
interleaved cycles (each column's call right after every other column's equally often),
so that a slow spell on a shared machine, or a peer that evicts the caches, hits them all
alike. A library that cannot be imported shows "n/a", one whose
call raises shows "error", one whose result disagrees with the hand-written NumPy shows
"WRONG" (details are printed under the table).
"""

import _harness

_harness.prepare_environment()  # before NumPy or PyTorch is imported

import traceback  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from _harness import (  # noqa: E402
    Case,
    CheckError,
    TimingConfig,
    assert_close,
    fmt_ms,
    fmt_ratio,
    interleaved_medians,
    last_lines,
)

IMPORT_ERRORS: dict[str, str] = {}

try:
    import torch
    import torch.nn.functional as TF

    _harness.limit_torch_threads(torch)
except ImportError as exc:
    torch = None
    IMPORT_ERRORS["PyTorch"] = repr(exc)

try:
    import gradkit as gk
    from gradkit import nn
except Exception as exc:  # the package may be half-written: report any failure, run the rest
    gk = nn = None
    IMPORT_ERRORS["gradkit"] = "".join(traceback.format_exception_only(exc)).strip()

try:
    from sklearn.datasets import load_digits
except ImportError as exc:
    load_digits = None
    IMPORT_ERRORS["scikit-learn"] = repr(exc)

FULL_TIMING = TimingConfig(min_time=1.0, min_repeats=7, max_repeats=2_000, warmup_calls=2)
QUICK_TIMING = TimingConfig(min_time=0.2, min_repeats=3, max_repeats=2_000, warmup_calls=1)


# --------------------------------------------------------------------------------------
# (a) CNN forward + backward
# --------------------------------------------------------------------------------------

BATCH = 64


def he_uniform(rng, shape, fan_in):
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def cnn_data():
    """Weights in PyTorch's layouts: W1 (16,1,3,3), W2 (32,16,3,3), W3 (10,32); images."""
    rng = np.random.default_rng(0)
    params = {
        "W1": he_uniform(rng, (16, 1, 3, 3), 9), "b1": np.zeros(16, np.float32),
        "W2": he_uniform(rng, (32, 16, 3, 3), 144), "b2": np.zeros(32, np.float32),
        "W3": he_uniform(rng, (10, 32), 32), "b3": np.zeros(10, np.float32),
    }
    for k in ("b1", "b2", "b3"):
        params[k] = rng.uniform(-0.1, 0.1, params[k].shape).astype(np.float32)
    X = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=BATCH)
    return params, X, y


def _windows(x, k):
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))


def numpy_cnn(params, X, y):
    """im2col by hand: NHWC windows with channels innermost, one GEMM per convolution."""
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    n = X.shape[0]
    rows = np.arange(n)

    def step():
        x = X.transpose(0, 2, 3, 1)  # NHWC view (C = 1)
        h1, w1 = x.shape[1] - 2, x.shape[2] - 2
        c1 = _windows(x, 3).transpose(0, 1, 2, 4, 5, 3).reshape(n * h1 * w1, 9)
        m1 = W1.transpose(2, 3, 1, 0).reshape(9, 16)
        z1 = c1 @ m1
        z1 += b1
        a1 = np.maximum(z1, 0)
        h2, w2 = h1 - 2, w1 - 2
        c2 = _windows(a1.reshape(n, h1, w1, 16), 3).transpose(0, 1, 2, 4, 5, 3)
        c2 = c2.reshape(n * h2 * w2, 144)
        m2 = W2.transpose(2, 3, 1, 0).reshape(144, 32)
        z2 = c2 @ m2
        z2 += b2
        a2 = np.maximum(z2, 0)
        pooled = a2.reshape(n, h2 * w2, 32).mean(axis=1)
        logits = pooled @ W3.T + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -logp[rows, y].mean()
        g = np.exp(logp)
        g[rows, y] -= 1
        g /= n
        gW3, gb3 = g.T @ pooled, g.sum(axis=0)
        gpool = g @ W3 / (h2 * w2)
        gz2 = (np.broadcast_to(gpool[:, None, :], (n, h2 * w2, 32)) * (a2 > 0).reshape(
            n, h2 * w2, 32)).reshape(-1, 32)
        gm2, gb2 = c2.T @ gz2, gz2.sum(axis=0)
        gc2 = (gz2 @ m2.T).reshape(n, h2, w2, 3, 3, 16)
        ga1 = np.zeros((n, h1, w1, 16), np.float32)
        for i in range(3):
            for j in range(3):
                ga1[:, i:i + h2, j:j + w2] += gc2[:, :, :, i, j]
        gz1 = ga1.reshape(-1, 16) * (z1 > 0)
        gm1, gb1 = c1.T @ gz1, gz1.sum(axis=0)
        grads = {
            "W1": gm1.reshape(3, 3, 1, 16).transpose(3, 2, 0, 1), "b1": gb1,
            "W2": gm2.reshape(3, 3, 16, 32).transpose(3, 2, 0, 1), "b2": gb2,
            "W3": gW3, "b3": gb3,
        }
        return np.float32(loss), grads

    return step(), step


def gradkit_model(params):
    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(),
                          nn.GlobalAvgPool2d(), nn.Linear(32, 10))
    model.load_state_dict(dict(zip([n for n, _ in model.named_parameters()],
                                   [params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")])))
    return model


_GK_NAMES = {"0.weight": "W1", "0.bias": "b1", "2.weight": "W2", "2.bias": "b2",
             "5.weight": "W3", "5.bias": "b3"}


def gradkit_cnn(params, X, y):
    """The functional way (as nn.fit): value_and_grad over functional_call."""
    model = gradkit_model(params)
    state = model.state_dict()

    def loss_fn(p):
        return nn.cross_entropy(nn.functional_call(model, p, X), y)

    value_and_grad = gk.value_and_grad(loss_fn)

    def step():
        loss, grads = value_and_grad(state)
        return loss, {_GK_NAMES[k]: g for k, g in grads.items()}

    return step(), step


def gradkit_eager_cnn(params, X, y):
    """The PyTorch way: loss.backward() fills each parameter's .grad."""
    model = gradkit_model(params)
    named = model.named_parameters()

    def step():
        model.zero_grad()
        loss = nn.cross_entropy(model(X), y)
        loss.backward()
        return loss.numpy(), {_GK_NAMES[k]: p.grad.numpy() for k, p in named}

    return step(), step


def torch_cnn(params, X, y):
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    names = list(tp)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        h = torch.relu(TF.conv2d(Xt, tp["W1"], tp["b1"]))
        h = torch.relu(TF.conv2d(h, tp["W2"], tp["b2"]))
        logits = h.mean(dim=(2, 3)) @ tp["W3"].T + tp["b3"]
        loss = TF.cross_entropy(logits, yt)
        grads = torch.autograd.grad(loss, [tp[k] for k in names])
        return loss, dict(zip(names, grads))

    loss, grads = step()
    return (loss.detach().numpy(), {k: g.numpy() for k, g in grads.items()}), step


# --------------------------------------------------------------------------------------
# (b) one epoch of the digits MLP
# --------------------------------------------------------------------------------------

MLP_LR = 0.05
MLP_BATCH = 32


def digits_data():
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(1)
    params = {"W1": he_uniform(rng, (128, 64), 64), "b1": np.zeros(128, np.float32),
              "W2": he_uniform(rng, (10, 128), 128), "b2": np.zeros(10, np.float32)}
    return params, X, y


def epoch_order(n: int) -> np.ndarray:
    """The permutation nn.fit(seed=0) draws for its first epoch."""
    return np.random.default_rng(0).permutation(n)


def numpy_mlp(params, X, y):
    order = epoch_order(len(X))

    def epoch():
        W1, b1, W2, b2 = (params[k].copy() for k in ("W1", "b1", "W2", "b2"))
        for i in range(0, len(X), MLP_BATCH):
            idx = order[i:i + MLP_BATCH]
            xb, yb = X[idx], y[idx]
            n = len(xb)
            z1 = xb @ W1.T + b1
            a1 = np.maximum(z1, 0)
            logits = a1 @ W2.T + b2
            shifted = logits - logits.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = float(-logp[np.arange(n), yb].mean())
            if not np.isfinite(loss):
                raise FloatingPointError("loss")
            g = np.exp(logp)
            g[np.arange(n), yb] -= 1
            g /= n
            gW2, gb2 = g.T @ a1, g.sum(axis=0)
            gz1 = (g @ W2) * (z1 > 0)
            gW1, gb1 = gz1.T @ xb, gz1.sum(axis=0)
            W1 -= MLP_LR * gW1
            b1 -= MLP_LR * gb1
            W2 -= MLP_LR * gW2
            b2 -= MLP_LR * gb2
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

    return epoch(), epoch


class ProtocolSGD:
    """Plain SGD with the optimiser protocol that nn.fit expects (as gradkit.optim's)."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def init(self, params):
        return {"step": np.zeros((), np.int64)}

    def update(self, grads, state, params):
        lr = self.lr
        return {k: p - lr * grads[k] for k, p in params.items()}, {"step": state["step"] + 1}


def _gk_mlp(params):
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    model.load_state_dict({"0.weight": params["W1"], "0.bias": params["b1"],
                           "2.weight": params["W2"], "2.bias": params["b2"]})
    return model


def _gk_result(model):
    s = model.state_dict()
    return {"W1": s["0.weight"], "b1": s["0.bias"], "W2": s["2.weight"], "b2": s["2.bias"]}


def gradkit_mlp(params, X, y):
    model = _gk_mlp(params)
    start = model.state_dict()

    def epoch():
        model.load_state_dict(start)
        nn.fit(model, nn.cross_entropy, ProtocolSGD(MLP_LR), X, y, epochs=1,
               batch_size=MLP_BATCH, seed=0, progress=False)
        return _gk_result(model)

    return epoch(), epoch


def gradkit_eager_mlp(params, X, y):
    model = _gk_mlp(params)
    start = model.state_dict()
    plist = model.parameters()
    order = epoch_order(len(X))

    def epoch():
        model.load_state_dict(start)
        for i in range(0, len(X), MLP_BATCH):
            idx = order[i:i + MLP_BATCH]
            model.zero_grad()
            loss = nn.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            if not np.isfinite(loss.item()):
                raise FloatingPointError("loss")
            for p in plist:
                p.data = p.data - MLP_LR * p.grad.numpy()
        return _gk_result(model)

    return epoch(), epoch


def torch_mlp(params, X, y):
    order = torch.from_numpy(epoch_order(len(X)))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    start = {"0.weight": params["W1"], "0.bias": params["b1"], "2.weight": params["W2"],
             "2.bias": params["b2"]}
    start = {k: torch.from_numpy(v) for k, v in start.items()}
    opt = torch.optim.SGD(model.parameters(), lr=MLP_LR)

    def epoch():
        model.load_state_dict(start)
        for i in range(0, len(X), MLP_BATCH):
            idx = order[i:i + MLP_BATCH]
            opt.zero_grad()
            loss = TF.cross_entropy(model(Xt[idx]), yt[idx])
            loss.backward()
            if not np.isfinite(loss.item()):
                raise FloatingPointError("loss")
            opt.step()
        s = model.state_dict()
        return {"W1": s["0.weight"], "b1": s["0.bias"], "W2": s["2.weight"], "b2": s["2.bias"]}

    return {k: v.detach().numpy().copy() for k, v in epoch().items()}, epoch


# --------------------------------------------------------------------------------------
# Cases, columns and the table
# --------------------------------------------------------------------------------------

GK, GKE, NP, PT = "gradkit", "gk-eager", "NumPy", "PyTorch"
COLUMNS = (GK, GKE, NP, PT)
AVAILABLE = {GK: gk is not None, GKE: gk is not None, NP: True, PT: torch is not None}


def build_cases() -> list[Case]:
    cases = []
    data = cnn_data()
    cases.append(Case("CNN fwd+bwd b64 1x28x28 f32", 2e-4, {
        GK: lambda: gradkit_cnn(*data), GKE: lambda: gradkit_eager_cnn(*data),
        NP: lambda: numpy_cnn(*data), PT: lambda: torch_cnn(*data)}))
    if load_digits is not None:
        mlp = digits_data()
        cases.append(Case("digits MLP 64-128-10 epoch b32", 2e-4, {
            GK: lambda: gradkit_mlp(*mlp), GKE: lambda: gradkit_eager_mlp(*mlp),
            NP: lambda: numpy_mlp(*mlp), PT: lambda: torch_mlp(*mlp)}))
    return cases


def run_case(case: Case, cfg: TimingConfig, notes: list[str]) -> None:
    reference, ref_fn = case.setups[NP]()
    timed: dict[str, Callable[[], object]] = {}
    for column in COLUMNS:
        if not AVAILABLE[column]:
            case.cells[column] = "n/a"
            continue
        try:
            result, fn = (reference, ref_fn) if column == NP else case.setups[column]()
            if column != NP:
                assert_close(result, reference, case.rtol, check_dtype=True)
            timed[column] = fn
        except CheckError as exc:
            case.cells[column] = "WRONG"
            notes.append(f"{case.name} / {column}: disagrees with NumPy by hand: {exc}")
        except Exception as exc:
            case.cells[column] = "error"
            notes.append(f"{case.name} / {column} raised:\n{last_lines(exc)}")
    try:
        case.cells.update(interleaved_medians(timed, cfg))
    except Exception as exc:
        notes.append(f"{case.name}: timing raised:\n{last_lines(exc)}")
        for column in timed:
            case.cells.setdefault(column, "error")
    for column in COLUMNS:
        cell = case.cells[column]
        if isinstance(cell, float):
            check = "reference" if column == NP else "agrees with NumPy by hand: OK"
            print(f"  {case.name:<32} {column:<9} {check:<31} {cell:10.3f} ms")


def print_table(cases: list[Case]) -> None:
    headers = ["case", *COLUMNS, "gk/PyTorch", "gk-eager/PyTorch", "gk/NumPy"]
    rows = []
    for case in cases:
        c = case.cells
        ratios = [fmt_ratio(c[GK], c[PT]), fmt_ratio(c[GKE], c[PT]), fmt_ratio(c[GK], c[NP])]
        rows.append([case.name, *(fmt_ms(c[col], decimals=2) for col in COLUMNS), *ratios])
    _harness.print_rows(headers, rows)


# --------------------------------------------------------------------------------------
# Environment report and main
# --------------------------------------------------------------------------------------


def print_environment(cfg: TimingConfig) -> None:
    _harness.print_environment(
        ((PT, "torch"), (GK, "gradkit"), ("scikit-learn", "scikit-learn")),
        IMPORT_ERRORS,
        torch,
        f"timing: time.perf_counter, {cfg.warmup_calls} warm-up calls each, then interleaved"
        f" cycles until >= {cfg.min_time} s per column and >= {cfg.min_repeats} calls each;"
        f" cells are medians in ms\n",
    )


def main() -> None:
    quick = _harness.quick_requested(description=__doc__.splitlines()[0])
    cfg = QUICK_TIMING if quick else FULL_TIMING

    print_environment(cfg)
    cases = build_cases()
    notes = _harness.run_cases(cases, run_case, cfg)
    print_table(cases)
    if load_digits is None:
        notes.append("digits MLP skipped: scikit-learn is not installed in this environment")
    _harness.print_notes(notes)


if __name__ == "__main__":
    _harness.run_single_threaded(main)
