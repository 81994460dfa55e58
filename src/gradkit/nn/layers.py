"""Layers: modules wrapping :mod:`gradkit.nn.functional` with their parameters.

Weights use PyTorch's layouts and names (``weight`` of shape ``(out, in)`` or
``(out, in, kh, kw)``, ``bias``), so a PyTorch state dict converted to NumPy loads
as is. Layers with weights take ``rng`` (a :class:`numpy.random.Generator` or an int
seed; None draws fresh entropy), ``init`` (a name from :mod:`gradkit.nn.init` or a
callable ``(shape, rng, *, dtype)``) and ``dtype`` (float32 by default).

Examples
--------
>>> import numpy as np
>>> from gradkit import nn
>>> net = nn.Sequential(
...     nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.BatchNorm2d(4), nn.ReLU(),
...     nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1, rng=0), nn.Linear(4 * 4 * 4, 10, rng=1))
>>> net(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape
(2, 10)
"""

from __future__ import annotations

import numpy as np

from .. import numpy as gnp
from ..custom import stop_gradient
from ..errors import GradkitError
from ..validation import check_pair, check_real, invalid
from . import functional as F
from . import init as _init
from .module import Module, parameter

__all__ = ["Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten",
           "Dropout", "BatchNorm1d", "BatchNorm2d", "Embedding", "Identity", "ReLU",
           "LeakyReLU", "ELU", "GELU", "SiLU", "Tanh", "Sigmoid", "Softplus", "Softmax",
           "LogSoftmax"]


def _weights(shape, init, rng, dtype, call: str):
    dtype = _init._check_dtype(dtype, call)
    value = np.asarray(_init._initializer(init, call)(shape, _init._generator(rng, call),
                                                      dtype=dtype))
    if value.shape != tuple(shape):
        raise invalid(call, "init", f"an initialiser that returns the weight's shape "
                                    f"{tuple(shape)}", got=f"{init!r}, which returned shape "
                                                          f"{value.shape}")
    return parameter(value, dtype=dtype)


class Linear(Module):
    """``y = x @ weight.T + bias``, weight of shape ``(out_features, in_features)``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    rng : numpy.random.Generator or int, optional
        Seeds the weight initialiser.
    init : str or callable, default "he_uniform"
        The weight initialiser (see :mod:`gradkit.nn.init`); the bias starts at zero.
    dtype : default float32

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> lin = nn.Linear(3, 2, rng=0)
    >>> lin.weight.shape, lin.bias.shape, lin(np.ones((4, 3), np.float32)).shape
    ((2, 3), (2,), (4, 2))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, rng=None,
                 init="he_uniform", dtype=np.float32) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = _weights((self.out_features, self.in_features), init, rng, dtype,
                               "nn.Linear")
        self.bias = parameter(np.zeros(self.out_features, dtype)) if bias else None

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise GradkitError(f"nn.Linear: input has {x.shape[-1]} features (shape {x.shape}), "
                               f"the layer expects {self.in_features}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Conv2d(Module):
    """2-D convolution (cross-correlation, as PyTorch) of NCHW images.

    See :func:`gradkit.nn.functional.conv2d` for the computation (im2col with channels
    innermost and one GEMM forward; at stride 1, one primitive pair whose input gradient
    adds the ``kh*kw`` kernel offsets back with one small GEMM per offset).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, dilation : int or (int, int), default 1
    padding : int, (int, int), "valid" or "same", default 0
    bias : bool, default True
    rng, init, dtype
        As for :class:`Linear`.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> conv = nn.Conv2d(3, 8, 3, stride=2, padding=1, rng=0)
    >>> conv.weight.shape, conv(np.zeros((1, 3, 32, 32), np.float32)).shape
    ((8, 3, 3, 3), (1, 8, 16, 16))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True, *, rng=None, init="he_uniform",
                 dtype=np.float32) -> None:
        super().__init__()
        call = "nn.Conv2d"
        kh, kw = check_pair(kernel_size, "kernel_size", call)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = (kh, kw)
        self.stride = check_pair(stride, "stride", call)
        self.dilation = check_pair(dilation, "dilation", call)
        F._padding(padding, (kh, kw), self.dilation, self.stride, call)  # validate
        self.padding = padding
        self.weight = _weights((self.out_channels, self.in_channels, kh, kw), init, rng, dtype,
                               call)
        self.bias = parameter(np.zeros(self.out_channels, dtype)) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"bias={self.bias is not None}")


