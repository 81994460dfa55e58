"""Benchmark gradkit against hand-written NumPy, PyTorch and HIPS autograd.

Run with ``python bench/autodiff.py`` (``--quick`` for fewer repeats). The peers live in a
separate environment, for example::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch==2.13.0 autograd numpy threadpoolctl
    .venv-bench/bin/pip install -e .
    .venv-bench/bin/python bench/autodiff.py

Every library runs on one thread. Cases:

(a) one MLP training step (forward, softmax cross-entropy, backward, SGD update), also
    written the plain way a user would ("plain MLP": nested lists, maximum(h, 0), a
    one-hot loss through logsumexp, fresh arrays at each update);
(b) per-op overhead: gradient of a chain of about 200 tiny primitive ops;
(c) the full Hessian of a logistic-loss-like function of 100 variables.

Each cell is the median wall time in milliseconds; a library that cannot be imported
shows "n/a", one whose call raises shows "error", one whose result disagrees with the
hand-written NumPy shows "WRONG" (details are printed under the table).
"""

import _harness

_harness.prepare_environment()  # before NumPy or PyTorch is imported

import traceback  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

from _harness import (  # noqa: E402
    CheckError,
    TimingConfig,
    assert_close,
    dtypes_of,
    fmt_ms,
    fmt_ratio,
    last_lines,
    median_ms,
)

IMPORT_ERRORS: dict[str, str] = {}

try:
    import torch
    import torch.nn.functional as F

    _harness.limit_torch_threads(torch)
except ImportError as exc:
    torch = None
    IMPORT_ERRORS["PyTorch"] = repr(exc)

try:
    import autograd
    import autograd.numpy as anp
except ImportError as exc:
    autograd = None
    IMPORT_ERRORS["autograd"] = repr(exc)

try:
    import gradkit as gk
    import gradkit.numpy as gnp
except Exception as exc:  # the package may be half-written: report any failure, run the rest
    gk = gnp = None
    IMPORT_ERRORS["gradkit"] = "".join(traceback.format_exception_only(exc)).strip()

FULL_TIMING = TimingConfig(min_time=0.3, min_repeats=5, max_repeats=20_000, warmup_time=0.1,
                           min_warmup=3)
QUICK_TIMING = TimingConfig(min_time=0.05, min_repeats=3, max_repeats=20_000, warmup_time=0.01,
                            min_warmup=1)


# --------------------------------------------------------------------------------------
# (a) MLP training step
# --------------------------------------------------------------------------------------

LR = 0.01


def mlp_data(sizes: tuple[int, ...], batch: int, dtype) -> tuple[list, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        W = (rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / d_in)).astype(dtype)
        b = np.zeros(d_out, dtype=dtype)
        params.append((W, b))
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=batch)
    return params, X, y


def copy_params(params: list) -> list:
    return [(W.copy(), b.copy()) for W, b in params]


def numpy_mlp(params, X, y):
    """Forward and backward written out by hand."""
    params = copy_params(params)
    rows = np.arange(X.shape[0])

    def loss_and_grads():
        acts, h = [X], X
        for W, b in params[:-1]:
            h = np.maximum(h @ W + b, 0)
            acts.append(h)
        W, b = params[-1]
        logits = h @ W + b
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -logp[rows, y].mean()
        g = np.exp(logp)  # d loss / d logits = (softmax - onehot) / n
        g[rows, y] -= 1
        g /= X.shape[0]
        grads = [None] * len(params)
        for i in reversed(range(len(params))):
            grads[i] = (acts[i].T @ g, g.sum(axis=0))
            if i > 0:
                g = (g @ params[i][0].T) * (acts[i] > 0)
        return loss, grads

    def step():
        loss, grads = loss_and_grads()
        for (W, b), (gW, gb) in zip(params, grads):
            W -= LR * gW
            b -= LR * gb
        return loss

    return loss_and_grads(), step


