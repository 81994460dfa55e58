"""Derivatives of sampled data: finite differences, smoothing and image gradients.

Every function here is built from gradkit operations, so it works inside
:func:`gradkit.grad` and friends (an edge-aware loss on an image, a derivative inside
a model); the weights (Fornberg stencils, Savitzky-Golay fits) and the automatic
choices (window, regularisation weight) are constants computed with NumPy.

* :func:`diff` -- finite differences of any order and accuracy, uniform or not.
* :func:`savgol_derivative` -- Savitzky-Golay smoothing derivative, window chosen
  from the data (:func:`savgol_window`).
* :func:`causal_derivative` -- one-sided Savitzky-Golay derivative from past samples only
  (streaming).
* :func:`tv_derivative` -- total-variation regularised derivative (Chartrand).
* :func:`sobel`, :func:`prewitt`, :func:`scharr`, :func:`gradient_magnitude`,
  :func:`gradient_orientation` -- image gradients of N-d arrays.
* :func:`fornberg_weights`, :func:`noise_std` -- the building blocks.

Examples
--------
>>> import numpy as np
>>> import gradkit.signal as gs
>>> x = np.linspace(0, 1, 11)
>>> np.round(gs.diff(x ** 2, dx=0.1), 10)
array([0. , 0.2, 0.4, 0.6, 0.8, 1. , 1.2, 1.4, 1.6, 1.8, 2. ])
"""

from .image import gradient_magnitude, gradient_orientation, prewitt, scharr, sobel
from .noise import noise_std
from .smoothing import causal_derivative, savgol_derivative, savgol_window
from .stencils import diff, fornberg_weights
from .total_variation import tv_derivative

__all__ = [
    "diff", "fornberg_weights",
    "savgol_derivative", "savgol_window", "causal_derivative", "tv_derivative", "noise_std",
    "sobel", "prewitt", "scharr", "gradient_magnitude", "gradient_orientation",
]
