"""L-BFGS with a strong-Wolfe line search.

The quasi-Newton direction comes from the two-loop recursion over the last ``m``
curvature pairs ``(s, y) = (x_{k+1} - x_k, g_{k+1} - g_k)`` (Nocedal & Wright,
Algorithm 7.4), with the initial inverse Hessian ``(s.y / y.y) I`` from the newest pair.
The step length comes from :func:`strong_wolfe` (Algorithms 3.5 and 3.6, with cubic
interpolation).

The defaults and stopping rules are those of SciPy's L-BFGS-B (which scikit-learn's
``LogisticRegression`` uses), so that iteration counts compare:

* ``m=10`` curvature pairs (SciPy's ``maxcor``);
* the first step, and the first after a restart, is ``1 / ||g||`` along ``-g`` (a step
  of unit length), every later one starts at the full quasi-Newton step ``alpha = 1``;
* a pair with ``s.y <= eps * (-g.s)`` is not stored (SciPy's test);
* stop when ``max_i |g_i| <= gtol`` (SciPy's ``gtol``, the projected gradient without
  bounds), or when ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol`` (SciPy's
  ``ftol``), or after ``max_iter`` iterations or ``max_fev`` function evaluations;
* when the line search finds no decrease, the memory is dropped and steepest descent is
  tried once; a second failure ends the run with ``success=False``, as SciPy's
  ``ABNORMAL_TERMINATION_IN_LNSRCH``.

A step that satisfies the sufficient-decrease condition but not the curvature condition
within ``max_ls`` evaluations is still taken (SciPy's line search does the same with its
warnings); only the pair test above protects the memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..backend import xp
from ..errors import GradkitError, NaNError
from ..graph import raw
from ..transforms import value_and_grad as _value_and_grad
from ..tree import tree_unflatten
from ..validation import check_callable, check_int, check_real, float_leaves, invalid
from .base import (
    BoundOptimizer,
    ClosureOptimizer,
    PyTree,
    describe_tree,
    grad_leaves,
)

__all__ = ["LBFGS", "OptimizeResult", "LineSearchResult", "LineSearchError", "strong_wolfe"]


class LineSearchError(GradkitError):
    """The line search found no point with a lower function value."""


# -- the line search ----------------------------------------------------------------------


@dataclass
class LineSearchResult:
    """The outcome of :func:`strong_wolfe`.

    Attributes
    ----------
    alpha : float
        The step length; 0 when no point with sufficient decrease was found.
    value : float
        The function value at ``x + alpha * direction``.
    grad : ndarray
        The gradient there.
    nfev : int
        Function (and gradient) evaluations made.
    wolfe : bool
        Both strong Wolfe conditions hold at ``alpha``.
    message : str
        What happened.
    """

    alpha: float
    value: float
    grad: Any
    nfev: int
    wolfe: bool
    message: str


def _cubic_min(p, q, lo: float, hi: float, fallback: float) -> float:
    """Minimiser of the cubic through ``(a, f, f')`` points ``p`` and ``q``, kept in
    ``[lo, hi]`` (Nocedal & Wright eq. 3.59); ``fallback`` when it does not exist."""
    a, fa, ga = p[0], p[1], p[2]
    b, fb, gb = q[0], q[1], q[2]
    if a == b or not (math.isfinite(fa) and math.isfinite(fb)):
        return fallback
    d1 = ga + gb - 3 * (fa - fb) / (a - b)
    disc = d1 * d1 - ga * gb
    if not (math.isfinite(disc) and disc >= 0):
        return fallback
    d2 = math.copysign(math.sqrt(disc), b - a)
    denom = gb - ga + 2 * d2
    if denom == 0:
        return fallback
    t = b - (b - a) * (gb + d2 - d1) / denom
    if not math.isfinite(t):
        return fallback
    return min(max(t, lo), hi)


def strong_wolfe(fg: Callable, x, value: float, grad, direction, *, alpha: float = 1.0,
                 c1: float = 1e-4, c2: float = 0.9, max_evals: int = 20) -> LineSearchResult:
    """A step length satisfying the strong Wolfe conditions along ``direction``.

    Finds ``alpha > 0`` with ``phi(alpha) <= phi(0) + c1 alpha phi'(0)`` (sufficient
    decrease) and ``|phi'(alpha)| <= c2 |phi'(0)|`` (curvature), where
    ``phi(a) = f(x + a d)``: Nocedal & Wright's Algorithm 3.5 brackets such a step,
    extrapolating by cubic interpolation within ``[1.1, 4]`` times the last increment,
    and Algorithm 3.6 (zoom) narrows the bracket, each trial point the minimiser of the
    cubic through the bracket's ends, kept 10% of the bracket away from them. A trial
    point with a non-finite value or gradient counts as too far.

    Parameters
    ----------
    fg : callable
        ``x -> (value, grad)`` on 1-d arrays.
    x, value, grad : ndarray, float, ndarray
        The starting point, its value and gradient.
    direction : ndarray
        A descent direction (``grad @ direction < 0``).
    alpha : float, default 1
        The first trial step.
    c1, c2 : float
        The Wolfe constants, ``0 < c1 < c2 < 1``.
    max_evals : int, default 20
        The most evaluations of ``fg``.

    Returns
    -------
    LineSearchResult
        When the conditions are not met within ``max_evals`` evaluations, the best point
        found with sufficient decrease (``wolfe=False``), or ``alpha=0`` when there is none.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import strong_wolfe
    >>> fg = lambda x: (float(x @ x), 2 * x)
    >>> x = np.array([1.0, 1.0])
    >>> r = strong_wolfe(fg, x, 2.0, 2 * x, -x, alpha=0.1, c2=0.1)
    >>> r.wolfe, round(r.alpha, 6), r.nfev
    (True, 1.0, 3)
    """
    f0 = float(value)
    d = direction
    dphi0 = float(xp.dot(grad, d))
    if not dphi0 < 0:
        return LineSearchResult(0.0, f0, grad, 0, False, "not a descent direction")
    nfev = 0

    def at(a: float):
        nonlocal nfev
        nfev += 1
        f, g = fg(x + a * d)
        f = float(f)
        dp = float(xp.dot(g, d)) if math.isfinite(f) else math.nan
        if not math.isfinite(dp):
            f = math.inf
        return (a, f, dp, g)

    def armijo(p) -> bool:
        return p[1] <= f0 + c1 * p[0] * dphi0

    def curvature(p) -> bool:
        return abs(p[2]) <= -c2 * dphi0

    # Near a minimum the decrease c1 * alpha * phi'(0) can fall below the rounding error
    # of f, and no point passes the sufficient-decrease test. Hager & Zhang's approximate
    # Wolfe conditions then accept a point by its slope: phi(alpha) no more than rounding
    # above phi(0), and c2 phi'(0) <= phi'(alpha) <= (2 c1 - 1) phi'(0).
    noise = 1e3 * float(xp.finfo(xp.result_type(grad)).eps) * max(abs(f0), 1.0)

    def approximate(p) -> bool:
        return p[1] <= f0 + noise and c2 * dphi0 <= p[2] <= (2 * c1 - 1) * dphi0

    def done(p, wolfe: bool, message: str) -> LineSearchResult:
        return LineSearchResult(p[0], p[1], p[3], nfev, wolfe, message)

    def zoom(lo, hi) -> LineSearchResult:
        # Invariants: lo has sufficient decrease and the lowest value so far; the
        # bracket [lo, hi] holds a strong Wolfe point.
        while nfev < max_evals:
            left, right = min(lo[0], hi[0]), max(lo[0], hi[0])
            width = right - left
            if width <= 1e-12 * right:
                break
            mid = left + width / 2
            a = (_cubic_min(lo, hi, left + 0.1 * width, right - 0.1 * width, mid)
                 if math.isfinite(hi[1]) else mid)
            cur = at(a)
            if approximate(cur) and not armijo(cur):
                return done(cur, True, "approximate Wolfe conditions hold (the decrease is "
                                       "below the rounding error of f)")
            if not armijo(cur) or cur[1] >= lo[1]:
                hi = cur
            else:
                if curvature(cur):
                    return done(cur, True, "strong Wolfe conditions hold")
                if cur[2] * (hi[0] - lo[0]) >= 0:
                    hi = lo
                lo = cur
        if lo[0] > 0:
            return done(lo, False, "curvature condition not met; the step has sufficient "
                                   "decrease")
        return done((0.0, f0, dphi0, grad), False, "no step with sufficient decrease found")

    prev = (0.0, f0, dphi0, grad)
    while True:
        cur = at(alpha)
        if approximate(cur) and not armijo(cur):
            return done(cur, True, "approximate Wolfe conditions hold (the decrease is below "
                                   "the rounding error of f)")
        if not armijo(cur) or (nfev > 1 and cur[1] >= prev[1]):
            return zoom(prev, cur)
        if curvature(cur):
            return done(cur, True, "strong Wolfe conditions hold")
        if cur[2] >= 0:
            return zoom(cur, prev)
        if nfev >= max_evals:
            return done(cur, False, "curvature condition not met; the step has sufficient "
                                    "decrease")
        gap = cur[0] - prev[0]
        lo, hi = cur[0] + 1.1 * gap, cur[0] + 4.0 * gap
        alpha = _cubic_min(prev, cur, lo, hi, hi)
        prev = cur


# -- flat views of pytrees ------------------------------------------------------------------


class _Flat:
    """Concatenates a pytree's leaves into one vector and back."""

    def __init__(self, leaves: list, treedef, owner: str):
        if not leaves:
            raise GradkitError(f"{owner}: the parameters have no arrays to optimise")
        self.treedef = treedef
        self.shapes = [a.shape for a in leaves]
        self.dtypes = [a.dtype for a in leaves]
        self.sizes = [a.size for a in leaves]
        self.dtype = xp.result_type(*leaves)
        self.n = sum(self.sizes)
        self.owner = owner
        self.template = leaves

    def ravel(self, leaves: list):
        return xp.concatenate([xp.ravel(a).astype(self.dtype, copy=False) for a in leaves])

    def unravel(self, v) -> PyTree:
        parts = xp.split(v, xp.cumsum(self.sizes)[:-1])
        return tree_unflatten(self.treedef, [p.reshape(s).astype(t, copy=False)
                                             for p, s, t in zip(parts, self.shapes, self.dtypes)])

    def wrap(self, value_and_grad: Callable) -> Callable:
        """``value_and_grad`` on pytrees as ``v -> (float, flat grad)`` on vectors."""
        owner = self.owner

        def fg(v):
            params = self.unravel(v)
            out = value_and_grad(params)
            try:
                f, g = out
            except (TypeError, ValueError):
                raise GradkitError(f"{owner}: value_and_grad must return a pair (value, "
                                   f"grads), got {type(out).__name__}") from None
            fv = xp.asarray(raw(f))
            if fv.size != 1 or fv.dtype.kind not in "fiub":
                raise GradkitError(f"{owner}: the function must return a real scalar, got "
                                   f"{describe_tree(f)}")
            leaves = grad_leaves(g, params, self.template, self.treedef, owner, None)
            return float(fv.reshape(())), self.ravel(leaves)

        return fg


