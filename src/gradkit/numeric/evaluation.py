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

    ``attempted`` is how many points ``f`` was called with before that showed;
    ``type_error`` says it raised ``TypeError``, which an array alone may cause too.
    """

    attempted = 0
    type_error = False


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
            exc = ComplexUnsupported("f raised TypeError for complex input")
            exc.type_error = True
            raise exc from None
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


def _describe(f: Callable) -> str:
    """``f``'s name, and where it was defined when Python knows (a lambda has no name)."""
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None)
    name = name or type(f).__name__
    code = getattr(f, "__code__", None)
    if code is not None:
        return f"{name}, defined at {code.co_filename}:{code.co_firstlineno}"
    return name


def _output_type_error(f: Callable, out, what: str) -> FunctionOutputError:
    kind = type(out).__name__
    if isinstance(out, xp.ndarray):
        kind += f" of dtype {out.dtype}"
    called = what.split(" (f must")[0] or "a batch of points"
    return FunctionOutputError(f"f returned {kind}; it must return a number or array of "
                               f"numbers (f is {_describe(f)}; called with {called})")


def _as_values(f: Callable, out, shape: tuple | None, complex_input: bool, what: str):
    """Check and convert one output of ``f``: numeric, of the expected shape (if any)."""
    # A str or None is no number, whatever its shape: say so before comparing shapes
    # (NumPy would even turn None into NaN, a silent "not finite").
    if out is None or isinstance(out, str | bytes):
        raise _output_type_error(f, out, what)
    try:
        arr = xp.asarray(out)
    except (TypeError, ValueError):
        raise _output_type_error(f, out, what) from None
    if arr.dtype.kind in "USVMm" or (arr.dtype.kind == "O" and bool(
            xp.any(xp.frompyfunc(lambda v: v is None or isinstance(v, str | bytes), 1, 1)(arr)))):
        raise _output_type_error(f, out if isinstance(out, xp.ndarray) else arr, what)
    if shape is not None and arr.shape != shape:
        exc = FunctionOutputError(f"f returned shape {arr.shape} for {what}; expected shape "
                                  f"{shape}")
        exc.wrong_shape = True
        raise exc
    if arr.dtype.kind not in "biufc":
        try:
            arr = arr.astype(xp.complex128 if complex_input else xp.float64)
        except (TypeError, ValueError):
            raise _output_type_error(f, arr, what) from None
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

    With ``vectorized`` it is first called on a 1-D array of points and must then act
    elementwise. If that first call raises, or returns something not shaped like its
    input (scalar code such as ``math.sin``, a function that reduces), the points are
    evaluated one at a time from then on, as :class:`VectorFunction` does for functions
    that do not batch. One at a time (``vectorized=False``, or after that fallback), ``f``
    gets a Python ``float`` (or ``complex``), and an ``ArithmeticError`` or ``ValueError``
    it raises counts as a non-finite value.
    """

    def __init__(self, f: Callable, vectorized: bool):
        self.f = f
        # True: f batches; False: one call per point; None: not known until the first call.
        self.vectorized = None if vectorized else False
        self.eps = float(xp.finfo(xp.float64).eps)
        self.engine = _Engine(self, False)
        self.engine_complex = _Engine(self, True)

    def __call__(self, t, complex_input: bool = False):
        """Values of ``f`` at the points ``t`` (a 1-D array), float or complex."""
        if self.vectorized is False:
            return self._points(t, complex_input)[0]
        try:
            out = _call(self.f, t, complex_input)
            self.eps = max(self.eps, _precision(xp.asarray(out)))
            vals = _as_values(self.f, out, t.shape, complex_input,
                              f"an input of shape {t.shape} (f must act elementwise; pass "
                              "vectorized=False for a function of one scalar)")
        except ComplexUnsupported as exc:
            exc.attempted = t.size
            if self.vectorized or not exc.type_error:
                raise
            return self._fallback(t, complex_input, exc)
        except FunctionOutputError as exc:
            if self.vectorized or not getattr(exc, "wrong_shape", False):
                raise
            return self._fallback(t, complex_input, exc)
        except GradkitError:
            raise
        except Exception as exc:
            if self.vectorized:
                exc.add_note(f"gradkit.numeric called f with an array of shape {t.shape}; "
                             "pass vectorized=False if f accepts only scalars")
                raise
            return self._fallback(t, complex_input, exc)
        self.vectorized = True
        return vals

    def _fallback(self, t, complex_input: bool, first: BaseException):
        """After ``f`` failed on an array: one call per point, if ``f`` works that way.

        If every point then raises a domain error too, the array's failure is the one to
        report (it was no scalar-only function, just a failing one).
        """
        try:
            vals, raised = self._points(t, complex_input)
        except ComplexUnsupported as exc:
            exc.attempted = t.size
            raise
        except GradkitError:
            raise
        except Exception as exc:
            exc.add_note(f"gradkit.numeric called f with an array of shape {t.shape} (it "
                         f"raised {type(first).__name__}: {first}), then with one "
                         f"{'complex' if complex_input else 'float'} at a time")
            raise
        if raised == t.size:
            raise first
        self.vectorized = False
        return vals

    def _points(self, t, complex_input: bool):
        """One call per point: the values, and how many points raised a domain error."""
        dtype = xp.complex128 if complex_input else xp.float64
        vals = xp.empty(t.shape, dtype=dtype)
        cast = complex if complex_input else float
        raised = 0
        for i, ti in enumerate(t.tolist()):  # one call per point, by request or necessity
            try:
                out = _call(self.f, cast(ti), complex_input)
            except ComplexUnsupported as exc:
                exc.attempted = i + 1
                raise
            except Exception as exc:
                if not _domain_error(exc):
                    raise
                out = xp.nan
                raised += 1
            self.eps = max(self.eps, _precision(xp.asarray(out)))
            try:
                vals[i] = _as_values(self.f, out, (), complex_input, "a scalar input")
            except ComplexUnsupported as exc:
                exc.attempted = i + 1
                raise
        return vals, raised


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
        self.f = f
        self.x = x
        self.m = x.size
        self.batched = None if vectorized else False
        self.count = 0
        out = _call(f, x, False)
        self.eps = max(float(xp.finfo(xp.float64).eps), _precision(xp.asarray(out)))
        f0 = _as_values(f, out, None, False, f"x of shape {x.shape}")
        self.out_shape = f0.shape
        self.f0 = f0.ravel()
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
        return _as_values(self.f, out, self.out_shape, complex_input,
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
            vals = _as_values(self.f, out, self.out_shape + (b + 1,), complex_input, "")
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
                parts.append(_as_values(self.f, out, self.out_shape + (nb,), complex_input,
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
