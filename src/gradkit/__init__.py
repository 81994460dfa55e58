"""gradkit: derivatives for AI and machine learning.

The top level holds the automatic-differentiation API; numerical differentiation,
sampled-data derivatives, optimisers and models live in their own namespaces.

Examples
--------
>>> import gradkit as gk
>>> import gradkit.numpy as np
>>> gk.grad(lambda x: np.sum(np.sin(x) ** 2))(np.array([0.0, np.pi / 4]))
array([0., 1.])
"""

from . import methods as _methods  # noqa: F401  (installs Tensor operators)
from .batching import vmap  # noqa: E402  (after the primitives it gives rules to)
from .check import check_grads
from .custom import custom_vjp, stop_gradient
from .errors import (
    ConversionError,
    GradientCheckError,
    GradkitError,
    InputTypeError,
    NaNError,
    NonScalarOutputError,
    OpError,
    OutputTypeError,
    ShapeMismatchError,
)
from .graph import Tensor, debug_nans, defprimitive, enable_grad, no_grad, tensor
from .transforms import (
    elementwise_grad,
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)
from .tree import tree_flatten, tree_map, tree_unflatten

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "debug_nans",
    "grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacrev", "jacfwd", "hessian", "vmap",
    "elementwise_grad", "custom_vjp", "defprimitive", "stop_gradient", "check_grads",
    "tree_flatten", "tree_unflatten", "tree_map",
    "GradkitError", "InputTypeError", "NonScalarOutputError", "OutputTypeError",
    "ShapeMismatchError", "OpError", "NaNError", "GradientCheckError", "ConversionError",
]
