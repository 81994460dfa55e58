"""Optimisers for gradkit: functional at heart, with a PyTorch-style binding.

An optimiser is built from hyperparameters only (``Adam(lr=1e-3)``, ``lr`` a number or a
schedule ``step -> lr``). Its state is a pytree of arrays, so it checkpoints like the
parameters::

    state = opt.init(params)
    params, state = opt.update(grads, state, params)     # any pytree of arrays

``opt.bind(module)`` (or a list or dict of tensors) gives the PyTorch way:
``loss.backward(); bound.step(); bound.zero_grad()``.

* First-order: :class:`SGD` (momentum, Nesterov, weight decay), :class:`Adam`,
  :class:`AdamW`, :class:`RMSprop`, :class:`Adagrad`, each with ``clip_norm=``,
  ``clip_value=`` and ``project=`` options.
* Transforms composed around an optimiser: ``chain(clip_norm(1.0), Adam(1e-3),
  project(project_nonnegative))`` (:func:`chain`, :func:`clip_value`, :func:`clip_norm`,
  :func:`project`); the options above are shorthands for the same chain.
* :class:`LBFGS` with a strong-Wolfe line search (:func:`strong_wolfe`):
  ``LBFGS().minimize(fun, x0)`` or one ``update`` at a time with ``value_and_grad=``. It
  is a :class:`ClosureOptimizer`: it evaluates the loss itself, so its bound ``step``
  takes a closure (``step_with_closure(value_and_grad, state, params)`` functionally).
* Schedules: :func:`step_decay`, :func:`exponential_decay`, :func:`inverse_time`,
  :func:`cosine`, :func:`warmup`.
* Clipping: :func:`global_norm`, :func:`clip_by_global_norm`, :func:`clip_by_value`.
* Projections: :func:`project_box`, :func:`project_nonnegative`, :func:`project_simplex`.

Examples
--------
>>> import numpy as np
>>> import gradkit as gk
>>> from gradkit.optim import Adam, cosine
>>> loss = lambda p: ((p["w"] - 2.0) ** 2).sum()
>>> opt = Adam(lr=cosine(0.1, total_steps=500))
>>> params = {"w": np.zeros(3)}
>>> state = opt.init(params)
>>> for _ in range(500):
...     params, state = opt.update(gk.grad(loss)(params), state, params)
>>> bool(np.allclose(params["w"], 2.0, atol=1e-3))
True
"""

from .base import BoundOptimizer, ClosureOptimizer, Optimizer, Transform
from .chain import Chain, chain, clip_norm, clip_value, project
from .clip import clip_by_global_norm, clip_by_value, global_norm
from .first_order import SGD, Adagrad, Adam, AdamW, RMSprop
from .interior import BarrierResult, barrier_lp, kkt_residual, lp_value
from .lbfgs import LBFGS, LineSearchError, LineSearchResult, OptimizeResult, strong_wolfe
from .projections import project_box, project_nonnegative, project_simplex
from .schedules import Schedule, cosine, exponential_decay, inverse_time, step_decay, warmup

__all__ = [
    "Optimizer", "ClosureOptimizer", "BoundOptimizer",
    "Transform", "Chain", "chain", "clip_value", "clip_norm", "project",
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
    "LBFGS", "OptimizeResult", "LineSearchResult", "LineSearchError", "strong_wolfe",
    "Schedule", "step_decay", "exponential_decay", "inverse_time", "cosine", "warmup",
    "global_norm", "clip_by_global_norm", "clip_by_value",
    "project_box", "project_nonnegative", "project_simplex",
    "barrier_lp", "BarrierResult", "lp_value", "kkt_residual",
]
