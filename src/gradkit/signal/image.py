"""Image gradients of N-d arrays: Sobel, Prewitt and Scharr operators, magnitude, angle.

Each operator is separable: a central difference ``[-1, 0, 1]`` (correlation:
``out[i] = in[i + 1] - in[i - 1]``) along one axis and a smoothing kernel along every
other axis (Sobel ``[1, 2, 1]``, Prewitt ``[1, 1, 1]``, Scharr ``[3, 10, 3]``), all
unnormalised. The 1-D passes run one after another, each padding its own input with
the boundary mode, exactly as ``scipy.ndimage.sobel`` and ``prewitt`` do, so the
results equal SciPy's. Every step is a gradkit operation: the gradients can sit
inside a loss and be differentiated.
"""

from __future__ import annotations

from .. import numpy as gnp
from ..graph import raw
from ..validation import check_axis, check_choice, invalid
from ._common import as_samples

__all__ = ["sobel", "prewitt", "scharr", "gradient_magnitude", "gradient_orientation"]

# SciPy's (ndimage) boundary modes, as numpy.pad modes.
_MODES = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap",
          "constant": "constant", "grid-wrap": "wrap", "grid-mirror": "symmetric",
          "grid-constant": "constant"}
_SMOOTHING = {"sobel": (1.0, 2.0, 1.0), "prewitt": (1.0, 1.0, 1.0), "scharr": (3.0, 10.0, 3.0)}
_DERIVATIVE = (-1.0, 0.0, 1.0)


def _correlate3(a, weights, axis: int, mode: str, cval: float):
    """Correlate ``a`` with a 3-tap kernel along ``axis``, padding by one sample."""
    shape = raw(a).shape
    widths = [(0, 0)] * len(shape)
    widths[axis] = (1, 1)
    if mode == "constant":
        padded = gnp.pad(a, widths, mode="constant", constant_values=cval)
    else:
        padded = gnp.pad(a, widths, mode=mode)
    n = shape[axis]
    out = None
    for k, w in enumerate(weights):
        if w == 0.0:
            continue
        index = [slice(None)] * len(shape)
        index[axis] = slice(k, k + n)
        term = gnp.getitem(padded, tuple(index))
        term = term if w == 1.0 else term * w
        out = term if out is None else out + term
    return out


def _prepare(image, mode: str, fn: str):
    image = as_samples(image, fn, name="input")
    mode = check_choice(mode, "mode", fn, sorted(_MODES))
    if 0 in raw(image).shape:
        raise invalid(fn, "input", "non-empty", image)
    return image, _MODES[mode]


def _operator(image, axis: int, smoothing, mode: str, cval: float):
    nd = len(raw(image).shape)
    out = _correlate3(image, _DERIVATIVE, axis, mode, cval)
    for other in range(nd):
        if other != axis:
            out = _correlate3(out, smoothing, other, mode, cval)
    return out


def _edge_filter(name: str, smoothing_text: str):
    smoothing = _SMOOTHING[name]

    def op(input, axis: int = -1, mode: str = "reflect", cval: float = 0.0):  # noqa: A002
        fn = f"signal.{name}"
        image, pad_mode = _prepare(input, mode, fn)
        axis = check_axis(axis, "axis", fn, len(raw(image).shape))
        return _operator(image, axis, smoothing, pad_mode, float(cval))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"""{name.capitalize()} derivative of an N-d array along one axis.

    The central difference ``[-1, 0, 1]`` along ``axis`` and the smoothing kernel
    ``{smoothing_text}`` along every other axis, unnormalised{_SCIPY.get(name, "")}.

    Parameters
    ----------
    input : array_like or Tensor
        Image or volume (any number of dimensions). Integer arrays are converted to
        float64 (SciPy keeps an integer dtype, where the result can overflow).
    axis : int, default -1
        Axis of the derivative.
    mode : {{"reflect", "nearest", "constant", "wrap", "mirror"}}, default "reflect"
        Boundary handling, named and defined as in ``scipy.ndimage``: ``reflect``
        repeats the edge sample (``d c b a | a b c d``), ``mirror`` does not
        (``d c b | a b c d``), ``nearest`` extends it, ``wrap`` is periodic,
        ``constant`` pads with ``cval``.
    cval : float, default 0.0
        Padding value of mode ``constant``.

    Returns
    -------
    ndarray or Tensor
        Same shape as ``input``.

    Raises
    ------
    GradkitError
        NaN or inf in ``input``, an unknown ``mode``, ``axis`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.signal import {name}
    >>> ramp = np.tile(np.arange(4.0), (3, 1))  # increases along axis 1
    >>> {name}(ramp, axis=1)
{_EXAMPLE[name]}
    """
    return op


_SCIPY = {"sobel": " (equal to ``scipy.ndimage.sobel``)",
          "prewitt": " (equal to ``scipy.ndimage.prewitt``)",
          "scharr": " (Scharr's rotation-optimised 3x3 operator, in 2-D ``[3, 10, 3]``)"}
