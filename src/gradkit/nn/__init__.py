"""Neural networks on gradkit: modules, layers, losses, initialisers and a training loop.

Modules follow PyTorch (``Module``, ``Sequential``, ``Linear``, ``Conv2d``... with
PyTorch's parameter names and layouts, NCHW images, ``train()``/``eval()``,
``state_dict()``/``load_state_dict()``). Parameters are :class:`gradkit.Tensor` leaves
with ``requires_grad=True``, so ``loss.backward()`` fills their ``.grad``; for the
functional style, :func:`functional_call` runs a model on a dict of arrays, which
:func:`gradkit.grad` can differentiate. :func:`fit` trains a model reproducibly, with
atomic, resumable checkpoints; :class:`Trainer` is the same loop in parts (``step``,
``epoch``, ``run``).

Examples
--------
>>> import numpy as np
>>> from gradkit import nn
>>> model = nn.Sequential(nn.Conv2d(1, 8, 3, rng=0), nn.ReLU(), nn.GlobalAvgPool2d(),
...                       nn.Linear(8, 10, rng=1))
>>> x = np.zeros((4, 1, 28, 28), dtype=np.float32)
>>> loss = nn.cross_entropy(model(x), np.array([0, 1, 2, 3]))
>>> loss.backward()
>>> model[0].weight.grad.shape
(8, 1, 3, 3)
"""

from . import checkpoint, functional, init
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .layers import (
    ELU,
    GELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool2d,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .losses import accuracy, binary_cross_entropy_with_logits, cross_entropy, mse
from .module import Module, ModuleList, Sequential, functional_call, parameter
from .train import Callback, EarlyStopping, FitContext, Trainer, evaluate, fit

__all__ = [
    "Module", "Sequential", "ModuleList", "parameter", "functional_call",
    "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten", "Dropout",
    "BatchNorm1d", "BatchNorm2d", "Embedding", "Identity", "ReLU", "LeakyReLU", "ELU", "GELU",
    "SiLU", "Tanh", "Sigmoid", "Softplus", "Softmax", "LogSoftmax",
    "mse", "binary_cross_entropy_with_logits", "cross_entropy", "accuracy",
    "fit", "Trainer", "evaluate", "Callback", "EarlyStopping", "FitContext",
    "save_checkpoint", "load_checkpoint", "CheckpointError",
    "functional", "init", "checkpoint",
]