def gradkit_mlp(params, X, y):
    params = copy_params(params)
    zero = X.dtype.type(0)
    labels = y[:, None]

    def loss_fn(params, X, labels):
        h = X
        for W, b in params[:-1]:
            h = gnp.maximum(h @ W + b, zero)
        W, b = params[-1]
        logp = gnp.log_softmax(h @ W + b, axis=-1)
        return -gnp.mean(gnp.take_along_axis(logp, labels, axis=1))

    value_and_grad = gk.value_and_grad(loss_fn)

    def step():
        loss, grads = value_and_grad(params, X, labels)
        for (W, b), (gW, gb) in zip(params, grads):
            W -= LR * gW
            b -= LR * gb
        return loss

    return value_and_grad(params, X, labels), step


def gradkit_plain_mlp(params, X, y):
    """The training step a user writes the plain way (issue 8): nested lists of
    parameters, ``maximum(h, 0)``, a one-hot cross-entropy through ``logsumexp``, and new
    arrays at each update."""
    p = [[W.copy(), b.copy()] for W, b in params]
    Y = np.eye(params[-1][0].shape[1], dtype=X.dtype)[y]
    batch = X.shape[0]

    def loss(p):
        h = X
        for i, (W, b) in enumerate(p):
            h = h @ W + b
            if i < len(p) - 1:
                h = gnp.maximum(h, 0)
        return -gnp.sum(Y * (h - gnp.logsumexp(h, axis=1, keepdims=True))) / batch

    g = gk.grad(loss)

    def step():
        grads = g(p)
        p[:] = [[W - LR * gW, b - LR * gb] for (W, b), (gW, gb) in zip(p, grads)]

    return (loss(p), [tuple(pair) for pair in g(p)]), step


def torch_mlp(params, X, y):
    flat = [torch.tensor(p, requires_grad=True) for pair in params for p in pair]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def loss_and_grads():
        h = Xt
        for W, b in zip(flat[:-2:2], flat[1:-2:2]):
            h = torch.relu(h @ W + b)
        loss = F.cross_entropy(h @ flat[-2] + flat[-1], yt)
        return loss, torch.autograd.grad(loss, flat)

    def step():
        loss, grads = loss_and_grads()
        with torch.no_grad():
            for p, g in zip(flat, grads):
                p.sub_(g, alpha=LR)
        return loss

    loss, grads = loss_and_grads()
    pairs = [(gW.numpy(), gb.numpy()) for gW, gb in zip(grads[::2], grads[1::2])]
    return (loss.detach().numpy(), pairs), step


def autograd_mlp(params, X, y):
    params = copy_params(params)
    rows = np.arange(X.shape[0])

    def loss_fn(params, X, y):
        h = X
        for W, b in params[:-1]:
            h = anp.maximum(h @ W + b, 0.0)
        W, b = params[-1]
        logits = h @ W + b
        shifted = logits - anp.max(logits, axis=1, keepdims=True)
        logp = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.mean(logp[rows, y])

    value_and_grad = autograd.value_and_grad(loss_fn)

    def step():
        loss, grads = value_and_grad(params, X, y)
        params[:] = [(W - LR * gW, b - LR * gb) for (W, b), (gW, gb) in zip(params, grads)]
        return loss

    return value_and_grad(params, X, y), step


# --------------------------------------------------------------------------------------
# (b) per-op overhead: 67 x (sin, mul, add) then sum = 202 primitives
# --------------------------------------------------------------------------------------

CHAIN_STEPS = 67
CHAIN_OPS = 3 * CHAIN_STEPS


def numpy_chain(x0):
    def grad():
        x, cosines = x0, []
        for _ in range(CHAIN_STEPS):
            cosines.append(np.cos(x))
            x = np.sin(x) * 1.01 + 0.1
        np.sum(x)
        g = np.ones_like(x0)
        for c in reversed(cosines):
            g = g * 1.01 * c
        return g

    return grad(), grad


def _chain(sin, sum_):
    def f(x):
        for _ in range(CHAIN_STEPS):
            x = sin(x) * 1.01 + 0.1
        return sum_(x)

    return f


def gradkit_chain(x0):
    grad = gk.grad(_chain(gnp.sin, gnp.sum))
    return grad(x0), lambda: grad(x0)


