"""Clipping and projection as composable transforms around an optimiser (optax's ``chain``).

``chain(clip_norm(1.0), Adam(1e-3), project(project_nonnegative))`` clips the gradients,
makes Adam's update and projects the new parameters. A chain has the optimiser protocol
(``init``, ``update``, ``bind``), so it goes wherever an optimiser does. The optimisers'
``clip_value=``, ``clip_norm=`` and ``project=`` arguments are shorthands for the same
chain, with identical results::

    Adam(1e-3, clip_value=v, clip_norm=n, project=f)
    chain(clip_value(v), clip_norm(n), Adam(1e-3), project(f))

The transforms keep no state, so a chain's state is its optimiser's: checkpoints of the two
forms above are interchangeable.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import GradkitError
from ..validation import float_leaves
from .base import (
    BoundOptimizer,
    Optimizer,
    PyTree,
    Transform,
    _ClipNorm,
    _ClipValue,
    _Project,
    grad_leaves,
)

__all__ = ["Chain", "chain", "clip_norm", "clip_value", "project"]


def clip_value(max_value: float) -> Transform:
    """A transform clipping every gradient component to ``[-max_value, max_value]``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import clip_value
    >>> t = clip_value(1.0)
    >>> p = np.zeros(3)
    >>> t.update(np.array([-3.0, 0.5, 2.0]), t.init(p), p)
    (array([-1. ,  0.5,  1. ]), {})
    """
    return _ClipValue(max_value)


def clip_norm(max_norm: float) -> Transform:
    """A transform rescaling the gradient pytree to a global 2-norm of at most ``max_norm``.

    As :func:`~gradkit.optim.clip_by_global_norm`, with the gradients cast to the
    parameters' dtypes first.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import clip_norm
    >>> t = clip_norm(1.0)
    >>> p = [np.zeros(2), np.zeros(1)]
    >>> t.update([np.array([3.0, 0.0]), np.array([4.0])], t.init(p), p)[0]
    [array([0.6, 0. ]), array([0.8])]
    """
    return _ClipNorm(max_norm)


def project(fn: Callable[[PyTree], PyTree]) -> Transform:
    """A transform applying ``fn: params -> params`` to the new parameters after a step.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import project, project_nonnegative
    >>> t = project(project_nonnegative)
    >>> p = np.zeros(2)
    >>> t.update(np.array([-1.0, 2.0]), t.init(p), p)[0]
    array([0., 2.])
    """
    return _Project(fn)


class Chain:
    """Gradient transforms, one optimiser, then parameter transforms: see :func:`chain`."""

    def __init__(self, *stages):
        flat: list = []
        for s in stages:
            flat.extend(s.stages if isinstance(s, Chain) else [s])
        optimizers = [s for s in flat if isinstance(s, Optimizer)]
        for i, s in enumerate(flat):
            if not isinstance(s, Optimizer | Transform):
                hint = (" (LBFGS evaluates the loss itself and takes no transforms)"
                        if getattr(s, "needs_closure", False) else "")
                raise GradkitError(f"chain: stage {i} is {s!r}; a chain takes transforms "
                                   f"(clip_value, clip_norm, project) and one first-order "
                                   f"optimiser{hint}")
        if len(optimizers) != 1:
            raise GradkitError(f"chain: needs exactly one optimiser, got {len(optimizers)} in "
                               f"{flat!r}")
        k = flat.index(optimizers[0])
        for i, s in enumerate(flat):
            if i != k and s.stage != ("grads" if i < k else "params"):
                where = "before" if s.stage == "grads" else "after"
                raise GradkitError(f"chain: {s!r} transforms the {s.stage} and must come "
                                   f"{where} the optimiser {optimizers[0]!r}")
        self.stages = tuple(flat)
        self.optimizer = optimizers[0]
        self._before, self._after = self.stages[:k], self.stages[k + 1:]

    @property
    def slots(self) -> tuple[str, ...]:
        """The optimiser's state slots (the transforms keep no state)."""
        return self.optimizer.slots

    def init(self, params: PyTree) -> dict:
        """The optimiser's initial state for ``params``."""
        return self.optimizer.init(params)

    def update(self, grads: PyTree, state: dict, params: PyTree) -> tuple[PyTree, dict]:
        """One step: the gradient transforms, the optimiser's update, the parameter ones."""
        step = state.get("step") if isinstance(state, dict) else None
        if self._before and step is not None:  # a NaN gradient named by its step, first
            owner = f"{type(self.optimizer).__name__}.update (in a chain)"
            p_leaves, treedef = float_leaves(params, "params", owner)
            grad_leaves(grads, params, p_leaves, treedef, owner, int(step))
        for t in self._before:
            grads, _ = t.update(grads, {}, params)
        new_params, state = self.optimizer.update(grads, state, params)
        for t in self._after:
            new_params, _ = t.update(new_params, {}, params)
        return new_params, state

    def bind(self, target) -> BoundOptimizer:
        """This chain applied in place to tensors, as :meth:`Optimizer.bind`."""
        return BoundOptimizer(self, target)

    def __repr__(self) -> str:
        return f"chain({', '.join(repr(s) for s in self.stages)})"


def chain(*stages) -> Chain:
    """An optimiser made of gradient transforms, one optimiser and parameter transforms.

    Parameters
    ----------
    *stages : Transform or Optimizer
        In order: any gradient transforms (:func:`clip_value`, :func:`clip_norm`), applied
        to the gradients one after the other; exactly one first-order optimiser; any
        parameter transforms (:func:`project`), applied to its new parameters. Nested
        chains are flattened.

    Returns
    -------
    Chain
        With ``init``, ``update(grads, state, params)`` and ``bind``; its state is the
        optimiser's.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import SGD, chain, clip_norm, project, project_box
    >>> opt = chain(clip_norm(1.0), SGD(lr=1.0),
    ...             project(lambda p: project_box(p, lo=-0.5, hi=0.5)))
    >>> x = np.zeros(2)
    >>> x, state = opt.update(np.array([-3.0, 4.0]), opt.init(x), x)
    >>> x                                  # clipped to [-0.6, 0.8], then projected
    array([ 0.5, -0.5])
    """
    return Chain(*stages)
