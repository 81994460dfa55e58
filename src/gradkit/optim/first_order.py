"""First-order optimisers: SGD (momentum, Nesterov), Adam, AdamW, RMSprop, Adagrad.

The update rules are PyTorch's, so that hyperparameters carry over. Each one works on
every parameter array at once (no loop over elements) and in the parameter's dtype:
float32 parameters and their state stay float32.
"""

from __future__ import annotations

from collections.abc import Callable

from ..backend import xp
from ..errors import GradkitError
from ..validation import check_real, invalid
from .base import LearningRate, Optimizer, PyTree

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]

_Project = Callable[[PyTree], PyTree] | None


def _betas(betas, owner: str) -> tuple[float, float]:
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise invalid(owner, "betas", "a pair (beta1, beta2)", betas) from None
    return (check_real(b1, "betas[0]", owner, low=0.0, high=1.0, high_open=True),
            check_real(b2, "betas[1]", owner, low=0.0, high=1.0, high_open=True))


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 decay.

    With gradient ``g`` at parameters ``p`` and learning rate ``lr``::

        g = g + weight_decay * p
        buf = momentum * buf + g                  # buf starts at 0
        p = p - lr * (g + momentum * buf)         # nesterov=True
        p = p - lr * buf                          # otherwise

    which is PyTorch's ``torch.optim.SGD`` (with ``dampening=0``).

    Parameters
    ----------
    lr : float or callable, default 0.01
        Learning rate, or a schedule ``step -> lr``.
    momentum : float, default 0
        Heavy-ball momentum in ``[0, 1)``; 0 keeps no state besides the step count.
    nesterov : bool, default False
        Nesterov's momentum (needs ``momentum > 0``).
    weight_decay : float, default 0
        L2 penalty coefficient added to the gradient.
    clip_norm, clip_value, project
        See :class:`~gradkit.optim.Optimizer`.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import SGD
    >>> opt = SGD(lr=0.1, momentum=0.9, nesterov=True)
    >>> x = np.array([2.0, -1.0])
    >>> state = opt.init(x)
    >>> for _ in range(200):
    ...     x, state = opt.update(2 * x, state, x)    # gradient of sum(x ** 2)
    >>> bool(np.abs(x).max() < 1e-8)
    True
    """

    def __init__(self, lr: LearningRate = 1e-2, momentum: float = 0.0, *,
                 nesterov: bool = False, weight_decay: float = 0.0,
                 clip_norm: float | None = None, clip_value: float | None = None,
                 project: _Project = None):
        super().__init__(lr, clip_norm=clip_norm, clip_value=clip_value, project=project)
        self.momentum = check_real(momentum, "momentum", "SGD", low=0.0, high=1.0,
                                   high_open=True)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise GradkitError("SGD: nesterov=True needs momentum > 0")
        self.weight_decay = check_real(weight_decay, "weight_decay", "SGD", low=0.0)
        self.slots = ("momentum",) if self.momentum > 0 else ()

    def _hyper(self) -> dict:
        return {"momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _leaf_update(self, g, p, slots, lr, t):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if not self.slots:
            return p - lr * g, {}
        buf = self.momentum * slots["momentum"] + g
        d = g + self.momentum * buf if self.nesterov else buf
        return p - lr * d, {"momentum": buf}


class Adam(Optimizer):
    """Adam: steps scaled by running estimates of the gradient's first and second moments.

    With ``t`` the step number from 1::

        g = g + weight_decay * p                  # L2 penalty, as torch.optim.Adam
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        p = p - lr * (m / (1 - beta1 ** t)) / (sqrt(v / (1 - beta2 ** t)) + eps)

    Parameters
    ----------
    lr : float or callable, default 1e-3
        Learning rate, or a schedule ``step -> lr``.
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the moment estimates, each in ``[0, 1)``.
    eps : float, default 1e-8
        Added to the denominator.
    weight_decay : float, default 0
        L2 penalty added to the gradient (for decoupled decay use :class:`AdamW`).
    clip_norm, clip_value, project
        See :class:`~gradkit.optim.Optimizer`.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import Adam
    >>> opt = Adam(lr=0.1)
    >>> x = np.array([1.0, -1.0])
    >>> state = opt.init(x)
    >>> x, state = opt.update(np.array([100.0, -1.0]), state, x)
    >>> x                          # the first step is lr * sign(g), whatever g's scale
    array([ 0.9, -0.9])
    """

    slots = ("m", "v")
    squares = ("v",)

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *,
                 clip_norm: float | None = None, clip_value: float | None = None,
                 project: _Project = None):
        super().__init__(lr, clip_norm=clip_norm, clip_value=clip_value, project=project)
        name = type(self).__name__
        self.betas = _betas(betas, name)
        self.eps = check_real(eps, "eps", name, low=0.0, low_open=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", name, low=0.0)

    def _hyper(self) -> dict:
        return {"betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}

    def _moments(self, g, slots, lr, t):
        b1, b2 = self.betas
        m = b1 * slots["m"] + (1 - b1) * g
        v = b2 * slots["v"] + ((1 - b2) * g) * g  # g*g first overflows 1000x sooner
        c1 = 1 - b1**t
        c2 = 1 - b2**t
        step = (lr / c1) * m / (xp.sqrt(v) * (1 / c2**0.5) + self.eps)
        return step, {"m": m, "v": v}

    def _leaf_update(self, g, p, slots, lr, t):
        if self.weight_decay:
            g = g + self.weight_decay * p
        step, new = self._moments(g, slots, lr, t)
        return p - step, new


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    The decay shrinks the parameters directly, ``p = p * (1 - lr * weight_decay)``,
    before the Adam step, instead of entering the moment estimates as an L2 gradient.

    Parameters
    ----------
    lr : float or callable, default 1e-3
        Learning rate, or a schedule ``step -> lr`` (the decay follows it).
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the moment estimates.
    eps : float, default 1e-8
        Added to the denominator.
    weight_decay : float, default 0.01
        Decoupled decay coefficient.
    clip_norm, clip_value, project
        See :class:`~gradkit.optim.Optimizer`.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import AdamW
    >>> opt = AdamW(lr=0.1, weight_decay=0.5)
    >>> x = np.array([2.0])
    >>> x, _ = opt.update(np.array([0.0]), opt.init(x), x)   # zero gradient: decay only
    >>> x
    array([1.9])
    """

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, *,
                 clip_norm: float | None = None, clip_value: float | None = None,
                 project: _Project = None):
        super().__init__(lr, betas, eps, weight_decay, clip_norm=clip_norm,
                         clip_value=clip_value, project=project)

    def _leaf_update(self, g, p, slots, lr, t):
        if self.weight_decay:
            p = p * (1 - lr * self.weight_decay)
        step, new = self._moments(g, slots, lr, t)
        return p - step, new


