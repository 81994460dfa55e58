"""Per-example gradients and batched Jacobians: gradkit's vmap against a loop, PyTorch's
torch.func and hand-written NumPy, side by side on one thread.

Run from the environment that has PyTorch (``.venv-bench``)::

    .venv-bench/bin/python bench/vmap.py            # the issue's cases
    .venv-bench/bin/python bench/vmap.py --quick    # fewer repeats

Cases (float32 unless said): (a) the digits MLP 64-128-10, batch 128, cross-entropy; (b)
an MLP 784-512-512-10, batch 128 (343 MB of per-example gradients); (c) the Jacobian of a
10-to-10 function at 256 points, ``vmap(jacobian(f))`` against
``torch.func.vmap(jacrev(f))`` (float64). Every library's result is checked against the
hand-written NumPy one before it is timed; times are medians of interleaved calls, each
contender called right after every other equally often.
"""

import _harness

_harness.prepare_environment()

import argparse  # noqa: E402

import numpy as np  # noqa: E402

import gradkit as gk  # noqa: E402
import gradkit.numpy as gnp  # noqa: E402


def _params(sizes, rng, dtype):
    p = {}
    for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        p[f"W{k}"] = (rng.normal(size=(i, o)) / np.sqrt(i)).astype(dtype)
        p[f"b{k}"] = (0.1 * rng.normal(size=o)).astype(dtype)
    return p


def _gk_loss(p, x, y):
    n = len(p) // 2
    h = x
    for k in range(n):
        h = h @ p[f"W{k}"] + p[f"b{k}"]
        if k < n - 1:
            h = gnp.maximum(h, 0.0)
    return -gnp.log_softmax(h)[y]


def _numpy_per_example(p, X, Y):
    """The outer-product formula: activations and deltas, one gradient per row."""
    n = len(p) // 2
    acts, h = [X], X
    for k in range(n):
        h = h @ p[f"W{k}"] + p[f"b{k}"]
        if k < n - 1:
            h = np.maximum(h, 0)
        acts.append(h)
    z = acts[-1] - acts[-1].max(axis=1, keepdims=True)
    delta = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    delta[np.arange(len(Y)), Y] -= 1
    g = {}
    for k in reversed(range(n)):
        g[f"W{k}"] = acts[k][:, :, None] * delta[:, None, :]
        g[f"b{k}"] = delta
        if k:
            delta = (delta @ p[f"W{k}"].T) * (acts[k] > 0)
    return g


def _torch_per_example(torch, p, X, Y):
    from torch.func import grad, vmap

    tp = {k: torch.from_numpy(v) for k, v in p.items()}
    n = len(p) // 2

    def loss(p, x, y):
        h = x
        for k in range(n):
            h = h @ p[f"W{k}"] + p[f"b{k}"]
            if k < n - 1:
                h = torch.relu(h)
        # torch.func's own per-sample-gradient recipe: a batch of one for cross_entropy
        return torch.nn.functional.cross_entropy(h.unsqueeze(0), y.unsqueeze(0))

    f = vmap(grad(loss), in_dims=(None, 0, 0))
    tx, ty = torch.from_numpy(X), torch.from_numpy(Y)
    return lambda: f(tp, tx, ty)


def _close(name, got, want, rtol):
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k]), want[k], rtol=rtol, atol=rtol,
                                   err_msg=f"{name}: {k}")