_EXAMPLE = {
    "sobel": "    array([[4., 8., 8., 4.],\n           [4., 8., 8., 4.],\n"
             "           [4., 8., 8., 4.]])",
    "prewitt": "    array([[3., 6., 6., 3.],\n           [3., 6., 6., 3.],\n"
               "           [3., 6., 6., 3.]])",
    "scharr": "    array([[16., 32., 32., 16.],\n           [16., 32., 32., 16.],\n"
              "           [16., 32., 32., 16.]])",
}

sobel = _edge_filter("sobel", "[1, 2, 1]")
prewitt = _edge_filter("prewitt", "[1, 1, 1]")
scharr = _edge_filter("scharr", "[3, 10, 3]")


def _components(input, operator: str, mode: str, cval: float, fn: str):  # noqa: A002
    check_choice(operator, "operator", fn, sorted(_SMOOTHING))
    image, pad_mode = _prepare(input, mode, fn)
    nd = len(raw(image).shape)
    return [_operator(image, ax, _SMOOTHING[operator], pad_mode, float(cval))
            for ax in range(nd)]


def _safe_sqrt(s):
    """sqrt with a zero gradient (not inf or NaN) where ``s`` is 0."""
    positive = raw(s) > 0
    if positive.all():
        return gnp.sqrt(s)
    return gnp.where(positive, gnp.sqrt(gnp.where(positive, s, 1.0)), 0.0)


def gradient_magnitude(input, operator: str = "sobel", mode: str = "reflect",  # noqa: A002
                       cval: float = 0.0):
    """Gradient magnitude: root sum of squares of the derivatives along all axes.

    Equal to ``scipy.ndimage.generic_gradient_magnitude(input, scipy.ndimage.sobel,
    mode=mode, cval=cval)`` for ``operator="sobel"`` (and ``prewitt`` likewise). The
    components are not clipped or rescaled before they are combined: clipping each to
    ``[0, 255]``, as a common snippet does, discards negative slopes and makes the
    magnitude depend on the direction of the edge. Where the gradient is zero the
    derivative of the magnitude is taken as zero (not NaN), so that it can be used in
    losses.

    Parameters
    ----------
    input : array_like or Tensor
        N-d image.
    operator : {"sobel", "prewitt", "scharr"}, default "sobel"
    mode : {"reflect", "nearest", "constant", "wrap", "mirror"}, default "reflect"
        As for :func:`sobel`.
    cval : float, default 0.0

    Returns
    -------
    ndarray or Tensor
        Same shape as ``input``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.signal import gradient_magnitude
    >>> image = np.full((5, 5), 50.0)
    >>> image[1:4, 1:4] = 100.0
    >>> image[2, 2] = 200.0
    >>> m = gradient_magnitude(image)
    >>> bool(np.allclose(m, m[::-1]) and np.allclose(m, m[:, ::-1]) and np.allclose(m, m.T))
    True
    """
    parts = _components(input, operator, mode, cval, "signal.gradient_magnitude")
    total = parts[0] * parts[0]
    for p in parts[1:]:
        total = total + p * p
    return _safe_sqrt(total)


def gradient_orientation(input, operator: str = "sobel", mode: str = "reflect",  # noqa: A002
                         cval: float = 0.0):
    """Gradient direction of a 2-D image: ``arctan2(d/d axis 0, d/d axis 1)``.

    Angles in radians in ``[-pi, pi]``, measured from axis 1 (columns, x) towards
    axis 0 (rows, downwards in image coordinates). Flat regions get angle 0, with a
    zero derivative.

    Parameters
    ----------
    input : array_like or Tensor
        2-D image.
    operator : {"sobel", "prewitt", "scharr"}, default "sobel"
    mode : {"reflect", "nearest", "constant", "wrap", "mirror"}, default "reflect"
    cval : float, default 0.0

    Returns
    -------
    ndarray or Tensor
        Same shape as ``input``.

    Raises
    ------
    GradkitError
        If ``input`` is not 2-D (or as :func:`sobel`).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.signal import gradient_orientation
    >>> ramp = np.tile(np.arange(4.0), (3, 1))  # brighter to the right
    >>> float(gradient_orientation(ramp)[1, 1])
    0.0
    >>> round(float(gradient_orientation(ramp.T)[1, 1]), 4)  # brighter downwards
    1.5708
    """
    fn = "signal.gradient_orientation"
    image = as_samples(input, fn, name="input")
    if raw(image).ndim != 2:
        raise invalid(fn, "input", "a 2-D image", image)
    g0, g1 = _components(image, operator, mode, cval, fn)
    flat = (raw(g0) == 0) & (raw(g1) == 0)
    if flat.any():
        g0 = gnp.where(flat, 0.0, g0)
        g1 = gnp.where(flat, 1.0, g1)
    return gnp.arctan2(g0, g1)
