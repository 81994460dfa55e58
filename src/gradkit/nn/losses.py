"""Loss functions, computed stably from logits, differentiable to any order.

``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (per-example losses).

Examples
--------
>>> import numpy as np
>>> from gradkit import nn
>>> logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
>>> float(nn.cross_entropy(logits, np.array([0, 0])))     # no overflow, no warning
1000.0
>>> float(nn.binary_cross_entropy_with_logits(np.array([-1000.0]), np.array([1.0])))
1000.0
"""

from __future__ import annotations

import numpy as np

from .. import numpy as gnp
from .._rules import _shape
from ..errors import GradkitError
from ..graph import Tensor, plain, raw

__all__ = ["mse", "binary_cross_entropy_with_logits", "cross_entropy", "accuracy"]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss, reduction: str, where: str):
    if reduction == "mean":
        return gnp.mean(loss)
    if reduction == "sum":
        return gnp.sum(loss)
    if reduction == "none":
        return loss
    raise GradkitError(f"{where}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(a, b, where: str) -> None:
    if _shape(a) != _shape(b):
        raise GradkitError(f"{where}: predictions have shape {_shape(a)} but targets have "
                           f"shape {_shape(b)}")


def mse(pred, target, reduction: str = "mean"):
    """Mean squared error ``mean((pred - target) ** 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn import mse
    >>> float(mse(np.array([1.0, 2.0]), np.array([0.0, 4.0])))
    2.5
    """
    _same_shape(pred, target, "mse")
    d = pred - target
    return _reduce(d * d, reduction, "mse")


def binary_cross_entropy_with_logits(logits, target, reduction: str = "mean",
                                     pos_weight=None):
    """Binary cross-entropy of probabilities ``sigmoid(logits)`` against targets in [0, 1].

    Computed as ``softplus(z) - y * z`` (with ``pos_weight``, the positive term is
    weighted: ``(1 - y) * z + (1 + (pos_weight - 1) * y) * softplus(-z)``), which is exact
    for any logit: no ``log(0)``, no overflow, and the gradient is ``sigmoid(z) - y``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn import binary_cross_entropy_with_logits as bce
    >>> float(bce(np.array([0.0]), np.array([1.0])))  # log 2
    0.6931471805599453
    """
    where = "binary_cross_entropy_with_logits"
    _same_shape(logits, target, where)
    if pos_weight is None:
        loss = gnp.softplus(logits) - target * logits
    else:
        loss = (1.0 - target) * logits + (1.0 + (pos_weight - 1.0) * target) * gnp.softplus(
            -logits)
    return _reduce(loss, reduction, where)


def cross_entropy(logits, target, reduction: str = "mean", axis: int = -1,
                  label_smoothing: float = 0.0):
    """Softmax cross-entropy from logits, with integer labels or target probabilities.

    Parameters
    ----------
    logits : array or Tensor
        Unnormalised scores; classes along ``axis``.
    target : array
        Integer class labels with the shape of ``logits`` without ``axis``, or
        floating-point probabilities with the shape of ``logits``.
    reduction : {"mean", "sum", "none"}
    axis : int, default -1
        The class axis (PyTorch's is 1; for ``(N, K)`` logits they coincide).
    label_smoothing : float, default 0
        Mix the targets with the uniform distribution: ``(1 - s) * target + s / K``.

    Notes
    -----
    Uses ``log_softmax``, so logits of any size give finite losses and gradients
    (``softmax(z) - target``) without warnings.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn import cross_entropy
    >>> z = np.array([[2.0, 0.0, 0.0]])
    >>> round(float(cross_entropy(z, np.array([0]))), 6)
    0.239545
    >>> round(float(cross_entropy(z, np.array([[1.0, 0.0, 0.0]]))), 6)
    0.239545
    """
    where = "cross_entropy"
    zshape = _shape(logits)
    if not zshape:
        raise GradkitError(f"{where}: logits need a class axis, got a scalar")
    ax = axis % len(zshape)
    k = zshape[ax]
    if type(target) is Tensor:  # probabilities may be traced; labels never are
        t = target if target.dtype.kind == "f" else raw(target)
    else:
        t = np.asarray(target)
    logp = gnp.log_softmax(logits, axis=ax)
    if _shape(t) == zshape and np.dtype(t.dtype).kind == "f":
        probs = t
        if label_smoothing:
            probs = probs * (1.0 - label_smoothing) + label_smoothing / k
        loss = -gnp.sum(probs * logp, axis=ax)
    else:
        labels = t if type(t) is Tensor else np.asarray(t)  # a Tensor: batched by vmap
        expected = zshape[:ax] + zshape[ax + 1:]
        if labels.dtype.kind not in "iu" or tuple(labels.shape) != expected:
            raise GradkitError(
                f"{where}: target must be integer labels of shape {expected} or "
                f"probabilities of shape {zshape}; got dtype {labels.dtype}, shape "
                f"{tuple(labels.shape)}")
        values = plain(labels)  # the whole batch's: in range for all or refused
        if values.size and (values.min() < 0 or values.max() >= k):
            raise GradkitError(f"{where}: labels must be in [0, {k}), got values from "
                               f"{values.min()} to {values.max()}")
        picked = gnp.take_along_axis(logp, gnp.expand_dims(labels, ax), axis=ax)
        loss = -gnp.reshape(picked, expected)
        if label_smoothing:
            loss = loss * (1.0 - label_smoothing) - gnp.sum(logp, axis=ax) * (
                label_smoothing / k)
    return _reduce(loss, reduction, where)


def accuracy(logits, labels, axis: int = -1) -> float:
    """The fraction of rows whose largest logit is at the label (a metric, not a loss).

    ``labels`` may also be one-hot or probabilities (their argmax is used).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn import accuracy
    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
    0.5
    """
    z = np.asarray(raw(logits))
    y = np.asarray(raw(labels))
    if y.shape == z.shape and y.dtype.kind == "f":
        y = y.argmax(axis=axis)
    return float(np.mean(z.argmax(axis=axis) == y))