# -- the optimiser --------------------------------------------------------------------------


@dataclass
class OptimizeResult:
    """The outcome of :meth:`LBFGS.minimize`.

    Attributes
    ----------
    x : pytree
        The solution, with the structure and dtypes of ``x0``.
    fun : float
        The function value there.
    grad : pytree
        The gradient there.
    nit : int
        Iterations (line searches) made.
    nfev : int
        Function and gradient evaluations made.
    success : bool
        A convergence test (``gtol`` or ``ftol``) was met.
    message : str
        Why the run stopped.
    """

    x: PyTree
    fun: float
    grad: PyTree
    nit: int
    nfev: int
    success: bool
    message: str


class LBFGS(ClosureOptimizer):
    """Limited-memory BFGS with a strong-Wolfe line search.

    Three ways to use it: :meth:`minimize` runs to convergence; ``init`` and
    ``update(grads, state, params, value_and_grad=...)`` make one iteration at a time on a
    pytree (the line search needs function values, hence ``value_and_grad``); and
    ``bind(module)`` then ``step(closure)`` is the PyTorch way. The defaults and stopping
    rules are SciPy's L-BFGS-B ones (see the module documentation).

    Parameters
    ----------
    m : int, default 10
        Number of curvature pairs kept.
    gtol : float, default 1e-5
        Stop when the largest gradient component is at most this (:meth:`minimize`).
    ftol : float, default 2.220446049250313e-09
        Stop when the relative decrease of the function is at most this; 0 disables.
    max_iter : int, default 15000
        The most iterations of :meth:`minimize`.
    max_fev : int, default 15000
        The most function evaluations of :meth:`minimize`.
    max_ls : int, default 20
        The most evaluations in one line search.
    c1, c2 : float, default 1e-4 and 0.9
        The strong Wolfe constants.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> from gradkit.optim import LBFGS
    >>> def rosenbrock(x):
    ...     return gnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> res = LBFGS(gtol=1e-10, ftol=0).minimize(rosenbrock, np.array([-1.2, 1.0]))
    >>> res.success, bool(np.abs(res.x - 1).max() < 1e-8), res.nit < 100
    (True, True, True)
    """

    def __init__(self, m: int = 10, *, gtol: float = 1e-5, ftol: float = 2.220446049250313e-09,
                 max_iter: int = 15000, max_fev: int = 15000, max_ls: int = 20,
                 c1: float = 1e-4, c2: float = 0.9):
        owner = "LBFGS"
        self.m, self.max_iter, self.max_fev, self.max_ls = (
            check_int(v, name, owner, low=1) for name, v in
            (("m", m), ("max_iter", max_iter), ("max_fev", max_fev), ("max_ls", max_ls)))
        self.gtol = check_real(gtol, "gtol", owner, low=0.0)
        self.ftol = check_real(ftol, "ftol", owner, low=0.0)
        self.c1, self.c2 = (check_real(v, name, owner, low=0.0, low_open=True, high=1.0,
                                       high_open=True) for name, v in (("c1", c1), ("c2", c2)))
        if not self.c1 < self.c2:
            raise invalid(owner, "c1", f"less than c2={c2!r} (the strong Wolfe conditions need "
                                       f"c1 < c2)", c1)

    def __repr__(self) -> str:
        return (f"LBFGS(m={self.m}, gtol={self.gtol!r}, ftol={self.ftol!r}, "
                f"max_iter={self.max_iter}, max_fev={self.max_fev}, max_ls={self.max_ls}, "
                f"c1={self.c1!r}, c2={self.c2!r})")

    # -- one iteration on vectors ---------------------------------------------------------
    def _direction(self, g, S, Y, pairs: int):
        """Two-loop recursion: ``-H g`` with the last ``pairs`` rows of ``S``, ``Y``."""
        if pairs == 0:
            return -g
        S, Y = S[-pairs:], Y[-pairs:]
        rho = 1 / xp.einsum("ij,ij->i", S, Y)
        alphas = [0.0] * pairs
        q = g
        for i in range(pairs - 1, -1, -1):
            alphas[i] = rho[i] * (S[i] @ q)
            q = q - alphas[i] * Y[i]
        r = ((S[-1] @ Y[-1]) / (Y[-1] @ Y[-1])) * q
        for i in range(pairs):
            r = r + (alphas[i] - rho[i] * (Y[i] @ r)) * S[i]
        return -r

    def _iterate(self, fg, x, f: float, g, S, Y, pairs: int, max_evals: int):
        """One L-BFGS iteration: ``(x, f, g, S, Y, pairs, nfev, ok)`` after it."""
        nfev = 0
        if not xp.any(g):                       # a stationary point: nothing to do
            return x, f, g, S, Y, pairs, nfev, True
        for attempt in range(2):
            d = self._direction(g, S, Y, pairs)
            if not float(g @ d) < 0:            # lost positive definiteness: restart
                pairs, d = 0, -g
            alpha = 1.0 if pairs else 1.0 / float(xp.linalg.norm(d))
            ls = strong_wolfe(fg, x, f, g, d, alpha=alpha, c1=self.c1, c2=self.c2,
                              max_evals=max(1, min(self.max_ls, max_evals - nfev)))
            nfev += ls.nfev
            if ls.alpha > 0:
                break
            if pairs == 0 or attempt == 1 or nfev >= max_evals:
                return x, f, g, S, Y, pairs, nfev, False
            pairs = 0                            # retry along -g with an empty memory
        s = ls.alpha * d
        y = ls.grad - g
        sy = float(s @ y)
        if sy > xp.finfo(x.dtype).eps * -float(g @ s):
            S = xp.concatenate([S[1:], s[None].astype(S.dtype, copy=False)])
            Y = xp.concatenate([Y[1:], y[None].astype(Y.dtype, copy=False)])
            pairs = min(pairs + 1, self.m)
        x_new = (x + s).astype(x.dtype, copy=False)
        return x_new, ls.value, ls.grad, S, Y, pairs, nfev, True

    # -- the functional API ---------------------------------------------------------------
    def init(self, params: PyTree) -> dict:
        """The initial state: a dict of arrays (history, cached value and gradient).

        Keys: ``"step"``, ``"nfev"`` and ``"pairs"`` (0-d int64), ``"s"`` and ``"y"``
        (``(m, n)`` histories, newest last, ``n`` the total number of parameters),
        ``"x"``, ``"value"`` and ``"grad"`` (the flat parameters after the last update,
        with their value and gradient; NaN until the first update).
        """
        owner = "LBFGS.init"
        leaves, treedef = float_leaves(params, "params", owner)
        flat = _Flat(leaves, treedef, owner)
        dt = flat.dtype
        return {"step": xp.asarray(0, dtype=xp.int64), "nfev": xp.asarray(0, dtype=xp.int64),
                "pairs": xp.asarray(0, dtype=xp.int64),
                "s": xp.zeros((self.m, flat.n), dtype=dt),
                "y": xp.zeros((self.m, flat.n), dtype=dt),
                "x": flat.ravel(leaves), "value": xp.asarray(xp.nan, dtype=dt),
                "grad": xp.full(flat.n, xp.nan, dtype=dt)}

    def _read_state(self, state, flat: _Flat, owner: str) -> dict:
        keys = ["step", "nfev", "pairs", "s", "y", "x", "value", "grad"]
        if not isinstance(state, dict) or any(k not in state for k in keys):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise GradkitError(f"{owner}: state must be the dict made by LBFGS.init, with keys "
                               f"{keys}, got {got}")
        st = {k: xp.asarray(raw(state[k])) for k in keys}
        shapes = {"s": (self.m, flat.n), "y": (self.m, flat.n), "x": (flat.n,),
                  "grad": (flat.n,), "value": (), "step": (), "nfev": (), "pairs": ()}
        for k, shape in shapes.items():
            if st[k].shape != shape:
                raise GradkitError(f"{owner}: state[{k!r}] has shape {st[k].shape}, expected "
                                   f"{shape} for m={self.m} and {flat.n} parameters")
        return st

    def update(self, grads: PyTree | None, state: dict, params: PyTree, *,
               value_and_grad: Callable[[PyTree], tuple] | None = None,
               value: float | None = None) -> tuple[PyTree, dict]:
        """One L-BFGS iteration (direction, line search, memory update) on a pytree.

        Parameters
        ----------
        grads : pytree of arrays or None
            The gradient at ``params``. None: take it from the state when ``params`` are
            the ones the last update returned, else evaluate ``value_and_grad``.
        state : dict
            From :meth:`init` or the previous ``update``.
        params : pytree of float arrays
            The current parameters.
        value_and_grad : callable
            ``params -> (value, grads)``, e.g. ``gradkit.value_and_grad(loss)``; the line
            search calls it at trial points.
        value : float, optional
            The function value at ``params``; by default taken from the state as for
            ``grads``, or evaluated.

        Returns
        -------
        params, state
            ``state["value"]`` and ``state["grad"]`` (flat) hold the value and gradient at
            the new parameters; convergence tests are the caller's (compare
            ``abs(state["grad"]).max()`` with a tolerance).

        Raises
        ------
        LineSearchError
            No point with a lower value was found, with or without the memory.
        gradkit.NaNError
            The value or gradient at ``params`` is not finite.

        Examples
        --------
        >>> import numpy as np
        >>> import gradkit as gk
        >>> from gradkit.optim import LBFGS
        >>> f = lambda p: ((p["a"] - 3.0) ** 2).sum() + (p["b"] ** 2).sum()
        >>> vg = gk.value_and_grad(f)
        >>> opt = LBFGS()
        >>> params = {"a": np.zeros(2), "b": np.ones(1)}
        >>> state = opt.init(params)
        >>> for _ in range(3):
        ...     params, state = opt.update(None, state, params, value_and_grad=vg)
        >>> params["a"], params["b"], float(state["value"])
        (array([3., 3.]), array([0.]), 0.0)
        """
        owner = "LBFGS.update"
        check_callable(value_and_grad, "value_and_grad", owner,
                       what="a callable params -> (value, grads) such as "
                            "gradkit.value_and_grad(loss), for the line search")
        leaves, treedef = float_leaves(params, "params", owner)
        flat = _Flat(leaves, treedef, owner)
        st = self._read_state(state, flat, owner)
        step = int(st["step"])
        fg = flat.wrap(value_and_grad)
        x = flat.ravel(leaves)
        cached = bool(xp.isfinite(st["value"])) and xp.array_equal(x, st["x"])
        nfev = 0
        if grads is not None:
            g = flat.ravel(grad_leaves(grads, params, leaves, treedef, owner, step))
        elif cached:
            g = st["grad"]
        else:
            f_eval, g = fg(x)
            nfev += 1
        if value is not None:
            f = float(raw(value))
        elif cached:
            f = float(st["value"])
        else:
            if nfev == 0:
                f_eval, _ = fg(x)
                nfev += 1
            f = f_eval
        if not (math.isfinite(f) and xp.isfinite(g).all()):
            raise NaNError(f"{owner}: the value or gradient at the parameters is not finite at "
                           f"step {step} (value {f!r}); the parameters were not updated")
        pairs = int(st["pairs"])
        x_new, f_new, g_new, S, Y, pairs, n_ls, ok = self._iterate(
            fg, x, f, g, st["s"], st["y"], pairs, self.max_ls * 2)
        nfev += n_ls
        if not ok:
            raise LineSearchError(f"{owner}: the line search found no lower value at step "
                                  f"{step} (value {f!r}, largest gradient component "
                                  f"{float(xp.abs(g).max())!r}); the parameters may already "
                                  f"be a minimum to machine precision")
        new_state = {"step": xp.asarray(step + 1, dtype=xp.int64),
                     "nfev": xp.asarray(int(st["nfev"]) + nfev, dtype=xp.int64),
                     "pairs": xp.asarray(pairs, dtype=xp.int64), "s": S, "y": Y,
                     "x": x_new, "value": xp.asarray(f_new, dtype=flat.dtype),
                     "grad": g_new.astype(flat.dtype, copy=False)}
        return flat.unravel(x_new), new_state

    # -- run to convergence ---------------------------------------------------------------
    def minimize(self, fun: Callable, x0: PyTree, *, jac: bool | Callable | None = None,
                 args: tuple = (), callback: Callable[[PyTree], Any] | None = None
                 ) -> OptimizeResult:
        """Minimise ``fun`` from ``x0`` until a stopping rule holds.

        Parameters
        ----------
        fun : callable
            ``fun(x, *args) -> scalar``, ``x`` a pytree like ``x0``.
        x0 : pytree of float arrays
            The starting point.
        jac : None, True or callable, default None
            None: the gradient by gradkit's reverse mode (``gradkit.value_and_grad``), so
            ``fun`` is written with ``gradkit.numpy``. True: ``fun`` returns
            ``(value, grad)`` itself. A callable: ``jac(x, *args)`` returns the gradient.
            (SciPy's conventions.)
        args : tuple
            Extra arguments to ``fun`` and ``jac``.
        callback : callable, optional
            ``callback(x)`` after each iteration; returning True stops the run.

        Returns
        -------
        OptimizeResult
            ``x``, ``fun``, ``grad``, ``nit``, ``nfev``, ``success``, ``message``.

        Raises
        ------
        gradkit.NaNError
            The value or the gradient at ``x0`` is not finite.
        """
        owner = "LBFGS.minimize"
        check_callable(fun, "fun", owner)
        if jac is None:
            vg_fun = _value_and_grad(fun)
            vg = lambda p: vg_fun(p, *args)
        elif jac is True:
            vg = lambda p: fun(p, *args)
        elif callable(jac):
            vg = lambda p: (fun(p, *args), jac(p, *args))
        else:
            raise invalid(owner, "jac", "None, True or a callable", jac)
        leaves, treedef = float_leaves(x0, "x0", owner)
        flat = _Flat(leaves, treedef, owner)
        fg = flat.wrap(vg)
        x = flat.ravel(leaves)
        f, g = fg(x)
        nfev = 1
        if not (math.isfinite(f) and xp.isfinite(g).all()):
            raise NaNError(f"{owner}: the value or gradient at x0 is not finite (step 0, value "
                           f"{f!r})")
        S = xp.zeros((self.m, flat.n), dtype=flat.dtype)
        Y = xp.zeros_like(S)
        pairs = nit = 0
        success, message = False, ""
        while True:
            if float(xp.abs(g).max()) <= self.gtol:
                success, message = True, "the largest gradient component is <= gtol"
                break
            if nit >= self.max_iter:
                message = "max_iter iterations reached"
                break
            if nfev >= self.max_fev:
                message = "max_fev function evaluations reached"
                break
            f_old = f
            x, f, g, S, Y, pairs, n_ls, ok = self._iterate(fg, x, f, g, S, Y, pairs,
                                                           self.max_fev - nfev)
            nfev += n_ls
            if not ok:
                message = ("the line search found no lower value (even along -grad): "
                           "rounding errors prevent progress")
                break
            nit += 1
            if callback is not None and callback(flat.unravel(x)) is True:
                message = "stopped by the callback"
                break
            if self.ftol > 0 and f_old - f <= self.ftol * max(abs(f_old), abs(f), 1.0):
                if float(xp.abs(g).max()) <= self.gtol:
                    continue   # report the gradient test, which is the stronger one
                success, message = True, "the relative reduction of the function is <= ftol"
                break
        return OptimizeResult(flat.unravel(x), f, flat.unravel(g), nit, nfev, success, message)

    # -- the PyTorch way ----------------------------------------------------------------------
    def bind(self, target) -> BoundOptimizer:
        """L-BFGS applied in place to tensors; ``step(closure)`` makes one iteration.

        The closure recomputes the loss, calls ``.backward()`` and returns the loss, as
        for ``torch.optim.LBFGS`` (the gradients are cleared before each call). Each
        ``step`` makes one iteration (PyTorch's makes up to ``max_iter``) and returns the
        loss before it.

        Examples
        --------
        >>> import gradkit as gk
        >>> from gradkit.optim import LBFGS
        >>> w = gk.tensor([0.0, 0.0], requires_grad=True)
        >>> opt = LBFGS().bind([w])
        >>> def closure():
        ...     loss = ((w - gk.tensor([1.0, -2.0])) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> for _ in range(3):
        ...     loss = opt.step(closure)
        >>> w
        Tensor([ 1., -2.], requires_grad=True)
        """
        return BoundOptimizer(self, target)

    def step_with_closure(self, value_and_grad: Callable[[PyTree], tuple], state: dict,
                          params: PyTree) -> tuple[float, PyTree, dict]:
        """One iteration from the function alone: ``(value, params, state)``.

        ``value`` is the loss at the given ``params``, before the iteration. The state
        caches the value and gradient at the parameters it returned: when ``params`` are
        those, nothing is evaluated before the line search. ``bind(...).step(closure)``
        calls this.

        Examples
        --------
        >>> import numpy as np
        >>> import gradkit as gk
        >>> from gradkit.optim import LBFGS
        >>> vg = gk.value_and_grad(lambda x: ((x - 2.0) ** 2).sum())
        >>> opt, x = LBFGS(), np.zeros(1)
        >>> state = opt.init(x)
        >>> for _ in range(2):
        ...     value, x, state = opt.step_with_closure(vg, state, x)
        >>> value, x, int(state["nfev"])      # value: the loss before the second step
        (1.0, array([2.]), 3)
        """
        value = self._cached_value(state, params)
        grads = None
        if value is None:
            value, grads = value_and_grad(params)
            value = float(xp.asarray(raw(value)).reshape(()))
        new_params, new_state = self.update(grads, state, params,
                                            value_and_grad=value_and_grad, value=value)
        if grads is not None:
            new_state["nfev"] = new_state["nfev"] + 1    # the evaluation before the update
        return value, new_params, new_state

    def _cached_value(self, state, params) -> float | None:
        leaves, treedef = float_leaves(params, "params", "LBFGS.step")
        x = _Flat(leaves, treedef, "LBFGS.step").ravel(leaves)
        cached_x = xp.asarray(raw(state.get("x"))) if isinstance(state, dict) else None
        value = xp.asarray(raw(state.get("value", xp.nan))) if isinstance(state, dict) else None
        if (cached_x is None or value is None or value.shape != () or not xp.isfinite(value)
                or not xp.array_equal(x, cached_x)):
            return None
        return float(value)
