"""Errors raised at gradkit's public boundary."""

__all__ = [
    "GradkitError",
    "InputTypeError",
    "NonScalarOutputError",
    "OutputTypeError",
    "ShapeMismatchError",
    "OpError",
    "NaNError",
    "GradientCheckError",
    "ConversionError",
]


class GradkitError(ValueError, TypeError):
    """Base class of every error gradkit raises on bad input.

    It derives from both ``ValueError`` and ``TypeError`` so that code written
    against NumPy's conventions keeps catching it.
    """


class InputTypeError(GradkitError):
    """An argument to differentiate is not a floating-point array."""


class NonScalarOutputError(GradkitError):
    """``grad`` was asked to differentiate a function whose output is not a scalar."""


class OutputTypeError(GradkitError):
    """A differentiated function returned something that is not an array."""


class ShapeMismatchError(GradkitError):
    """A tangent or cotangent does not have the shape of the value it belongs to."""


class OpError(GradkitError):
    """A primitive operation failed on its inputs (for example incompatible shapes)."""


class NaNError(GradkitError, FloatingPointError):
    """Raised in ``debug_nans()`` mode by the first operation that produces a NaN."""


class GradientCheckError(GradkitError, AssertionError):
    """``check_grads`` found a derivative that disagrees with finite differences."""


class ConversionError(GradkitError):
    """A traced value was converted to a plain NumPy array or Python number.

    Inside a transform that conversion would silently cut the value from the trace
    and drop its derivative to zero, so gradkit refuses it (as JAX refuses to convert
    a tracer and PyTorch refuses ``.numpy()`` on a tensor that requires grad).
    """
