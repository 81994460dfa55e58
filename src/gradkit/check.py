"""``check_grads``: compare automatic derivatives with finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .backend import xp
from .errors import GradientCheckError
from .graph import plain, raw
from .transforms import jvp, vjp
from .tree import tree_flatten, tree_map

__all__ = ["check_grads"]

_TOL = {xp.dtype(xp.float64): 1e-6, xp.dtype(xp.float32): 2e-3, xp.dtype(xp.float16): 5e-2}


def _inner(a, b) -> float:
    la, lb = tree_flatten(a)[0], tree_flatten(b)[0]
    return float(sum(xp.sum(xp.asarray(raw(x), dtype=xp.float64) * xp.asarray(raw(y), xp.float64))
                     for x, y in zip(la, lb)))


def _random_like(tree, rng):
    return tree_map(lambda x: rng.standard_normal(xp.shape(raw(x))).astype(
        xp.result_type(plain(x))), tree)


def _axpy(a: float, v, x):
    return tree_map(lambda vi, xi: (xi + a * vi).astype(xp.result_type(xi)), v, x)


def _numerical_jvp(f, args, tangents, eps):
    # Fourth-order central stencil: error O(eps^4), so eps can stay large enough that
    # rounding does not dominate.
    def at(a):
        out = f(*_axpy(a, tangents, args))
        return tree_map(lambda o: xp.asarray(raw(o), dtype=xp.float64), out)

    f2, f1, m1, m2 = at(2 * eps), at(eps), at(-eps), at(-2 * eps)
    return tree_map(lambda a, b, c, d: (-a + 8 * b - 8 * c + d) / (12 * eps), f2, f1, m1, m2)


def _compare(expected, computed, atol, rtol, what: str) -> None:
    le, lc = tree_flatten(expected)[0], tree_flatten(computed)[0]
    for k, (e, c) in enumerate(zip(le, lc)):
        e = xp.asarray(raw(e), dtype=xp.float64)
        c = xp.asarray(raw(c), dtype=xp.float64)
        if e.shape != c.shape:
            raise GradientCheckError(f"{what}: output {k} has shape {c.shape}, finite "
                                     f"differences give shape {e.shape}")
        scale = xp.maximum(xp.abs(e), xp.abs(c))
        bad = ~(xp.abs(e - c) <= atol + rtol * scale)
        if bad.any():
            i = int(xp.argmax(bad.ravel()))
            raise GradientCheckError(
                f"{what} disagrees with finite differences (output {k}, element {i}): "
                f"expected {e.ravel()[i]!r}, computed {c.ravel()[i]!r}, "
                f"|difference| {abs(e.ravel()[i] - c.ravel()[i]):.3g} > tolerance "
                f"{atol + rtol * scale.ravel()[i]:.3g}")


def _tolerance(args, atol, rtol):
    dtypes = [xp.result_type(plain(x)) for x in tree_flatten(args)[0]]
    worst = max((_TOL.get(xp.dtype(d), 1e-6) for d in dtypes), default=1e-6)
    return (worst if atol is None else atol), (worst if rtol is None else rtol)


def check_jvp(f, args, atol, rtol, eps, rng, what="JVP"):
    tangents = _random_like(args, rng)
    _, computed = jvp(f, tuple(args), tuple(tangents))
    expected = _numerical_jvp(f, args, tangents, eps)
    _compare(expected, computed, atol, rtol, what)


def check_vjp(f, args, atol, rtol, eps, rng, what="VJP"):
    tangents = _random_like(args, rng)
    out, f_vjp = vjp(f, *args)
    cotangent = _random_like(out, rng)
    grads = f_vjp(cotangent)
    for k, (gr, a) in enumerate(zip(tree_flatten(grads)[0], tree_flatten(args)[0])):
        if xp.shape(raw(gr)) != xp.shape(raw(a)):
            raise GradientCheckError(f"{what}: the cotangent of input leaf {k} has shape "
                                     f"{xp.shape(raw(gr))}, the input has shape "
                                     f"{xp.shape(raw(a))}")
    computed = _inner(tangents, grads)
    expected = _inner(cotangent, _numerical_jvp(f, args, tangents, eps))
    _compare(xp.asarray(expected), xp.asarray(computed), atol, rtol, what)


def check_grads(f: Callable, args: Sequence, order: int = 2,
                modes: Sequence[str] = ("rev", "fwd"), atol: float | None = None,
                rtol: float | None = None, eps: float | None = None, seed: int = 0) -> None:
    """Check derivatives of ``f`` up to ``order`` against central differences.

    Random directions probe the Jacobian: forward mode compares ``J v`` with the
    finite difference along ``v``; reverse mode compares ``<u, J v>`` with
    ``<J^T u, v>``. Higher orders check the derivative functions themselves.

    Parameters
    ----------
    f : callable
    args : sequence
        Positional arguments (floating-point arrays or pytrees of them).
    order : int, default 2
        How many levels of derivatives to check.
    modes : sequence of {"rev", "fwd"}
    atol, rtol : float, optional
        Tolerances; by default 1e-6 for float64 and 2e-3 for float32 inputs.
    eps : float, optional
        Finite-difference step (default 1e-3 in float64, 1e-2 in float32).
    seed : int, default 0
        Seed of the random directions.

    Raises
    ------
    GradientCheckError
        Showing the expected (finite-difference) and computed values.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp, numpy as np
    >>> gk.check_grads(gnp.tanh, (np.array([0.1, -0.7]),), order=2)
    """
    args = tuple(args)
    atol, rtol = _tolerance(args, atol, rtol)
    if eps is None:
        low = any(xp.result_type(plain(x)).itemsize < 8 for x in tree_flatten(args)[0])
        eps = 1e-2 if low else 1e-3
    rng = xp.random.default_rng(seed)
    unknown = set(modes) - {"rev", "fwd"}
    if unknown:
        raise GradientCheckError(f"check_grads: unknown modes {sorted(unknown)}")

    def _check(f, args, order, label):
        if "fwd" in modes:
            what = f"JVP of {label}" if label else "JVP"
            check_jvp(f, args, atol, rtol, eps, rng, what)
            if order > 1:
                def f_jvp(primals, tangents):
                    return jvp(f, tuple(primals), tuple(tangents))
                _check(f_jvp, (args, _random_like(args, rng)), order - 1, what)
        if "rev" in modes:
            what = f"VJP of {label}" if label else "VJP"
            check_vjp(f, args, atol, rtol, eps, rng, what)
            if order > 1:
                def f_vjp(*a):
                    out, pull = vjp(f, *a)
                    return pull(out)
                _check(f_vjp, args, order - 1, what)

    _check(f, args, order, "")