def torch_chain(x0):
    f = _chain(torch.sin, torch.sum)
    xt = torch.tensor(x0, requires_grad=True)

    def grad():
        return torch.autograd.grad(f(xt), xt)[0]

    return grad().numpy(), grad


def autograd_chain(x0):
    grad = autograd.grad(_chain(anp.sin, anp.sum))
    return grad(x0), lambda: grad(x0)


# --------------------------------------------------------------------------------------
# (c) full Hessian of f(x) = sum(log(1 + exp(A @ x))) + x @ x / 2
# --------------------------------------------------------------------------------------


def hessian_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((200, 100))
    x = rng.standard_normal(100)
    return A, x


def numpy_hessian(A, x):
    """Closed form: A.T diag(s (1 - s)) A + I with s = sigmoid(A x)."""
    eye = np.eye(x.size)

    def hess():
        s = 1.0 / (1.0 + np.exp(-(A @ x)))
        return A.T @ ((s * (1.0 - s))[:, None] * A) + eye

    return hess(), hess


def gradkit_hessian(A, x):
    hess = gk.hessian(lambda x: gnp.sum(gnp.log1p(gnp.exp(A @ x))) + 0.5 * (x @ x))
    return hess(x), lambda: hess(x)


def _torch_hessian(A, x, vectorize: bool):
    At, xt = torch.from_numpy(A), torch.from_numpy(x)

    def f(x):
        return torch.sum(torch.log1p(torch.exp(At @ x))) + 0.5 * (x @ x)

    def hess():
        return torch.autograd.functional.hessian(f, xt, vectorize=vectorize)

    return hess().numpy(), hess


def torch_hessian(A, x):
    return _torch_hessian(A, x, vectorize=False)


def torch_hessian_vectorized(A, x):
    return _torch_hessian(A, x, vectorize=True)


def autograd_hessian(A, x):
    hess = autograd.hessian(lambda x: anp.sum(anp.log1p(anp.exp(A @ x))) + 0.5 * (x @ x))
    return hess(x), lambda: hess(x)


# --------------------------------------------------------------------------------------
# Cases, columns and the table
# --------------------------------------------------------------------------------------

GK, NP, PT, PTV, AG = "gradkit", "NumPy", "PyTorch", "PyTorch-vec", "autograd"
COLUMNS = (GK, NP, PT, PTV, AG)
AVAILABLE = {GK: gk is not None, NP: True, PT: torch is not None, AG: autograd is not None}
AVAILABLE[PTV] = AVAILABLE[PT]
LIBRARY_OF = {PTV: PT}


@dataclass
class Case(_harness.Case):
    torch_ratio_column: str = PT


def build_cases() -> list[Case]:
    cases = []
    for sizes, batch in (((64, 128, 10), 128), ((784, 512, 512, 10), 256)):
        for dtype in (np.float32, np.float64):
            data = mlp_data(sizes, batch, dtype)
            name = f"MLP {'-'.join(map(str, sizes))} b{batch} {np.dtype(dtype).name}"
            setups = {
                GK: lambda d=data: gradkit_mlp(*d),
                NP: lambda d=data: numpy_mlp(*d),
                PT: lambda d=data: torch_mlp(*d),
                AG: lambda d=data: autograd_mlp(*d),
            }
            cases.append(Case(name, 2e-4 if dtype == np.float32 else 1e-9, setups))
            if sizes[1] == 128 and dtype == np.float64:
                continue  # the plain program: small float32, large float32 and float64
            plain = dict(setups, **{GK: lambda d=data: gradkit_plain_mlp(*d)})
            del plain[AG]
            cases.append(Case(name.replace("MLP", "plain MLP"),
                              2e-4 if dtype == np.float32 else 1e-9, plain))
    rng = np.random.default_rng(0)
    for label, x0 in (("10-vector", rng.standard_normal(10)), ("scalar", np.asarray(0.5))):
        setups = {
            GK: lambda x=x0: gradkit_chain(x),
            NP: lambda x=x0: numpy_chain(x),
            PT: lambda x=x0: torch_chain(x),
            AG: lambda x=x0: autograd_chain(x),
        }
        cases.append(Case(f"{CHAIN_OPS}-op chain grad, f64 {label}", 1e-10, setups))
    A, x = hessian_data()
    setups = {
        GK: lambda: gradkit_hessian(A, x),
        NP: lambda: numpy_hessian(A, x),
        PT: lambda: torch_hessian(A, x),
        PTV: lambda: torch_hessian_vectorized(A, x),
        AG: lambda: autograd_hessian(A, x),
    }
    cases.append(Case("Hessian 100x100 (A 200x100) f64", 1e-9, setups, torch_ratio_column=PTV))
    return cases