class RMSprop(Optimizer):
    """RMSprop: steps scaled by a running root mean square of the gradient.

    As ``torch.optim.RMSprop``::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g ** 2
        mean = alpha * mean + (1 - alpha) * g     # centered=True only
        denom = sqrt(v - mean ** 2) + eps         # centered, else sqrt(v) + eps
        buf = momentum * buf + g / denom          # momentum > 0 only
        p = p - lr * buf                          # or p - lr * g / denom without momentum

    Parameters
    ----------
    lr : float or callable, default 0.01
        Learning rate, or a schedule ``step -> lr``.
    alpha : float, default 0.99
        Decay rate of the mean square, in ``[0, 1)``.
    eps : float, default 1e-8
        Added to the denominator.
    momentum : float, default 0
        Momentum in ``[0, 1)``.
    centered : bool, default False
        Normalise by an estimate of the gradient's variance instead of its mean square.
    weight_decay : float, default 0
        L2 penalty added to the gradient.
    clip_norm, clip_value, project
        See :class:`~gradkit.optim.Optimizer`.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import RMSprop
    >>> opt = RMSprop(lr=0.01, momentum=0.5, centered=True)
    >>> sorted(opt.init({"w": np.zeros(3)}))
    ['mean', 'momentum', 'step', 'v']
    """

    squares = ("v",)

    def __init__(self, lr: LearningRate = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, centered: bool = False, weight_decay: float = 0.0, *,
                 clip_norm: float | None = None, clip_value: float | None = None,
                 project: _Project = None):
        super().__init__(lr, clip_norm=clip_norm, clip_value=clip_value, project=project)
        self.alpha = check_real(alpha, "alpha", "RMSprop", low=0.0, high=1.0, high_open=True)
        self.eps = check_real(eps, "eps", "RMSprop", low=0.0, low_open=True)
        self.momentum = check_real(momentum, "momentum", "RMSprop", low=0.0, high=1.0,
                                   high_open=True)
        self.centered = bool(centered)
        self.weight_decay = check_real(weight_decay, "weight_decay", "RMSprop", low=0.0)
        self.slots = (("v",) + (("mean",) if self.centered else ())
                      + (("momentum",) if self.momentum > 0 else ()))

    def _hyper(self) -> dict:
        return {"alpha": self.alpha, "eps": self.eps, "momentum": self.momentum,
                "centered": self.centered, "weight_decay": self.weight_decay}

    def _leaf_update(self, g, p, slots, lr, t):
        if self.weight_decay:
            g = g + self.weight_decay * p
        a = self.alpha
        new = {"v": a * slots["v"] + ((1 - a) * g) * g}
        if self.centered:
            new["mean"] = a * slots["mean"] + (1 - a) * g
            # max(.., 0): rounding can make the variance estimate slightly negative.
            denom = xp.sqrt(xp.maximum(new["v"] - new["mean"] ** 2, 0)) + self.eps
        else:
            denom = xp.sqrt(new["v"]) + self.eps
        d = g / denom
        if self.momentum > 0:
            d = new["momentum"] = self.momentum * slots["momentum"] + d
        return p - lr * d, new


