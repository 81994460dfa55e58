"""Data augmentation for the image recipes."""

from __future__ import annotations

import numpy as onp

from ... import nn
from ...errors import GradkitError
from ...graph import Tensor, carries_derivative, plain, rebatch

__all__ = ["RandomShift"]


class RandomShift(nn.Module):
    """Translate each input image by up to ``max_shift`` pixels in training mode.

    Each image of the batch is moved by its own offsets ``(dy, dx)``, drawn uniformly
    from ``{-max_shift, ..., max_shift}``, the uncovered border filled with zeros; in
    evaluation mode the layer is the identity. Like :class:`~gradkit.nn.Dropout` it
    declares ``stochastic = True``, so :func:`gradkit.nn.fit` lends it its generator:
    the shifts are reproducible and their state is in fit's checkpoints.

    It acts on the input arrays (images of shape ``(N, H*W)`` or ``(N, 1, H, W)``) and
    is not differentiated: put it first.

    Parameters
    ----------
    max_shift : int, default 1
    image_shape : (int, int), default (8, 8)
    rng : numpy.random.Generator or int, optional

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) + 1
    >>> shift = RandomShift(1, (4, 4), rng=0)
    >>> y = shift(x)
    >>> y.shape, bool(np.all(shift.eval()(x) == x))
    ((1, 1, 4, 4), True)
    """

    stochastic = True

    def __init__(self, max_shift: int = 1, image_shape: tuple[int, int] = (8, 8), *,
                 rng=None) -> None:
        super().__init__()
        if int(max_shift) < 0:
            raise GradkitError(f"RandomShift: max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)
        self.image_shape = (int(image_shape[0]), int(image_shape[1]))
        self.rng = nn.init.as_generator(rng)

    def forward(self, x):
        if not self.training or self.max_shift == 0:
            return x
        boxed = isinstance(x, Tensor)
        if boxed and carries_derivative(x):
            raise GradkitError("RandomShift: takes the input arrays, not a Tensor (it is "
                               "not differentiated; put it first)")
        # Under vmap (boxes of the batch only): every image of every example its own shift.
        value = plain(x) if boxed else onp.asarray(x)
        h, w = self.image_shape
        s, n = self.max_shift, value.size // (h * w)
        if value.ndim == 0 or value.size != n * h * w:
            raise GradkitError(f"RandomShift: expected images of {h}x{w} pixels, got input "
                               f"shape {value.shape}")
        padded = onp.pad(value.reshape(n, h, w), ((0, 0), (s, s), (s, s)))
        windows = onp.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(1, 2))
        dy, dx = self.rng.integers(0, 2 * s + 1, size=(2, n))
        out = windows[onp.arange(n), dy, dx].reshape(value.shape)
        return rebatch(out, x) if boxed else out

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}, image_shape={self.image_shape}"