def per_example_case(title, sizes, torch, timing, loop: bool):
    rng = np.random.default_rng(0)
    p = _params(sizes, rng, np.float32)
    X = rng.normal(size=(128, sizes[0])).astype(np.float32)
    Y = rng.integers(0, sizes[-1], 128)
    want = _numpy_per_example(p, X, Y)
    mapped = gk.vmap(gk.grad(_gk_loss), in_axes=(None, 0, 0))
    fns = {"gradkit vmap(grad)": lambda: mapped(p, X, Y),
           "NumPy by hand": lambda: _numpy_per_example(p, X, Y)}
    _close("gradkit vmap", fns["gradkit vmap(grad)"](), want, 2e-4)
    if loop:
        one = gk.grad(_gk_loss)

        def looped():
            gs = [one(p, X[i], Y[i]) for i in range(len(X))]
            return {k: np.stack([g[k] for g in gs]) for k in p}

        _close("gradkit loop", looped(), want, 2e-4)
        fns["gradkit loop of grad"] = looped
    if torch is not None:
        fns["PyTorch torch.func"] = _torch_per_example(torch, p, X, Y)
        _close("PyTorch", {k: v.numpy() for k, v in fns["PyTorch torch.func"]().items()},
               want, 2e-4)
    ms = _harness.interleaved_medians(fns, timing)
    _report(title, ms)
    if loop:  # the same, each called 4 times back to back: caches warm, as in training
        warm = _harness.interleaved_medians(fns, timing, burst=4)
        print("warm (the last 3 of 4 calls back to back): " + ", ".join(
            f"{k} {v:.3f} ms" for k, v in warm.items()))
        print(f"warm: vmap is {warm['gradkit loop of grad'] / warm['gradkit vmap(grad)']:.1f}x "
              f"faster than the loop (the NumPy by hand "
              f"{warm['gradkit loop of grad'] / warm['NumPy by hand']:.1f}x)")


def jacobian_case(torch, timing):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(10, 10)) / 3
    b = rng.normal(size=10)
    X = rng.normal(size=(256, 10))

    def f(x):
        return gnp.tanh(A @ x + b) * x

    # d/dx [tanh(A x + b) * x] = diag(x * (1 - t^2)) A + diag(t), t = tanh(A x + b)
    want = np.stack([np.diag(x * (1 - np.tanh(A @ x + b) ** 2)) @ A
                     + np.diag(np.tanh(A @ x + b)) for x in X])
    mapped = gk.vmap(gk.jacobian(f))
    fns = {"gradkit vmap(jacobian)": lambda: mapped(X)}
    np.testing.assert_allclose(fns["gradkit vmap(jacobian)"](), want, rtol=1e-10, atol=1e-12)
    if torch is not None:
        from torch.func import jacrev, vmap

        tA, tb, tX = (torch.from_numpy(v) for v in (A, b, X))
        tf = vmap(jacrev(lambda x: torch.tanh(tA @ x + tb) * x))
        fns["PyTorch vmap(jacrev)"] = lambda: tf(tX)
        np.testing.assert_allclose(fns["PyTorch vmap(jacrev)"]().numpy(), want, rtol=1e-10,
                                   atol=1e-12)
    _report("(c) Jacobian of a 10-to-10 function at 256 points, float64",
            _harness.interleaved_medians(fns, timing))


def _report(title, ms):
    print(f"\n{title}")
    base = ms.get("PyTorch torch.func", ms.get("PyTorch vmap(jacrev)"))
    hand = ms.get("NumPy by hand")
    rows = []
    for name, t in ms.items():
        rows.append([name, f"{t:.3f}", _harness.fmt_ratio(t, base) if base else "-",
                     _harness.fmt_ratio(t, hand) if hand else "-"])
    _harness.print_rows(["", "ms", "/ PyTorch", "/ NumPy by hand"], rows)
    gk_t = ms.get("gradkit vmap(grad)")
    if gk_t and "gradkit loop of grad" in ms:
        print(f"vmap is {ms['gradkit loop of grad'] / gk_t:.1f}x faster than the loop")
        if hand:  # the same work without an autodiff engine: what any library could reach
            print(f"(the NumPy by hand is {ms['gradkit loop of grad'] / hand:.1f}x faster "
                  f"than the loop)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    try:
        import torch

        _harness.limit_torch_threads(torch)
    except ImportError:
        torch = None
    _harness.print_environment([("PyTorch", "torch")], {} if torch else {"PyTorch": "absent"},
                               torch, "times: medians of interleaved calls, one thread")
    timing = _harness.TimingConfig(min_time=0.2 if args.quick else 1.0, min_repeats=3,
                                   max_repeats=200, warmup_calls=1)
    per_example_case("(a) per-example gradients, MLP 64-128-10, batch 128, float32",
                     (64, 128, 10), torch, timing, loop=True)
    per_example_case("(b) per-example gradients, MLP 784-512-512-10, batch 128, float32",
                     (784, 512, 512, 10), torch, timing, loop=False)
    jacobian_case(torch, timing)


if __name__ == "__main__":
    _harness.run_single_threaded(main)