class Adagrad(Optimizer):
    """Adagrad: steps scaled by the root of the sum of all past squared gradients.

    As ``torch.optim.Adagrad``::

        g = g + weight_decay * p
        sum = sum + g ** 2                        # starts at initial_accumulator_value
        p = p - lr * g / (sqrt(sum) + eps)

    Parameters
    ----------
    lr : float or callable, default 0.01
        Learning rate, or a schedule ``step -> lr``.
    eps : float, default 1e-10
        Added to the denominator.
    initial_accumulator_value : float, default 0
        Starting value of the sum of squares.
    weight_decay : float, default 0
        L2 penalty added to the gradient.
    clip_norm, clip_value, project
        See :class:`~gradkit.optim.Optimizer`.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import Adagrad
    >>> opt = Adagrad(lr=0.5)
    >>> x = np.array([1.0])
    >>> state = opt.init(x)
    >>> x, state = opt.update(np.array([4.0]), state, x)
    >>> x, state["sum"]
    (array([0.5]), array([16.]))
    """

    slots = ("sum",)
    squares = ("sum",)

    def __init__(self, lr: LearningRate = 1e-2, eps: float = 1e-10,
                 initial_accumulator_value: float = 0.0, weight_decay: float = 0.0, *,
                 clip_norm: float | None = None, clip_value: float | None = None,
                 project: _Project = None):
        super().__init__(lr, clip_norm=clip_norm, clip_value=clip_value, project=project)
        self.eps = check_real(eps, "eps", "Adagrad", low=0.0, low_open=True)
        self.initial_accumulator_value = check_real(
            initial_accumulator_value, "initial_accumulator_value", "Adagrad", low=0.0)
        self.weight_decay = check_real(weight_decay, "weight_decay", "Adagrad", low=0.0)

    def _hyper(self) -> dict:
        return {"eps": self.eps, "initial_accumulator_value": self.initial_accumulator_value,
                "weight_decay": self.weight_decay}

    def _slot_init(self, name, p):
        return xp.full_like(p, self.initial_accumulator_value)

    def _leaf_update(self, g, p, slots, lr, t):
        if self.weight_decay:
            g = g + self.weight_decay * p
        s = slots["sum"] + g * g
        return p - lr * g / (xp.sqrt(s) + self.eps), {"sum": s}
