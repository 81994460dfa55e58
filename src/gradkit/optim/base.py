"""The optimiser protocol, functional at heart, with a PyTorch-style binding on top.

An optimiser is built without parameters and holds only hyperparameters. Everything
that changes from step to step lives in a *state*, a pytree of arrays:

>>> import numpy as np
>>> from gradkit.optim import SGD
>>> opt = SGD(lr=0.1, momentum=0.9)
>>> params = {"w": np.array([1.0, -2.0])}
>>> state = opt.init(params)
>>> sorted(state)
['momentum', 'step']
>>> params, state = opt.update({"w": np.array([1.0, 1.0])}, state, params)
>>> params["w"], int(state["step"])
(array([ 0.9, -2.1]), 1)

``update`` is pure: it returns new parameters and a new state and never writes into its
arguments. ``bind`` wraps the same optimiser around tensors that ``.backward()`` fills
(a Module's parameters, or a list or dict of :class:`~gradkit.Tensor`) for the PyTorch
way: ``loss.backward(); bound.step(); bound.zero_grad()``.

Steps are counted from 0: ``state["step"]`` is the number of updates already made, a
schedule is called with it, and an error raised during an update names it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from ..backend import xp
from ..errors import GradkitError, NaNError
from ..graph import Tensor, raw
from ..tree import tree_flatten, tree_unflatten
from ..validation import check_callable, check_real, describe, float_leaves, invalid, real_value
from .clip import _clip_leaves_by_norm, _clip_leaves_by_value

__all__ = ["Optimizer", "ClosureOptimizer", "BoundOptimizer", "Transform", "PyTree",
           "LearningRate"]

PyTree = Any
LearningRate = float | Callable[[int], float]


# -- the learning rate ----------------------------------------------------------------------


def check_lr(lr, owner: str) -> LearningRate:
    """A learning rate: a non-negative number or a schedule ``step -> lr``."""
    if callable(lr):
        return lr
    if real_value(lr) is None:
        raise invalid(owner, "lr", "a non-negative number or a schedule step -> lr", lr)
    return check_real(lr, "lr", owner, low=0.0)


def lr_at(lr: LearningRate, step: int, owner: str) -> float:
    """The learning rate for ``step``, checked when it comes from a schedule."""
    if not callable(lr):
        return lr
    value = lr(step)
    v = real_value(value)
    if v is None or not (math.isfinite(v) and v >= 0):
        raise invalid(owner, "lr", "a finite non-negative number",
                      got=f"{describe(value)} from the schedule at step {step}")
    return v


# -- pytrees of arrays ---------------------------------------------------------------------


class _Shown:
    """A leaf stand-in whose repr is its dtype and shape, for structure messages."""

    def __init__(self, x):
        a = raw(x)
        self.text = (f"{xp.result_type(a)}{list(xp.shape(a))}"
                     if isinstance(a, xp.ndarray | xp.generic | float | int) else type(a).__name__)

    def __repr__(self) -> str:
        return self.text


def describe_tree(tree) -> str:
    """The structure of ``tree`` with each leaf shown as ``dtype[shape]`` (shortened)."""
    leaves, treedef = tree_flatten(tree)
    text = repr(tree_unflatten(treedef, [_Shown(x) for x in leaves]))
    return text if len(text) <= 160 else text[:157] + "..."


def grad_leaves(grads, params, p_leaves: list, treedef, owner: str, step: int | None) -> list:
    """Leaves of ``grads`` checked against the parameters: structure, shapes, finiteness.

    Each gradient is cast to its parameter's dtype. A NaN or inf raises
    :class:`~gradkit.NaNError` naming the step, before anything is updated (no check
    when ``step`` is None).
    """
    leaves, gdef = tree_flatten(grads)
    if gdef != treedef:
        raise GradkitError(f"{owner}: grads and params have different pytree structures: "
                           f"grads is {describe_tree(grads)}, params is {describe_tree(params)}")
    out = []
    for i, (g, p) in enumerate(zip(leaves, p_leaves)):
        a = xp.asarray(raw(g))
        if a.dtype.kind not in "fiub":
            raise GradkitError(f"{owner}: grads leaf {i} has dtype {a.dtype}; gradients must "
                               f"be real arrays")
        if a.shape != p.shape:
            raise GradkitError(f"{owner}: grads leaf {i} has shape {a.shape}, params leaf {i} "
                               f"has shape {p.shape}")
        a = a.astype(p.dtype, copy=False)
        if step is not None and not xp.isfinite(a).all():
            n_nan = int(xp.count_nonzero(xp.isnan(a)))
            n_inf = int(xp.count_nonzero(xp.isinf(a)))
            raise NaNError(f"{owner}: the gradient is not finite at step {step} (grads leaf {i}"
                           f" of shape {a.shape} has {n_nan} NaN and {n_inf} inf); the "
                           f"parameters were not updated")
        out.append(a)
    return out


def _refuse_overflow(squares, name: str, owner: str, step: int, i: int, g) -> None:
    """A sum of squared gradients that overflowed to inf would stop the parameter (a step
    of m / inf = 0), or make it NaN: raise instead, before anything is updated."""
    if xp.size(squares) and not math.isfinite(xp.max(squares)):
        raise NaNError(f"{owner}: the squared gradients {name!r} overflowed at step {step} "
                       f"(grads leaf {i}: largest |g| {float(xp.max(xp.abs(g))):.3g}); the "
                       f"parameters were not updated. Scale the loss down, or clip the "
                       f"gradients (clip_norm=...)")


def check_projected(projected, treedef, p_leaves: list, owner: str) -> list:
    """Leaves returned by a ``project`` callable, checked and cast to the parameter dtypes."""
    leaves, pdef = tree_flatten(projected)
    if pdef != treedef:
        params = tree_unflatten(treedef, p_leaves)
        raise GradkitError(f"{owner}: project returned the structure "
                           f"{describe_tree(projected)}, the parameters have "
                           f"{describe_tree(params)}")
    out = []
    for i, (x, p) in enumerate(zip(leaves, p_leaves)):
        a = xp.asarray(raw(x))
        if a.shape != p.shape:
            raise GradkitError(f"{owner}: project returned shape {a.shape} for params leaf {i},"
                               f" which has shape {p.shape}")
        out.append(a.astype(p.dtype, copy=False))
    return out


# -- transforms: the stateless stages around an optimiser's update ------------------------


class Transform:
    """A stateless stage of an optimiser chain (see :func:`gradkit.optim.chain`).

    It follows the optimiser protocol: ``init(params)`` gives its state (always ``{}``)
    and ``update(tree, state, params)`` returns the transformed tree and the state,
    ``params`` being the parameters before the step. ``stage`` says where it goes:
    ``"grads"`` transforms (clipping) map the gradients before the optimiser's update,
    ``"params"`` transforms (projection) map the new parameters after it.

    Made by :func:`~gradkit.optim.clip_value`, :func:`~gradkit.optim.clip_norm` and
    :func:`~gradkit.optim.project`; the optimisers' ``clip_value=``, ``clip_norm=`` and
    ``project=`` arguments build the same transforms.
    """

    stage = "grads"
    name = "transform"

    def init(self, params: PyTree) -> dict:
        """The state: ``{}`` (transforms keep none)."""
        float_leaves(params, "params", f"{self.name}.init")
        return {}

    def update(self, tree: PyTree, state: dict, params: PyTree) -> tuple[PyTree, dict]:
        """The transformed gradients (or new parameters), with the state unchanged."""
        owner = f"{self.name}.update"
        p_leaves, treedef = float_leaves(params, "params", owner)
        if self.stage == "params":
            return tree_unflatten(treedef, self.apply_params(tree, treedef, p_leaves,
                                                             owner)), state
        g_leaves = grad_leaves(tree, params, p_leaves, treedef, owner, None)
        if not all(xp.isfinite(g).all() for g in g_leaves):
            raise NaNError(f"{owner}: the gradient is not finite (NaN or inf); there is "
                           f"nothing to clip")
        return tree_unflatten(treedef, self.apply_grads(g_leaves)), state

    def apply_grads(self, leaves: list) -> list:
        """Gradient leaves (in the parameters' dtypes) to transformed leaves."""
        raise NotImplementedError

    def apply_params(self, new_params: PyTree, treedef, p_leaves: list, owner: str) -> list:
        """New parameters to the leaves of the transformed ones."""
        raise NotImplementedError


class _ClipValue(Transform):
    name = "clip_value"

    def __init__(self, max_value: float):
        self.max_value = check_real(max_value, "max_value", self.name, low=0.0, low_open=True)

    def apply_grads(self, leaves: list) -> list:
        return _clip_leaves_by_value(leaves, self.max_value)

    def __repr__(self) -> str:
        return f"clip_value({self.max_value!r})"


class _ClipNorm(Transform):
    name = "clip_norm"

    def __init__(self, max_norm: float):
        self.max_norm = check_real(max_norm, "max_norm", self.name, low=0.0, low_open=True)

    def apply_grads(self, leaves: list) -> list:
        return _clip_leaves_by_norm(leaves, self.max_norm)

    def __repr__(self) -> str:
        return f"clip_norm({self.max_norm!r})"


class _Project(Transform):
    stage = "params"
    name = "project"

    def __init__(self, fn: Callable[[PyTree], PyTree]):
        self.fn = check_callable(fn, "fn", self.name, what="a callable params -> params")

    def apply_params(self, new_params, treedef, p_leaves: list, owner: str) -> list:
        return check_projected(self.fn(new_params), treedef, p_leaves, owner)

    def __repr__(self) -> str:
        return f"project({getattr(self.fn, '__name__', None) or repr(self.fn)})"


# -- the protocol ---------------------------------------------------------------------------


class Optimizer:
    """Base class of the first-order optimisers: ``init``, ``update`` and ``bind``.

    A subclass names its per-parameter state arrays in ``slots`` and implements
    ``_leaf_update``, the update of one parameter array. Everything else (pytrees,
    checks, schedules, clipping, projection) is done here, once.

    Parameters
    ----------
    lr : float or callable
        The learning rate, or a schedule ``step -> lr`` called with the number of updates
        already made (see :mod:`gradkit.optim.schedules`).
    clip_norm : float, optional
        Rescale the whole gradient pytree so that its global 2-norm is at most this,
        before the update (as :func:`~gradkit.optim.clip_by_global_norm`).
    clip_value : float, optional
        Clip every gradient component to ``[-clip_value, clip_value]`` before the update
        (and before ``clip_norm`` when both are given).
    project : callable, optional
        ``params -> params``, applied to the whole parameter pytree after each update:
        projected gradient descent for constrained problems, e.g.
        :func:`~gradkit.optim.project_simplex`.
    """

    slots: tuple[str, ...] = ()
    squares: tuple[str, ...] = ()  # slots accumulating squared gradients: may overflow
    needs_closure = False

    def __init__(self, lr: LearningRate, *, clip_norm: float | None = None,
                 clip_value: float | None = None,
                 project: Callable[[PyTree], PyTree] | None = None):
        name = type(self).__name__
        self.lr = check_lr(lr, name)
        self.clip_norm = (None if clip_norm is None else
                          check_real(clip_norm, "clip_norm", name, low=0.0, low_open=True))
        self.clip_value = (None if clip_value is None else
                           check_real(clip_value, "clip_value", name, low=0.0, low_open=True))
        self.project = (None if project is None else
                        check_callable(project, "project", name,
                                       what="a callable params -> params"))
        # The flags are shorthands for chain(clip_value(.), clip_norm(.), self, project(.)):
        # the same transforms, applied inside update so that the state stays this one's.
        self._before = tuple(t for t in (
            None if clip_value is None else _ClipValue(self.clip_value),
            None if clip_norm is None else _ClipNorm(self.clip_norm)) if t is not None)
        self._after = () if project is None else (_Project(project),)

    # -- what subclasses provide ----------------------------------------------------------
    def _slot_init(self, name: str, p):
        """The initial value of state slot ``name`` for parameter array ``p``."""
        return xp.zeros_like(p)

    def _leaf_update(self, g, p, slots: dict, lr: float, t: int) -> tuple:
        """New value of one parameter array and of its slots; ``t`` counts from 1."""
        raise NotImplementedError

    def _hyper(self) -> dict:
        return {}

    # -- the functional API -----------------------------------------------------------------
    def init(self, params: PyTree) -> dict:
        """The initial state for ``params``: a dict of arrays, checkpointable as they are.

        Parameters
        ----------
        params : pytree of float arrays
            Nested lists, tuples and dicts of arrays (the parameters' values).

        Returns
        -------
        dict
            ``"step"`` (a 0-d int64 array) and one pytree like ``params`` per state slot
            (momentum, moment estimates...), in the parameters' dtypes.
        """
        owner = f"{type(self).__name__}.init"
        leaves, treedef = float_leaves(params, "params", owner)
        state = {"step": xp.asarray(0, dtype=xp.int64)}
        for name in self.slots:
            state[name] = tree_unflatten(treedef, [self._slot_init(name, p) for p in leaves])
        return state

    def _read_state(self, state, treedef, p_leaves: list, owner: str) -> tuple[int, dict]:
        expected = ["step", *self.slots]
        if not isinstance(state, dict) or any(k not in state for k in expected):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise GradkitError(f"{owner}: state must be the dict made by "
                               f"{type(self).__name__}.init, with keys {expected}, got {got}")
        step_arr = xp.asarray(raw(state["step"]))
        if step_arr.shape != () or step_arr.dtype.kind not in "iu" or int(step_arr) < 0:
            raise GradkitError(f"{owner}: state['step'] must be a non-negative 0-d integer "
                               f"array, got {state['step']!r}")
        slots = {}
        for name in self.slots:
            leaves, sdef = tree_flatten(state[name])
            if sdef != treedef:
                raise GradkitError(f"{owner}: state[{name!r}] has the structure "
                                   f"{describe_tree(state[name])}, the params have "
                                   f"{describe_tree(tree_unflatten(treedef, p_leaves))}")
            arrays = []
            for i, (s, p) in enumerate(zip(leaves, p_leaves)):
                a = xp.asarray(raw(s))
                if a.shape != p.shape:
                    raise GradkitError(f"{owner}: state[{name!r}] leaf {i} has shape {a.shape}"
                                       f", params leaf {i} has shape {p.shape}")
                arrays.append(a)
            slots[name] = arrays
        return int(step_arr), slots

    def update(self, grads: PyTree, state: dict, params: PyTree) -> tuple[PyTree, dict]:
        """One step: new parameters and new state, from the gradients at ``params``.

        Parameters
        ----------
        grads : pytree of arrays
            The gradient of the loss at ``params``, with the same structure and shapes.
        state : dict
            The state from :meth:`init` or from the previous ``update``.
        params : pytree of float arrays
            The current parameters.

        Returns
        -------
        params, state
            The updated parameters (same structure and dtypes) and state. The arguments
            are not modified.

        Raises
        ------
        gradkit.NaNError
            A gradient holds a NaN or an inf; the message names the step.
        gradkit.GradkitError
            Mismatched structures or shapes between ``grads``, ``state`` and ``params``.
        """
        owner = f"{type(self).__name__}.update"
        p_leaves, treedef = float_leaves(params, "params", owner)
        step, slots = self._read_state(state, treedef, p_leaves, owner)
        g_leaves = grad_leaves(grads, params, p_leaves, treedef, owner, step)
        for t in self._before:
            g_leaves = t.apply_grads(g_leaves)
        lr = lr_at(self.lr, step, owner)
        new_p = []
        new_slots: dict = {name: [] for name in self.slots}
        # an overflow of the squared gradients is refused below, with a clearer message
        quiet = xp.errstate(over="ignore", invalid="ignore") if self.squares else nullcontext()
        with quiet:
            for i, (g, p) in enumerate(zip(g_leaves, p_leaves)):
                mine = {name: slots[name][i] for name in self.slots}
                p_i, s_i = self._leaf_update(g, p, mine, lr, step + 1)
                for name in self.squares:
                    _refuse_overflow(s_i[name], name, owner, step + 1, i, g)
                # asarray, not astype: arithmetic on a 0-d array gives a NumPy scalar.
                new_p.append(xp.asarray(p_i, dtype=p.dtype))
                for name in self.slots:
                    new_slots[name].append(xp.asarray(s_i[name], dtype=p.dtype))
        out = tree_unflatten(treedef, new_p)
        for t in self._after:
            out = tree_unflatten(treedef, t.apply_params(out, treedef, p_leaves, owner))
        new_state = {"step": xp.asarray(step + 1, dtype=xp.int64)}
        for name in self.slots:
            new_state[name] = tree_unflatten(treedef, new_slots[name])
        return out, new_state

    def bind(self, target) -> BoundOptimizer:
        """This optimiser applied in place to tensors, the PyTorch way.

        Parameters
        ----------
        target : Module, Tensor, or pytree of Tensor
            An object with a ``parameters()`` method returning tensors (a
            ``gradkit.nn`` Module), or a list, tuple or dict of leaf tensors created with
            ``requires_grad=True``.

        Returns
        -------
        BoundOptimizer
            With ``step()``, ``zero_grad()`` and the ``state`` pytree.

        Examples
        --------
        >>> import gradkit as gk
        >>> from gradkit.optim import SGD
        >>> w = gk.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = SGD(lr=0.25).bind([w])
        >>> loss = (w * w).sum()
        >>> loss.backward()
        >>> opt.step()
        >>> opt.zero_grad()
        >>> w
        Tensor([0.5, 1. ], requires_grad=True)
        """
        return BoundOptimizer(self, target)

    def __repr__(self) -> str:
        parts = [f"lr={self.lr!r}"] + [f"{k}={v!r}" for k, v in self._hyper().items()]
        for k in ("clip_norm", "clip_value", "project"):
            v = getattr(self, k)
            if v is not None:
                parts.append(f"{k}={getattr(v, '__name__', None) or repr(v)}")
        return f"{type(self).__name__}({', '.join(parts)})"


class ClosureOptimizer:
    """Base class of the optimisers that evaluate the loss themselves (:class:`LBFGS`).

    A line search needs function values at trial points, not only the gradient at the
    current parameters, so these optimisers take the function as well. The protocol:

    * ``init(params)`` gives the state, a dict of arrays, as for :class:`Optimizer`;
    * ``update(grads, state, params, *, value_and_grad, value=None)`` makes one step,
      calling ``value_and_grad(params) -> (value, grads)`` where it needs to;
    * ``step_with_closure(value_and_grad, state, params)`` makes one step from the
      function alone and returns ``(value, params, state)``, ``value`` the loss at the
      parameters before the step. This is the functional form of PyTorch's
      ``step(closure)``; the default evaluates ``value_and_grad(params)`` once and calls
      ``update`` (a subclass may reuse values cached in its state);
    * ``bind(target)`` gives a :class:`BoundOptimizer` whose ``step(closure)`` turns the
      closure into ``value_and_grad`` (write the trial parameters into the tensors, clear
      their gradients, call the closure, read the gradients) and calls
      ``step_with_closure``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit as gk
    >>> from gradkit.optim import LBFGS, ClosureOptimizer
    >>> opt = LBFGS()
    >>> isinstance(opt, ClosureOptimizer)
    True
    >>> vg = gk.value_and_grad(lambda x: ((x - 1.0) ** 2).sum())
    >>> x = np.zeros(2)
    >>> value, x, state = opt.step_with_closure(vg, opt.init(x), x)
    >>> value, int(state["step"])          # the loss before the step
    (2.0, 1)
    """

    slots: tuple[str, ...] = ()
    needs_closure = True       # the flag older code tested; isinstance is the way now

    def init(self, params: PyTree) -> dict:
        """The initial state for ``params``."""
        raise NotImplementedError

    def update(self, grads: PyTree | None, state: dict, params: PyTree, *,
               value_and_grad: Callable[[PyTree], tuple] | None = None,
               value: float | None = None) -> tuple[PyTree, dict]:
        """One step; ``value_and_grad`` is called at the points the method needs."""
        raise NotImplementedError

    def step_with_closure(self, value_and_grad: Callable[[PyTree], tuple], state: dict,
                          params: PyTree) -> tuple[float, PyTree, dict]:
        """One step from the function alone: the value at ``params``, new params and state.

        Parameters
        ----------
        value_and_grad : callable
            ``params -> (value, grads)``, e.g. ``gradkit.value_and_grad(loss)``.
        state : dict
            From :meth:`init` or the previous step.
        params : pytree of float arrays
            The current parameters.

        Returns
        -------
        value, params, state
            The loss at the given parameters (before the step, as PyTorch's
            ``step(closure)`` returns), the new parameters and the new state.
        """
        value, grads = value_and_grad(params)
        value = float(xp.asarray(raw(value)).reshape(()))
        new_params, new_state = self.update(grads, state, params,
                                            value_and_grad=value_and_grad, value=value)
        return value, new_params, new_state

    def bind(self, target) -> BoundOptimizer:
        """This optimiser applied in place to tensors: ``step(closure)`` makes one step."""
        return BoundOptimizer(self, target)


# -- the PyTorch-style binding ----------------------------------------------------------------


def _bound_tensors(target, owner: str) -> tuple[list, object]:
    params = target.parameters() if callable(getattr(target, "parameters", None)) else target
    if not isinstance(params, list | tuple | dict | Tensor):
        params = list(params)  # a generator of parameters
    leaves, treedef = tree_flatten(params)
    if not leaves:
        raise GradkitError(f"{owner}: there are no parameters to optimise")
    seen = set()
    for i, t in enumerate(leaves):
        if type(t) is not Tensor or not t.requires_grad or not t.is_leaf:
            kind = type(t).__name__ if type(t) is not Tensor else (
                "tensor that does not require grad" if not t.requires_grad else
                "non-leaf tensor (the result of an operation)")
            raise GradkitError(f"{owner}: parameter {i} is a {kind}; bind needs leaf tensors "
                               f"created with requires_grad=True")
        if id(t) in seen:
            raise GradkitError(f"{owner}: parameter {i} appears more than once")
        seen.add(id(t))
    return leaves, treedef


class BoundOptimizer:
    """An optimiser bound to tensors: ``step()`` reads their ``.grad`` and updates them.

    Made by :meth:`Optimizer.bind`. The optimiser state is the pytree ``.state`` (assign
    a saved one to resume from a checkpoint). A tensor whose ``.grad`` is None at a step
    is skipped, its value and state unchanged, as in PyTorch (but the step count is
    shared: Adam's bias correction of a tensor first updated at step t uses t, not 1).

    Examples
    --------
    >>> import gradkit as gk
    >>> import gradkit.numpy as gnp
    >>> from gradkit.optim import Adam
    >>> w = gk.tensor([3.0, -1.0], requires_grad=True)
    >>> opt = Adam(lr=0.1).bind({"w": w})
    >>> for _ in range(300):
    ...     loss = gnp.sum((w - 1.0) ** 2)
    ...     loss.backward()
    ...     opt.step()
    ...     opt.zero_grad()
    >>> bool(gnp.allclose(w.numpy(), [1.0, 1.0], atol=1e-2)), int(opt.state["step"])
    (True, 300)
    """

    def __init__(self, optimizer, target):
        self.optimizer = optimizer
        self._owner = f"{type(optimizer).__name__}.bind"
        self._tensors, self._treedef = _bound_tensors(target, self._owner)
        self.state = optimizer.init(self._values())

    @property
    def params(self) -> PyTree:
        """The bound tensors, in the structure they were given."""
        return tree_unflatten(self._treedef, list(self._tensors))

    def _values(self) -> PyTree:
        return tree_unflatten(self._treedef, [t.data for t in self._tensors])

    def _grads(self, owner: str) -> tuple[PyTree, list]:
        grads = [t.grad for t in self._tensors]
        missing = [i for i, g in enumerate(grads) if g is None]
        if len(missing) == len(grads):
            raise GradkitError(f"{owner}: no parameter has a gradient; call loss.backward() "
                               f"before step()")
        arrays = [xp.zeros_like(t.data) if g is None else raw(g)
                  for t, g in zip(self._tensors, grads)]
        return tree_unflatten(self._treedef, arrays), missing

    def _write(self, new_params) -> None:
        for t, v in zip(self._tensors, tree_flatten(new_params)[0]):
            t.data = v

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every bound tensor from its ``.grad``.

        Parameters
        ----------
        closure : callable, optional
            Called first with no arguments; it recomputes the loss, calls
            ``.backward()`` on it and returns it. Required by a :class:`ClosureOptimizer`
            (:class:`~gradkit.optim.LBFGS`), which calls it once per function evaluation
            of its line search.

        Returns
        -------
        The closure's loss, or None without a closure.
        """
        owner = f"{type(self.optimizer).__name__}.step"
        if isinstance(self.optimizer, ClosureOptimizer):
            return self._closure_step(closure, owner)
        loss = closure() if closure is not None else None
        grads, missing = self._grads(owner)
        old_values = self._values()
        new_params, new_state = self.optimizer.update(grads, self.state, old_values)
        if missing:
            new_params, new_state = self._keep(missing, old_values, new_params, new_state)
        self._write(new_params)
        self.state = new_state
        return loss

    def _closure_step(self, closure, owner: str) -> float:
        """One step of a :class:`ClosureOptimizer`, the closure as its function."""
        if not callable(closure):
            raise GradkitError(f"{owner}: {type(self.optimizer).__name__} needs a closure: "
                               f"step(closure), where closure() recomputes the loss, calls "
                               f"loss.backward() and returns the loss")

        def value_and_grad(params):
            self._write(params)
            self.zero_grad()
            loss = closure()
            grads, _ = self._grads(owner)
            return float(xp.asarray(raw(loss)).reshape(())), grads

        value, new_params, self.state = self.optimizer.step_with_closure(
            value_and_grad, self.state, self._values())
        self._write(new_params)
        return value

    def _keep(self, missing: list, old_params, new_params, new_state) -> tuple:
        """Restore the parameters and per-parameter state of tensors without a gradient."""
        def restore(old, new):
            old_leaves, _ = tree_flatten(old)
            new_leaves, treedef = tree_flatten(new)
            for i in missing:
                new_leaves[i] = old_leaves[i]
            return tree_unflatten(treedef, new_leaves)

        state = dict(new_state)
        for name in getattr(self.optimizer, "slots", ()):
            state[name] = restore(self.state[name], new_state[name])
        return restore(old_params, new_params), state

    def zero_grad(self) -> None:
        """Clear the ``.grad`` of every bound tensor (set it to None)."""
        for t in self._tensors:
            t.grad = None

    def __repr__(self) -> str:
        return f"{self.optimizer!r}.bind({len(self._tensors)} tensors)"