def run_case(case: Case, cfg: TimingConfig, notes: list[str]) -> None:
    reference, ref_fn = case.setups[NP]()
    for column in COLUMNS:
        if column not in case.setups:
            case.cells[column] = "-"
            continue
        if not AVAILABLE[column]:
            case.cells[column] = "n/a"
            continue
        try:
            result, fn = (reference, ref_fn) if column == NP else case.setups[column]()
            if column != NP:
                assert_close(result, reference, case.rtol)
                got, want = dtypes_of(result), dtypes_of(reference)
                if got != want:
                    notes.append(f"{case.name} / {column}: result dtype {got}, reference {want}")
            case.cells[column] = median_ms(fn, cfg)
        except CheckError as exc:
            case.cells[column] = "WRONG"
            notes.append(f"{case.name} / {column}: disagrees with NumPy by hand: {exc}")
            continue
        except Exception as exc:
            case.cells[column] = "error"
            notes.append(f"{case.name} / {column} raised:\n{last_lines(exc)}")
            continue
        check = "reference" if column == NP else "agrees with NumPy by hand: OK"
        print(f"  {case.name:<36} {column:<12} {check:<31} {case.cells[column]:10.3f} ms")


def print_table(cases: list[Case]) -> None:
    headers = ["case", *COLUMNS, "gk/NumPy", "gk/PyTorch", "gk/autograd"]
    rows = []
    for case in cases:
        c = case.cells
        ratios = [
            fmt_ratio(c[GK], c[NP]),
            fmt_ratio(c[GK], c[case.torch_ratio_column]),
            fmt_ratio(c[GK], c[AG]),
        ]
        rows.append([case.name, *(fmt_ms(c[col]) for col in COLUMNS), *ratios])
    _harness.print_rows(headers, rows)


def print_per_op(cases: list[Case]) -> None:
    print(f"\nmicroseconds per primitive op (median time / {CHAIN_OPS}):")
    for case in cases:
        if "chain" not in case.name:
            continue
        parts = []
        for col in COLUMNS:
            cell = case.cells[col]
            if isinstance(cell, float):
                parts.append(f"{col} {cell * 1e3 / CHAIN_OPS:.2f}")
            elif cell != "-":
                parts.append(f"{col} {cell}")
        print(f"  {case.name:<36} " + ", ".join(parts))


# --------------------------------------------------------------------------------------
# Environment report and main
# --------------------------------------------------------------------------------------


def print_environment(cfg: TimingConfig) -> None:
    _harness.print_environment(
        ((PT, "torch"), (AG, "autograd"), (GK, "gradkit")),
        IMPORT_ERRORS,
        torch,
        f"timing: time.perf_counter, warm-up >= {cfg.warmup_time} s, then repeats until"
        f" >= {cfg.min_time} s and >= {cfg.min_repeats} calls; cells are medians in ms\n",
    )


def main() -> None:
    quick = _harness.quick_requested(description=__doc__.splitlines()[0])
    cfg = QUICK_TIMING if quick else FULL_TIMING

    print_environment(cfg)
    cases = build_cases()
    notes = _harness.run_cases(cases, run_case, cfg)
    print_table(cases)
    print_per_op(cases)
    _harness.print_notes(notes)


if __name__ == "__main__":
    _harness.run_single_threaded(main)
