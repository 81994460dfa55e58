"""Calling the user's function: batching, output checks, domain failures, complex input."""

from __future__ import annotations

import warnings
from collections.abc import Callable

from ..backend import xp
from ..errors import GradkitError
from ..graph import raw
from .errors import FunctionOutputError

__all__ = ["Elementwise", "VectorFunction", "ComplexUnsupported", "along"]

# Exceptions that scalar code raises outside its domain (math.log(-1), 1/0, overflow):
# in per-point mode they count as a non-finite value, which the step search avoids.
_DOMAIN_ERRORS = (ArithmeticError, ValueError)
_MAX_BATCH_ELEMENTS = 1 << 22


class ComplexUnsupported(Exception):
    """``f`` cannot carry a complex perturbation; ``args[0]`` says why.

    ``attempted`` is how many points ``f`` was called with before that showed.
    """

    attempted = 0


def _domain_error(exc: BaseException) -> bool:
    return isinstance(exc, _DOMAIN_ERRORS) and not isinstance(exc, GradkitError)


def _call(f: Callable, arg, complex_input: bool):
    """``f(arg)`` with NumPy's warnings silenced; for complex input, report lost parts."""
    if not complex_input:
        with xp.errstate(all="ignore"):
            return raw(f(arg))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", xp.exceptions.ComplexWarning)
        try:
            with xp.errstate(all="ignore"):
                out = raw(f(arg))
        except TypeError:
            raise ComplexUnsupported("f raised TypeError for complex input") from None
    dropped = False
    for w in caught:
        if issubclass(w.category, xp.exceptions.ComplexWarning):
            dropped = True
        else:  # not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if dropped:
        raise ComplexUnsupported("f discarded the imaginary part of its input, with NumPy's "
                                 "ComplexWarning")
    return out


def _precision(arr) -> float:
    """The relative precision of ``f``'s output: the eps of its float dtype."""
    if arr.dtype.kind in "fc":
        return float(xp.finfo(arr.dtype).eps)
    return float(xp.finfo(xp.float64).eps)


def _as_values(out, shape: tuple, complex_input: bool, what: str):
    """Check and convert one output of ``f``: numeric, of the expected shape."""
    arr = xp.asarray(out)
    if arr.shape != shape:
        raise FunctionOutputError(f"f returned shape {arr.shape} for {what}; expected shape "
                                  f"{shape}")
    if arr.dtype.kind not in "biufc":
        try:
            arr = arr.astype(xp.complex128 if complex_input else xp.float64)
        except (TypeError, ValueError):
            raise FunctionOutputError(
                f"f returned values of dtype {arr.dtype} for {what}; expected numbers") from None
    if complex_input:
        if arr.dtype.kind != "c":
            raise ComplexUnsupported("f returned real values for complex input, dropping the "
                                     "imaginary part")
        return arr.astype(xp.complex128)
    if arr.dtype.kind == "c":
        if xp.any(arr.imag != 0):
            raise FunctionOutputError(f"f returned complex values for {what}; gradkit.numeric "
                                      "differentiates real-valued functions")
        arr = arr.real
    return arr.astype(xp.float64)


class Elementwise:
    """A real function of one real variable.

    With ``vectorized`` it is called once per batch on a 1-D array of points and must act
    elementwise; otherwise it is called on one Python ``float`` (or ``complex``) at a time,
    and an ``ArithmeticError`` or ``ValueError`` it raises counts as a non-finite value.
    """

    def __init__(self, f: Callable, vectorized: bool):
        if not callable(f):
            raise FunctionOutputError(f"f must be callable; got {type(f).__name__}")
        self.f = f
        self.vectorized = vectorized
        self.eps = float(xp.finfo(xp.float64).eps)
        self.engine = _Engine(self, False)
        self.engine_complex = _Engine(self, True)

    def __call__(self, t, complex_input: bool = False):
        """Values of ``f`` at the points ``t`` (a 1-D array), float or complex."""
        if self.vectorized:
            try:
                out = _call(self.f, t, complex_input)
            except ComplexUnsupported as exc:
                exc.attempted = t.size
                raise
            except GradkitError:
                raise
            except Exception as exc:
                exc.add_note(f"gradkit.numeric called f with an array of shape {t.shape}; "
                             "pass vectorized=False if f accepts only scalars")
                raise
            self.eps = max(self.eps, _precision(xp.asarray(out)))
            try:
                return _as_values(out, t.shape, complex_input,
                                  f"an input of shape {t.shape} (f must act elementwise; pass "
                                  "vectorized=False for a function of one scalar)")
            except ComplexUnsupported as exc:
                exc.attempted = t.size
                raise
        dtype = xp.complex128 if complex_input else xp.float64
        vals = xp.empty(t.shape, dtype=dtype)
        cast = complex if complex_input else float
        for i, ti in enumerate(t.tolist()):  # vectorized=False: one call per point, by request
            try:
                out = _call(self.f, cast(ti), complex_input)
            except ComplexUnsupported as exc:
                exc.attempted = i + 1
                raise
            except Exception as exc:
                if not _domain_error(exc):
                    raise
                out = xp.nan
            self.eps = max(self.eps, _precision(xp.asarray(out)))
            try:
                vals[i] = _as_values(out, (), complex_input, "a scalar input")
            except ComplexUnsupported as exc:
                exc.attempted = i + 1
                raise
        return vals


