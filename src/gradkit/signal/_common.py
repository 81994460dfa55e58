"""Shared pieces of :mod:`gradkit.signal`: its own argument checks (samples, spacing,
coordinates; the generic ones are in :mod:`gradkit.validation`) and edge-aware linear filters.

A derivative of sampled data along one axis is a linear map with the same weights at
every interior sample (a correlation with a kernel) and its own weights at the few
samples near each end, where the kernel does not fit. :class:`EdgeFilter` holds those
weights (plain NumPy constants) and applies them with gradkit operations, so that the
result can be differentiated with respect to the samples.
"""

from __future__ import annotations

import math

from .. import numpy as gnp
from ..backend import xp
from ..graph import plain, raw
from ..validation import check_finite_array, invalid, real_value

__all__ = ["EdgeFilter", "as_samples", "check_spacing", "check_grid", "is_uniform", "moved"]

# Interior correlations use sliding windows and one matrix product while the windows
# hold fewer elements than this; beyond it, one slice per kernel offset (no copy).
_WINDOW_LIMIT = 4_000_000


def as_samples(y, fn: str, name: str = "y", min_ndim: int = 1):
    """``y`` with finite real values: a float Tensor as it is (so that the gradient flows),
    anything else as a floating-point array (integers become float64)."""
    arr = check_finite_array(y, name, fn, min_ndim=min_ndim)
    return y if arr is raw(y) else arr


def check_spacing(dx, fn: str) -> float:
    """A finite, non-zero sample spacing."""
    h = real_value(dx)
    if h is None or not math.isfinite(h) or h == 0.0:
        raise invalid(fn, "dx", "a finite non-zero number (the sample spacing)", dx)
    return h


def check_grid(x, size: int, fn: str):
    """Sample coordinates: 1-D, ``size`` finite values, strictly monotonic."""
    x = check_finite_array(x, "x", fn)
    if x.ndim != 1 or x.shape[0] != size:
        raise invalid(fn, "x", f"a 1-D array of {size} coordinates (one per sample of y along "
                               f"the axis)", x)
    x = x.astype(xp.float64)  # a copy: the caller keeps its array
    step = xp.diff(x)
    if size > 1 and not ((step > 0).all() or (step < 0).all()):
        i = int(xp.argmax(step <= 0)) if step[0] > 0 else int(xp.argmax(step >= 0))
        raise invalid(fn, "x", "strictly monotonic (sorted, without repeats; sort x and y "
                               "together first)",
                      got=f"x[{i}] = {x[i].item()!r} and x[{i + 1}] = {x[i + 1].item()!r}")
    return x


def is_uniform(x) -> bool:
    """Whether the coordinates ``x`` are equally spaced (to 1e-9 of the spacing)."""
    if x.shape[0] < 2:
        return True
    step = xp.diff(x)
    return bool(xp.abs(step - step.mean()).max() <= 1e-9 * abs(step.mean()))


def moved(y, axis: int):
    """``y`` with ``axis`` moved last (a no-op when it already is)."""
    nd = len(raw(y).shape)
    return y if axis == nd - 1 else gnp.moveaxis(y, axis, -1)


def _cast(w, like):
    return xp.asarray(w, dtype=xp.result_type(plain(like).dtype, xp.float32))


