"""Stateless neural-network operations, written with :mod:`gradkit.numpy`.

Every function takes plain arrays or gradkit Tensors (traced by a transform, or eager
Tensors with ``requires_grad``) and is differentiable to any order, because it is
built from gradkit's primitives. Images are NCHW, as in PyTorch; weights use
PyTorch's layouts (``(out, in)`` for linear, ``(out, in, kh, kw)`` for convolution).

Convolution is im2col: the input is viewed channels-last (NHWC), padded, cut into
``kh x kw`` windows with :func:`gradkit.numpy.sliding_window_view` (a view, no copy),
and the windows, ordered ``(kh, kw, C)`` so that channels are innermost, are copied
once into an ``(N*Ho*Wo, kh*kw*C)`` matrix that meets the ``(kh*kw*C, F)`` weight
matrix in one GEMM (the bias added into its output). A stride-1, undilated
convolution is one primitive pair: the forward above, and its input gradient, which
adds the ``kh*kw`` kernel offsets back with one small GEMM per offset
(``g @ W_ab^T``, added into that offset's slice of the input gradient; no column
buffer scattered back, no loop over pixels); the weight gradient recomputes the
columns (primitives keep no residuals) and is one GEMM. Each of the pair's rules is
written with the other, so derivatives of any order stay inside the pair. Strided or
dilated convolutions take the generic path: windows, a strided slice, one GEMM, and
the core's rules backward (the window view's rule adds the offsets back one residue
class at a time). The output is returned as an NCHW view of the NHWC result, so the
next layer's NHWC view is free.

Examples
--------
>>> import numpy as np
>>> import gradkit.nn.functional as F
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> F.conv2d(x, np.ones((1, 1, 2, 2)))[0, 0]
array([[10., 14., 18.],
       [26., 30., 34.],
       [42., 46., 50.]])
>>> F.max_pool2d(x, 2)[0, 0]
array([[ 5.,  7.],
       [13., 15.]])
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy as gnp
from .._rules import _nb, sum_to
from ..backend import array_of, xp
from ..errors import GradkitError
from ..graph import defprimitive, holds_batch, plain, rebatch
from ..validation import check_pair, check_real, invalid

__all__ = ["linear", "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d", "flatten",
           "dropout", "embedding", "relu", "leaky_relu", "elu", "gelu", "silu", "tanh",
           "sigmoid", "softplus", "softmax", "log_softmax", "conv_output_size"]

relu = gnp.relu
tanh = gnp.tanh
sigmoid = gnp.sigmoid
softplus = gnp.softplus
softmax = gnp.softmax
log_softmax = gnp.log_softmax

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# -- argument checking ----------------------------------------------------------------------


def _padding(padding, kernel, dilation, stride, where: str) -> tuple[tuple, tuple]:
    """``((top, bottom), (left, right))`` from an int, a pair, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise invalid(where, "stride", "1 with padding='same'", stride)
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out.append((total // 2, total - total // 2))
            return out[0], out[1]
        raise invalid(where, "padding", "an integer, a pair of integers, 'valid' or 'same'",
                      padding)
    ph, pw = check_pair(padding, "padding", where, low=0)
    return (ph, ph), (pw, pw)


def _shape4(x, where: str) -> tuple[int, int, int, int]:
    shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
    if len(shape) != 4:
        raise invalid(where, "input", "4-d, of shape (N, C, H, W)", got=f"shape {shape}")
    return shape


def conv_output_size(size: int, kernel: int, stride: int = 1, pad: int = 0,
                     dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis (``pad`` on both sides).

    Examples
    --------
    >>> from gradkit.nn.functional import conv_output_size
    >>> conv_output_size(28, 3), conv_output_size(28, 3, stride=2, pad=1)
    (26, 14)
    """
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


# -- linear layers ----------------------------------------------------------------------------


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` with ``weight`` of shape ``(out_features, in_features)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import linear
    >>> linear(np.ones((2, 3)), np.arange(6.0).reshape(2, 3), np.array([0.5, -0.5]))
    array([[ 3.5, 11.5],
           [ 3.5, 11.5]])
    """
    if bias is None:
        return gnp.matmul(x, gnp.transpose(weight))
    return gnp.matmul_add(x, gnp.transpose(weight), bias)


# -- the stride-1 convolution as one primitive pair ---------------------------------------
# x: (..., N, H, W, C) channels-last, w: (kh * kw * C, F) with rows ordered (a, b, c), b an
# optional bias (F,). Output: (..., N * H' * W', F). The leading "..." are the batch axes
# that jacobian and hessian add; first-order training never has them.


def _im2col(x, kh: int, kw: int):
    """Columns (..., N*H'*W', kh*kw*C) of a channels-last batch, with gradkit ops."""
    n, h, w, c = x.shape[-4:]
    windows = gnp.sliding_window_view(x, (kh, kw), axis=(-3, -2))  # (..., N, H', W', C, kh, kw)
    nd = len(x.shape) + 2
    order = tuple(range(nd - 3)) + (nd - 2, nd - 1, nd - 3)
    return gnp.reshape(gnp.transpose(windows, order),
                       tuple(x.shape[:-4]) + (n * (h - kh + 1) * (w - kw + 1), kh * kw * c))


def _conv_fwd(x, w, b, kh, kw):
    return _im2col(x, kh, kw) @ w if b is None else gnp.matmul_add(_im2col(x, kh, kw), w, b)


def _conv_input_grad_fwd(g, w, kh, kw, xshape):
    # The transpose of the convolution for one kernel offset at a time: g @ W_ab^T lands
    # in out[..., a:a+H', b:b+W', :]. Nine small GEMMs and slice additions instead of one
    # (N*H'*W', kh*kw*C) column buffer scattered back (twice as fast, measured).
    g = array_of(g)
    w = array_of(w)
    n, h, wd, c = xshape[-4:]
    ho, wo = h - kh + 1, wd - kw + 1
    lead = g.shape[:-2]
    g4 = g.reshape(lead + (n, ho, wo, g.shape[-1]))
    out = xp.zeros(lead + (n, h, wd, c), dtype=xp.result_type(g, w))
    for a in range(kh):
        for b in range(kw):
            k = (a * kw + b) * c
            out[..., a:a + ho, b:b + wo, :] += g4 @ w[k:k + c].T
    return out


# Both maps are bilinear; each one's rules are written with the other and with im2col, so
# derivatives of any order stay inside this pair.
_conv = defprimitive(
    _conv_fwd, "conv2d_nhwc",
    lambda g, ans, x, w, b, kh, kw: _conv_input_grad(g, w, kh, kw, x.shape),
    lambda g, ans, x, w, b, kh, kw: _weight_grad(x, g, g, ans, w, kh, kw),
    lambda g, ans, x, w, b, kh, kw: sum_to(g, _nb(g, ans), tuple(b.shape)))
_conv_input_grad = defprimitive(
    _conv_input_grad_fwd, "conv2d_nhwc_input_grad",
    lambda h, ans, g, w, kh, kw, xshape: _conv(h, w, None, kh, kw),
    lambda h, ans, g, w, kh, kw, xshape: _weight_grad(h, g, h, ans, w, kh, kw))


def _weight_grad(x, g, cotangent, ans, w, kh, kw):
    """im2col(x)^T g, summed down to the weight's shape (batch axes of ``cotangent`` kept)."""
    v = gnp.matmul(gnp.swapaxes(_im2col(x, kh, kw), -1, -2), g)
    return sum_to(v, len(cotangent.shape) - len(ans.shape), tuple(w.shape))

def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D cross-correlation (PyTorch's ``conv2d``) of NCHW ``x`` with ``(F, C, kh, kw)`` weights.

    Parameters
    ----------
    x : array or Tensor, shape (N, C, H, W)
    weight : array or Tensor, shape (F, C, kh, kw)
    bias : array or Tensor, shape (F,), optional
    stride, dilation : int or (int, int), default 1
    padding : int, (int, int), "valid" or "same", default 0
        Zero padding on both sides of each spatial axis ("same" needs stride 1 and puts
        the odd pixel, if any, at the bottom/right).

    Returns
    -------
    array or Tensor, shape (N, F, Ho, Wo)
        ``Ho = (H + 2 * pad - dilation * (kh - 1) - 1) // stride + 1``, likewise ``Wo``.
        An NCHW view of a channels-last result.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import conv2d
    >>> x = np.ones((2, 3, 5, 5), dtype=np.float32)
    >>> out = conv2d(x, np.ones((4, 3, 3, 3), dtype=np.float32), stride=2, padding=1)
    >>> out.shape, out.dtype, float(out[0, 0, 1, 1])
    ((2, 4, 3, 3), dtype('float32'), 27.0)
    """
    where = "nn.functional.conv2d"
    n, c, h, w = _shape4(x, where)
    wshape = tuple(weight.shape)
    if len(wshape) != 4:
        raise invalid(where, "weight", "4-d, of shape (out_channels, in_channels, kh, kw)",
                      got=f"shape {wshape}")
    f, cw, kh, kw = wshape
    if cw != c:
        raise GradkitError(f"{where}: input has {c} channels (shape {(n, c, h, w)}) but the "
                           f"weight expects {cw} (shape {wshape})")
    sh, sw = check_pair(stride, "stride", where)
    dh, dw = check_pair(dilation, "dilation", where)
    (pt, pb), (pl, pr) = _padding(padding, (kh, kw), (dh, dw), (sh, sw), where)
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    hp, wp = h + pt + pb, w + pl + pr
    if hp < eh or wp < ew:
        raise GradkitError(f"{where}: the kernel ({kh}x{kw}, dilation {(dh, dw)}) is larger "
                           f"than the padded input ({hp}x{wp})")
    ho, wo = (hp - eh) // sh + 1, (wp - ew) // sw + 1
    xh = gnp.transpose(x, (0, 2, 3, 1))  # NHWC view: channels innermost
    if pt or pb or pl or pr:
        xh = gnp.pad(xh, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    wmat = gnp.reshape(gnp.transpose(weight, (2, 3, 1, 0)), (kh * kw * c, f))
    if (sh, sw, dh, dw) == (1, 1, 1, 1):
        out = _conv(xh, wmat, bias, kh, kw)
    else:
        windows = gnp.sliding_window_view(xh, (eh, ew), axis=(1, 2))  # (N, H', W', C, eh, ew)
        windows = windows[:, ::sh, ::sw, :, ::dh, ::dw]
        cols = gnp.reshape(gnp.transpose(windows, (0, 1, 2, 4, 5, 3)),
                           (n * ho * wo, kh * kw * c))
        out = gnp.matmul(cols, wmat) if bias is None else gnp.matmul_add(cols, wmat, bias)
    return gnp.transpose(gnp.reshape(out, (n, ho, wo, f)), (0, 3, 1, 2))


# -- pooling ----------------------------------------------------------------------------------


def _pool_args(x, kernel_size, stride, padding, dilation, where):
    shape = _shape4(x, where)
    kh, kw = check_pair(kernel_size, "kernel_size", where)
    sh, sw = check_pair(kernel_size if stride is None else stride, "stride", where)
    ph, pw = check_pair(padding, "padding", where, low=0)
    dh, dw = check_pair(dilation, "dilation", where)
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if 2 * ph > eh or 2 * pw > ew:
        raise invalid(where, "padding", f"at most half the (dilated) kernel {(eh, ew)}", padding)
    if shape[2] + 2 * ph < eh or shape[3] + 2 * pw < ew:
        raise GradkitError(f"{where}: the kernel {(eh, ew)} is larger than the padded input "
                           f"{(shape[2] + 2 * ph, shape[3] + 2 * pw)}")
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw)


def _pool(x, reduce, kernel, stride, dilation):
    """Apply ``reduce(windows, axis=...)`` to every pooling window of (padded) NCHW ``x``."""
    n, c, hp, wp = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    ho, wo = (hp - eh) // sh + 1, (wp - ew) // sw + 1
    if (sh, sw) == (kh, kw) and (dh, dw) == (1, 1):
        # Non-overlapping tiles: crop, split each spatial axis in two (a view) and reduce.
        if (ho * kh, wo * kw) != (hp, wp):
            x = x[:, :, :ho * kh, :wo * kw]
        return reduce(gnp.reshape(x, (n, c, ho, kh, wo, kw)), axis=(3, 5))
    windows = gnp.sliding_window_view(x, (eh, ew), axis=(2, 3))  # (N, C, H', W', eh, ew)
    if (sh, sw, dh, dw) != (1, 1, 1, 1):
        windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]
    return reduce(windows, axis=(-2, -1))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """Maximum over ``kernel_size`` windows of NCHW ``x`` (PyTorch's ``max_pool2d``).

    ``stride`` defaults to ``kernel_size``; padding (at most half the kernel) counts as
    minus infinity. Where several entries of a window tie for the maximum, the gradient
    is shared equally between them (PyTorch gives it all to one).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import max_pool2d
    >>> x = np.array([[[[1.0, 2.0, 0.0], [4.0, 3.0, 5.0], [0.0, 1.0, 2.0]]]])
    >>> max_pool2d(x, 2, stride=1)[0, 0]
    array([[4., 5.],
           [4., 5.]])
    """
    kernel, stride, (ph, pw), dilation = _pool_args(x, kernel_size, stride, padding, dilation,
                                                    "nn.functional.max_pool2d")
    if ph or pw:
        dtype = np.dtype(x.dtype)
        low = -np.inf if dtype.kind == "f" else np.iinfo(dtype).min
        x = gnp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=low)
    return _pool(x, gnp.max, kernel, stride, dilation)


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Mean over ``kernel_size`` windows of NCHW ``x`` (PyTorch's ``avg_pool2d``).

    ``stride`` defaults to ``kernel_size``; padding is zeros, counted in the mean unless
    ``count_include_pad=False``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import avg_pool2d
    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    kernel, stride, (ph, pw), dilation = _pool_args(x, kernel_size, stride, padding, 1,
                                                    "nn.functional.avg_pool2d")
    if not (ph or pw):
        return _pool(x, gnp.mean, kernel, stride, dilation)
    xp = gnp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    if count_include_pad:
        return _pool(xp, gnp.mean, kernel, stride, dilation)
    h, w = x.shape[2:]
    ones = np.pad(np.ones((1, 1, h, w), dtype=np.dtype(x.dtype)), ((0, 0), (0, 0), (ph, ph),
                                                                  (pw, pw)))
    counts = _pool(ones, np.sum, kernel, stride, dilation)[0, 0]
    return _pool(xp, gnp.sum, kernel, stride, dilation) / counts


def global_avg_pool2d(x):
    """Mean over the spatial axes of NCHW ``x``: shape (N, C).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import global_avg_pool2d
    >>> global_avg_pool2d(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[1.5, 5.5]])
    """
    _shape4(x, "nn.functional.global_avg_pool2d")
    return gnp.mean(x, axis=(2, 3))


def flatten(x, start_dim: int = 1, end_dim: int = -1):
    """Merge axes ``start_dim`` to ``end_dim`` (inclusive) into one.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import flatten
    >>> flatten(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """
    shape = tuple(x.shape)
    nd = len(shape)
    s, e = start_dim % nd if nd else 0, end_dim % nd if nd else 0
    if s > e:
        raise invalid("nn.functional.flatten", "start_dim",
                      f"an axis at or before end_dim={end_dim} for shape {shape}", start_dim)
    return gnp.reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


# -- regularisation and lookup ----------------------------------------------------------------


def dropout(x, p: float, rng: np.random.Generator, training: bool = True):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The identity when ``training`` is False or ``p == 0``. The mask is drawn from
    ``rng`` (in float32 for float32 inputs), so a seeded generator repeats it exactly.
    Inside :func:`gradkit.vmap` each example gets its own mask (torch.func's
    ``randomness="different"``).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import dropout
    >>> y = dropout(np.ones(8), 0.5, np.random.default_rng(0))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    """
    if type(p) is not float or not 0.0 <= p <= 1.0:   # the common case costs one test
        p = check_real(p, "p", "nn.functional.dropout", low=0.0, high=1.0)
    if not training or p == 0.0:
        return x
    dtype = np.dtype(x.dtype)
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=dtype)
    draw = np.float32 if dtype.itemsize <= 4 else np.float64
    if holds_batch(x):  # inside vmap: an independent mask per example
        keep = rng.random(plain(x).shape, dtype=draw) >= p
        return x * rebatch(keep.astype(dtype) * (1.0 / (1.0 - p)), x)
    keep = rng.random(tuple(x.shape), dtype=draw) >= p
    return x * (keep.astype(dtype) * (1.0 / (1.0 - p)))


def embedding(indices, weight):
    """Rows of ``weight`` (shape ``(num_embeddings, dim)``) picked by integer ``indices``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import embedding
    >>> embedding(np.array([[2, 0]]), np.arange(6.0).reshape(3, 2))
    array([[[4., 5.],
            [0., 1.]]])
    """
    idx = np.asarray(indices.numpy() if hasattr(indices, "numpy") else indices)
    if idx.dtype.kind not in "iu":
        raise invalid("nn.functional.embedding", "indices", "an integer array", idx)
    num = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise invalid("nn.functional.embedding", "indices", f"in [0, {num})",
                      got=f"values from {idx.min()} to {idx.max()}")
    return gnp.take(weight, idx, axis=0)


# -- activations --------------------------------------------------------------------------------


def leaky_relu(x, negative_slope: float = 0.01):
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import leaky_relu
    >>> leaky_relu(np.array([-2.0, 3.0]), 0.1)
    array([-0.2,  3. ])
    """
    return _leaky_relu(x, float(negative_slope))


def _leaky_relu_fwd(x, slope):
    # max/min with the scaled input, not where(): NumPy's where on an unpredictable mask
    # measured 5 times slower (180 against 34 microseconds on 256 x 128 float32).
    return xp.maximum(x, x * slope) if slope <= 1.0 else xp.minimum(x, x * slope)


# The derivative is slope + (1 - slope) [x > 0]: products with the mask keep the dtype.
_leaky_relu = defprimitive(_leaky_relu_fwd, "leaky_relu",
                           lambda g, ans, x, slope: g * slope + (g * (x > 0)) * (1.0 - slope))


def elu(x, alpha: float = 1.0):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere (no overflow for large x).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import elu
    >>> elu(np.array([-1000.0, 0.0, 1000.0]))
    array([  -1.,    0., 1000.])
    """
    positive = x > 0
    return gnp.where(positive, x, gnp.expm1(gnp.where(positive, 0.0, x)) * alpha)


def gelu(x):
    """Gaussian error linear unit, tanh approximation (PyTorch's ``approximate='tanh'``).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import gelu
    >>> gelu(np.array([-10.0, 0.0, 10.0]))
    array([-0.,  0., 10.])
    """
    return 0.5 * x * (1.0 + gnp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


def silu(x):
    """``x * sigmoid(x)`` (also called swish).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.functional import silu
    >>> silu(np.array([0.0, 1000.0]))
    array([   0., 1000.])
    """
    return x * gnp.sigmoid(x)