class _Engine:
    """The engine's interface to a function: ``(t, which) -> (N, K)`` values, and ``eps``.

    For an :class:`Elementwise`, ``which`` is ignored; for a :class:`VectorFunction`, the
    points are ``origin + t * directions[:, which]``.
    """

    def __init__(self, fun, complex_input: bool, origin=None, directions=None):
        self.fun = fun
        self.complex_input = complex_input
        self.origin = origin
        self.directions = directions

    @property
    def eps(self) -> float:
        return self.fun.eps

    def __call__(self, t, which):
        if self.directions is None:
            return self.fun(t, self.complex_input)[:, None]
        cols = self.origin[:, None] + self.directions[:, which] * t[None, :]
        return self.fun(cols, self.complex_input).T


class VectorFunction:
    """A function of an array ``x``, evaluated at many points ``x + dX``.

    With ``vectorized``, the first batch checks whether ``f`` accepts trailing batch axes:
    called with an array of shape ``x.shape + (B,)`` it must return
    ``f(x).shape + (B,)``, and its column at ``x`` itself must match ``f(x)``. If not,
    every point is evaluated with its own call. ``count`` is the number of points ``f`` was
    called with, including calls that failed.
    """

    def __init__(self, f: Callable, x, vectorized: bool):
        if not callable(f):
            raise FunctionOutputError(f"f must be callable; got {type(f).__name__}")
        self.f = f
        self.x = x
        self.m = x.size
        self.batched = None if vectorized else False
        self.count = 0
        out = xp.asarray(_call(f, x, False))
        self.eps = max(float(xp.finfo(xp.float64).eps), _precision(out))
        self.out_shape = out.shape
        self.f0 = _as_values(out, self.out_shape, False, f"x of shape {x.shape}").ravel()
        self.count = 1
        self.k = self.f0.size

    def _single(self, point, complex_input: bool):
        self.count += 1
        try:
            out = _call(self.f, point, complex_input)
        except ComplexUnsupported:
            raise
        except Exception as exc:
            if not _domain_error(exc):
                raise
            out = xp.full(self.out_shape, xp.nan)
        self.eps = max(self.eps, _precision(xp.asarray(out)))
        return _as_values(out, self.out_shape, complex_input,
                          f"an input of shape {point.shape}").ravel()

    def _detect(self, cols, complex_input: bool):
        """Try one batched call on ``cols`` plus ``x``; None if ``f`` does not batch."""
        b = cols.shape[1]
        probe = xp.concatenate([cols, self.x.reshape(-1, 1).astype(cols.dtype)], axis=1)
        self.count += b + 1
        # Any failure, complex ones included, only says that f does not batch: calls on
        # single points then decide.
        try:
            out = _call(self.f, probe.reshape(self.x.shape + (b + 1,)), complex_input)
            self.eps = max(self.eps, _precision(xp.asarray(out)))
            vals = _as_values(out, self.out_shape + (b + 1,), complex_input, "")
        except (ComplexUnsupported, Exception):
            return None
        vals = vals.reshape(self.k, b + 1)
        at_x = vals[:, -1].real
        with xp.errstate(invalid="ignore"):
            same = xp.abs(at_x - self.f0) <= 1e-8 * (xp.abs(at_x) + xp.abs(self.f0)) + 1e-300
        if not bool(xp.all(same | (xp.isnan(at_x) & xp.isnan(self.f0)))):
            return None
        return vals[:, :b]

    def __call__(self, cols, complex_input: bool = False):
        """Values at the points ``cols`` (shape (m, B)), as a (K, B) array."""
        b = cols.shape[1]
        if b == 0:
            return xp.empty((self.k, 0), dtype=xp.complex128 if complex_input else xp.float64)
        if self.batched is None:
            vals = self._detect(cols, complex_input)
            self.batched = vals is not None
            if vals is not None:
                return vals
        if self.batched:
            chunk = max(1, _MAX_BATCH_ELEMENTS // max(self.m, self.k, 1))
            parts = []
            for start in range(0, b, chunk):
                part = cols[:, start:start + chunk]
                nb = part.shape[1]
                self.count += nb
                out = _call(self.f, part.reshape(self.x.shape + (nb,)), complex_input)
                self.eps = max(self.eps, _precision(xp.asarray(out)))
                parts.append(_as_values(out, self.out_shape + (nb,), complex_input,
                                        f"a batch of shape {self.x.shape + (nb,)}")
                             .reshape(self.k, nb))
            return xp.concatenate(parts, axis=1)
        dtype = xp.complex128 if complex_input else xp.float64
        vals = xp.empty((self.k, b), dtype=dtype)
        for j in range(b):  # f does not accept a batch axis: one call per point
            vals[:, j] = self._single(cols[:, j].reshape(self.x.shape), complex_input)
        return vals


def along(fun: VectorFunction, directions, complex_input: bool) -> _Engine:
    """The engine's interface to ``g_p(t) = fun(x + t * directions[:, p])``."""
    if complex_input:
        directions = directions.astype(xp.complex128)
    return _Engine(fun, complex_input, fun.x.ravel(), directions)