class EdgeFilter:
    """A linear map along the last axis: a kernel inside, dense rows near the ends.

    Output sample ``i`` with ``h <= i < N - h`` is ``sum_k kernel[k] * y[i - h + k]``
    (``h = len(kernel) // 2``). The first ``h`` outputs are ``left @ y[:n_left]`` and
    the last ``h`` are ``right @ y[N - n_right:]``, where ``left`` and ``right`` are
    given as a product of matrices (factored, so that the rows of a long polynomial
    fit need not be formed).
    """

    def __init__(self, kernel, left: tuple, right: tuple):
        self.kernel = xp.asarray(kernel, dtype=xp.float64)
        self.h = (self.kernel.shape[0] - 1) // 2
        self.left = tuple(xp.asarray(m, dtype=xp.float64) for m in left)
        self.right = tuple(xp.asarray(m, dtype=xp.float64) for m in right)

    @property
    def n_left(self) -> int:
        return self.left[-1].shape[1]

    @property
    def n_right(self) -> int:
        return self.right[-1].shape[1]

    def min_size(self) -> int:
        return max(self.kernel.shape[0], self.n_left, self.n_right)

    def scaled(self, factor: float) -> EdgeFilter:
        return EdgeFilter(self.kernel * factor, (self.left[0] * factor,) + self.left[1:],
                          (self.right[0] * factor,) + self.right[1:])

    # -- with gradkit operations (the differentiable data path) ---------------------------
    def __call__(self, y, axis: int = -1):
        """Apply along ``axis`` of ``y`` (an array or a Tensor)."""
        nd = len(raw(y).shape)
        axis = axis % nd
        z = moved(y, axis)
        n = raw(z).shape[-1]
        parts = []
        if self.h:
            parts.append(self._edge(gnp.getitem(z, (Ellipsis, slice(0, self.n_left))),
                                    self.left, z))
        parts.append(self._interior(z, n))
        if self.h:
            parts.append(self._edge(gnp.getitem(z, (Ellipsis, slice(n - self.n_right, n))),
                                    self.right, z))
        out = parts[0] if len(parts) == 1 else gnp.concatenate(parts, axis=-1)
        return out if axis == nd - 1 else gnp.moveaxis(out, -1, axis)

    @staticmethod
    def _edge(block, factors, like):
        for m in factors[::-1]:
            block = gnp.matmul(block, _cast(m.T, like))
        return block

    def _interior(self, z, n):
        s = self.kernel.shape[0]
        m = n - s + 1
        lead = raw(z).shape[:-1]
        if s == 1:
            return z * _cast(self.kernel[0], z)
        if s > 16 and m * s * max(1, int(xp.prod(lead))) <= _WINDOW_LIMIT:
            windows = gnp.sliding_window_view(z, s, axis=-1)
            return gnp.matmul(windows, _cast(self.kernel, z))
        out = None
        for k, w in enumerate(self.kernel):
            if w == 0.0:
                continue
            term = gnp.getitem(z, (Ellipsis, slice(k, k + m))) * _cast(w, z)
            out = term if out is None else out + term
        if out is None:
            out = gnp.getitem(z, (Ellipsis, slice(0, m))) * _cast(0.0, z)
        return out

    # -- plain NumPy on constants (for choosing parameters) ------------------------------
    def apply_numpy(self, y):
        """Apply along the last axis of a plain float64 array, by FFT inside."""
        n = y.shape[-1]
        inner = correlate_valid(y, self.kernel)
        if not self.h:
            return inner
        left = y[..., :self.n_left]
        for m in self.left[::-1]:
            left = left @ m.T
        right = y[..., n - self.n_right:]
        for m in self.right[::-1]:
            right = right @ m.T
        return xp.concatenate([left, inner, right], axis=-1)

    def row_norms2(self, n: int):
        """Squared Euclidean norm of each of the ``n`` rows (the noise gain per sample)."""
        def block(factors):
            if len(factors) == 1:
                return (factors[0] ** 2).sum(axis=1)
            first, rest = factors[0], factors[1:]
            gram = rest[0]
            for m in rest[1:]:
                gram = gram @ m
            gram = gram @ gram.T
            return xp.einsum("ij,jk,ik->i", first, gram, first)

        inner = xp.full(n - 2 * self.h, (self.kernel ** 2).sum())
        if not self.h:
            return inner
        return xp.concatenate([block(self.left), inner, block(self.right)])


def correlate_valid(y, kernel):
    """``out[..., j] = sum_k kernel[k] * y[..., j + k]`` (the 'valid' part), plain NumPy."""
    n = y.shape[-1]
    s = kernel.shape[0]
    if s <= 32:
        m = n - s + 1
        out = xp.zeros(y.shape[:-1] + (m,))
        for k, w in enumerate(kernel):
            if w != 0.0:
                out += w * y[..., k:k + m]
        return out
    size = 1 << int(n + s - 2).bit_length()
    spectrum = xp.fft.rfft(y, size) * xp.fft.rfft(kernel[::-1], size)
    return xp.fft.irfft(spectrum, size)[..., s - 1:n]
