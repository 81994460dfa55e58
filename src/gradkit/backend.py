"""The one place where gradkit's core imports its array library.

Every core module reaches NumPy through ``xp`` from here, so that an Array-API
backend (CuPy on a GPU, Dask for out-of-core data) can later be swapped in
without touching each derivative rule.
"""

import numpy as xp
from numpy.lib.stride_tricks import as_strided
from numpy.lib.stride_tricks import sliding_window_view as _sliding_window_view

__all__ = ["xp", "sliding_window_view", "as_strided", "ndarray"]

ndarray = xp.ndarray
sliding_window_view = _sliding_window_view
