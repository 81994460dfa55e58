"""Learning-rate schedules: callables ``step -> lr``.

A schedule is passed as an optimiser's ``lr`` (``Adam(lr=cosine(1e-3, 10_000))``) and is
called with the number of updates already made, so ``schedule(0)`` is the first step's
learning rate. Schedules accept an array of steps too and return an array, which is
handy for plotting. :func:`warmup` wraps any schedule (or any callable ``step -> lr``),
so they compose: ``warmup(cosine(1e-3, 9_000), 1_000)``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..backend import xp
from ..validation import check_int, check_real, invalid

__all__ = ["Schedule", "step_decay", "exponential_decay", "inverse_time", "cosine", "warmup"]


class Schedule:
    """A learning-rate schedule, vectorised over arrays of steps.

    Made by :func:`step_decay`, :func:`exponential_decay`, :func:`inverse_time`,
    :func:`cosine` and :func:`warmup`; ``fn`` maps a float64 array of steps to the
    learning rates.

    Examples
    --------
    >>> from gradkit.optim import Schedule
    >>> halving = Schedule(lambda s: 0.1 * 0.5 ** s, "halving")
    >>> halving(2), halving([0, 1])
    (0.025, array([0.1 , 0.05]))
    """

    def __init__(self, fn: Callable, description: str):
        self._fn = fn
        self._description = description

    def __call__(self, step):
        s = xp.asarray(step)
        if s.dtype.kind not in "iuf" or not xp.all(s >= 0):
            raise invalid(self._description, "step", "a non-negative number", step)
        out = xp.asarray(self._fn(s.astype(xp.float64)), dtype=xp.float64)
        return float(out) if out.ndim == 0 else out

    def __repr__(self) -> str:
        return self._description


def _fn_of(lr, owner: str) -> Callable:
    """A vectorised ``steps -> lrs`` from a number, a Schedule or any callable."""
    if isinstance(lr, Schedule):
        return lr._fn
    if callable(lr):
        def per_step(s):
            values = [float(lr(int(k))) for k in s.ravel()]
            return xp.asarray(values, dtype=xp.float64).reshape(s.shape)
        return per_step
    value = check_real(lr, "lr", owner, low=0.0)
    return lambda s: xp.full(s.shape, value)


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    ``lr * gamma ** (step // step_size)``, as ``torch.optim.lr_scheduler.StepLR``.

    Examples
    --------
    >>> from gradkit.optim import step_decay
    >>> step_decay(0.1, step_size=10, gamma=0.5)([0, 9, 10, 25])
    array([0.1  , 0.1  , 0.05 , 0.025])
    """
    owner = "step_decay"
    lr = check_real(lr, "lr", owner, low=0.0)
    step_size = check_int(step_size, "step_size", owner, low=1)
    gamma = check_real(gamma, "gamma", owner, low=0.0, high=1.0)
    return Schedule(lambda s: lr * gamma ** xp.floor(s / step_size),
                    f"step_decay(lr={lr!r}, step_size={step_size}, gamma={gamma!r})")


def exponential_decay(lr: float, gamma: float) -> Schedule:
    """Multiply the learning rate by ``gamma`` every step: ``lr * gamma ** step``.

    Examples
    --------
    >>> from gradkit.optim import exponential_decay
    >>> exponential_decay(1.0, 0.5)([0, 1, 2])
    array([1.  , 0.5 , 0.25])
    """
    owner = "exponential_decay"
    lr = check_real(lr, "lr", owner, low=0.0)
    gamma = check_real(gamma, "gamma", owner, low=0.0, high=1.0)
    return Schedule(lambda s: lr * gamma**s, f"exponential_decay(lr={lr!r}, gamma={gamma!r})")


def inverse_time(lr: float, decay_rate: float, power: float = 1.0) -> Schedule:
    """``lr / (1 + decay_rate * step) ** power``: the decay of stochastic approximation.

    ``power=1`` gives the classical ``1/t`` rate, ``power=0.5`` the ``1/sqrt(t)`` one.

    Examples
    --------
    >>> from gradkit.optim import inverse_time
    >>> inverse_time(1.0, decay_rate=0.5)([0, 2, 6])
    array([1.  , 0.5 , 0.25])
    """
    owner = "inverse_time"
    lr = check_real(lr, "lr", owner, low=0.0)
    decay_rate = check_real(decay_rate, "decay_rate", owner, low=0.0)
    power = check_real(power, "power", owner, low=0.0)
    return Schedule(lambda s: lr / (1 + decay_rate * s) ** power,
                    f"inverse_time(lr={lr!r}, decay_rate={decay_rate!r}, power={power!r})")


def cosine(lr: float, total_steps: int, final_lr: float = 0.0) -> Schedule:
    """Cosine decay from ``lr`` at step 0 to ``final_lr`` at ``total_steps``, then flat.

    ``final_lr + (lr - final_lr) * (1 + cos(pi * min(step, total_steps) / total_steps)) / 2``,
    as ``torch.optim.lr_scheduler.CosineAnnealingLR`` without restarts.

    Examples
    --------
    >>> from gradkit.optim import cosine
    >>> cosine(1.0, total_steps=4, final_lr=0.2)([0, 2, 4, 100])
    array([1. , 0.6, 0.2, 0.2])
    """
    owner = "cosine"
    lr = check_real(lr, "lr", owner, low=0.0)
    total_steps = check_int(total_steps, "total_steps", owner, low=1)
    final_lr = check_real(final_lr, "final_lr", owner, low=0.0)
    span = lr - final_lr

    def fn(s):
        return final_lr + span * 0.5 * (1 + xp.cos(xp.pi * xp.minimum(s, total_steps)
                                                   / total_steps))

    return Schedule(fn, f"cosine(lr={lr!r}, total_steps={total_steps}, final_lr={final_lr!r})")


def warmup(schedule: float | Callable[[int], float], warmup_steps: int) -> Schedule:
    """A linear warm-up of ``warmup_steps`` steps in front of ``schedule``.

    During the warm-up the learning rate rises linearly towards ``schedule(0)``:
    ``schedule(0) * (step + 1) / (warmup_steps + 1)`` for ``step < warmup_steps``.
    Then ``schedule`` runs from its own start: ``schedule(step - warmup_steps)``.

    Parameters
    ----------
    schedule : float or callable
        A constant learning rate, a :class:`Schedule`, or any callable ``step -> lr``.
    warmup_steps : int
        Length of the warm-up.

    Examples
    --------
    >>> from gradkit.optim import cosine, warmup
    >>> warmup(0.1, warmup_steps=4)([0, 1, 3, 4, 50])
    array([0.02, 0.04, 0.08, 0.1 , 0.1 ])
    >>> warmup(cosine(0.1, total_steps=10), warmup_steps=4)([3, 4, 9, 14])
    array([0.08, 0.1 , 0.05, 0.  ])
    """
    owner = "warmup"
    warmup_steps = check_int(warmup_steps, "warmup_steps", owner, low=1)
    base = _fn_of(schedule, owner)
    start = float(base(xp.zeros(())))

    def fn(s):
        ramp = start * (s + 1) / (warmup_steps + 1)
        return xp.where(s < warmup_steps, ramp, base(xp.maximum(s - warmup_steps, 0.0)))

    return Schedule(fn, f"warmup({schedule!r}, warmup_steps={warmup_steps})")