class MaxPool2d(Module):
    """Max pooling of NCHW images (see :func:`gradkit.nn.functional.max_pool2d`).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> nn.MaxPool2d(2)(np.zeros((1, 3, 7, 7))).shape
    (1, 3, 3, 3)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride
        self.padding, self.dilation = padding, dilation

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}")


class AvgPool2d(Module):
    """Average pooling of NCHW images (see :func:`gradkit.nn.functional.avg_pool2d`).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> nn.AvgPool2d(3, stride=1, padding=1)(np.ones((1, 1, 4, 4))).shape
    (1, 1, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, count_include_pad={self.count_include_pad}")


class GlobalAvgPool2d(Module):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> nn.GlobalAvgPool2d()(np.ones((2, 5, 3, 3))).shape
    (2, 5)
    """

    def forward(self, x):
        return F.global_avg_pool2d(x)


class Flatten(Module):
    """Merge axes ``start_dim`` to ``end_dim`` into one (default: all but the batch axis).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> nn.Flatten()(np.zeros((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Zero each element with probability ``p`` in training mode, scaling the rest by
    ``1 / (1 - p)``; the identity in evaluation mode.

    Parameters
    ----------
    p : float, default 0.5
    rng : numpy.random.Generator or int, optional
        Draws the masks. :func:`gradkit.nn.fit` replaces it, for the duration of the fit,
        by its own generator seeded with ``seed``, so that training is reproducible.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> drop = nn.Dropout(0.25, rng=0)
    >>> y = drop(np.ones((1000,), np.float32))
    >>> sorted(set(y.tolist())), y.dtype
    ([0.0, 1.3333333730697632], dtype('float32'))
    >>> drop.eval()(np.ones(3))
    array([1., 1., 1.])
    """

    stochastic = True  # fit()/Trainer lend their generator to modules that declare this

    def __init__(self, p: float = 0.5, *, rng=None) -> None:
        super().__init__()
        self.p = check_real(p, "p", "nn.Dropout", low=0.0, high=1.0)
        self.rng = _init._generator(rng, "nn.Dropout")

    def forward(self, x):
        return F.dropout(x, self.p, self.rng, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _BatchNorm(Module):
    _ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *,
                 dtype=np.float32) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = parameter(np.ones(self.num_features, dtype))
            self.bias = parameter(np.zeros(self.num_features, dtype))
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def forward(self, x):
        shape = tuple(x.shape)
        name = f"nn.{type(self).__name__}"
        if len(shape) not in self._ndims or shape[1] != self.num_features:
            raise GradkitError(f"{name}: input must have shape {self._expected()} with C = "
                               f"{self.num_features}, got shape {shape}")
        axes = (0,) + tuple(range(2, len(shape)))
        stat_shape = (1, self.num_features) + (1,) * (len(shape) - 2)
        if self.training or not self.track_running_stats:
            count = shape[0] * int(np.prod(shape[2:], dtype=np.int64))
            if self.training and count < 2:
                raise GradkitError(f"{name}: training needs more than one value per channel, "
                                   f"got input shape {shape}")
            mean = gnp.mean(x, axis=axes, keepdims=True)
            centred = x - mean
            var = gnp.mean(centred * centred, axis=axes, keepdims=True)
            y = centred / gnp.sqrt(var + self.eps)
            if self.training and self.track_running_stats:
                self._update_running(stop_gradient(mean), stop_gradient(var), count)
        else:
            mean = np.reshape(self.running_mean, stat_shape)
            scale = 1.0 / np.sqrt(np.reshape(self.running_var, stat_shape) + self.eps)
            y = (x - mean) * scale.astype(self.running_var.dtype, copy=False)
        if self.affine:
            y = y * gnp.reshape(self.weight, stat_shape) + gnp.reshape(self.bias, stat_shape)
        return y

    def _update_running(self, mean, var, count: int) -> None:
        self.num_batches_tracked = self.num_batches_tracked + 1
        m = self.momentum
        m = 1.0 / float(self.num_batches_tracked) if m is None else float(m)
        dtype = self.running_mean.dtype
        mean = np.reshape(mean, -1).astype(dtype)
        unbiased = np.reshape(var, -1).astype(dtype) * (count / (count - 1))
        self.running_mean = (1.0 - m) * self.running_mean + m * mean
        self.running_var = (1.0 - m) * self.running_var + m * unbiased

    def _expected(self) -> str:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over the batch (and length) axes of (N, C) or (N, C, L) input.

    Training mode normalises with the batch's mean and biased variance and updates the
    running statistics (``running = (1 - momentum) * running + momentum * batch``, the
    running variance unbiased; ``momentum=None`` gives a cumulative average); evaluation
    mode normalises with the running statistics. ``weight`` and ``bias`` (``affine``)
    scale and shift each channel.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> bn = nn.BatchNorm1d(2)
    >>> y = bn(np.array([[1.0, 10.0], [3.0, 30.0]], np.float32))
    >>> y.numpy().round(4)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    >>> bn.running_mean
    array([0.2, 2. ], dtype=float32)
    """

    _ndims = (2, 3)

    def _expected(self) -> str:
        return "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images over the batch and spatial axes.

    See :class:`BatchNorm1d` for the training and evaluation behaviour.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> bn = nn.BatchNorm2d(3).eval()
    >>> bool(np.allclose(bn(np.ones((2, 3, 4, 4), np.float32)).numpy(), 1.0, atol=1e-4))
    True
    """

    _ndims = (4,)

    def _expected(self) -> str:
        return "(N, C, H, W)"


class Embedding(Module):
    """A lookup table: integer indices of any shape -> rows of ``weight`` (num, dim).

    The weight starts as N(0, 1) samples, as in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> emb = nn.Embedding(10, 3, rng=0)
    >>> emb(np.array([[1, 2], [3, 4]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, rng=None, init="normal",
                 dtype=np.float32) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.weight = _weights((self.num_embeddings, self.embedding_dim), init, rng, dtype,
                               "nn.Embedding")

    def forward(self, indices):
        return F.embedding(indices, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


# -- activations ------------------------------------------------------------------------------


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, x):
        return x


class ReLU(Module):
    """``max(x, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> nn.ReLU()(np.array([-1.0, 2.0]))
    array([0., 2.])
    """

    def forward(self, x):
        return gnp.relu(x)


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """Gaussian error linear unit (tanh approximation)."""

    def forward(self, x):
        return F.gelu(x)


class SiLU(Module):
    """``x * sigmoid(x)``."""

    def forward(self, x):
        return F.silu(x)


class Tanh(Module):
    """Hyperbolic tangent."""

    def forward(self, x):
        return gnp.tanh(x)


class Sigmoid(Module):
    """Logistic function, stable for any input."""

    def forward(self, x):
        return gnp.sigmoid(x)


class Softplus(Module):
    """``log(1 + exp(x))``, stable for any input."""

    def forward(self, x):
        return gnp.softplus(x)


class Softmax(Module):
    """Softmax along ``axis`` (default the last)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return gnp.softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """Logarithm of the softmax along ``axis`` (default the last), computed stably."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return gnp.log_softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
