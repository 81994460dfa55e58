"""Dask arrays through gradkit: every primitive of the table on chunked arrays (small
chunks, so that chunk boundaries are crossed) gives NumPy's values and gradients, and the
results stay lazy Dask arrays until computed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import cases_core  # noqa: F401  (each cases_* module registers its cases in CASES)
import cases_elementwise  # noqa: F401
import cases_linalg  # noqa: F401
import cases_scipy  # noqa: F401
import cases_series  # noqa: F401
import cases_shaping  # noqa: F401
import cases_statistics  # noqa: F401
import gradkit as gk
import gradkit.numpy as gnp
from gradkit.errors import GradkitError
from gradkit.graph import raw
from primtable import CASES, PROFILE

da = pytest.importorskip("dask.array")
import dask  # noqa: E402

NAMES = list(CASES)
# Not lazy on Dask yet: each gives NumPy's values (Dask computing what it lacks with NumPy,
# or a NumPy result) or raises an error: gradkit's naming the operation and Dask, or for
# composites that call a function Dask lacks, Dask's own. Never a wrong value.
NOT_LAZY = {
    'angle', 'angle_deg', 'array_split', 'bincount_weights', 'block', 'choose', 'compress',
    'convolve_full', 'convolve_same', 'convolve_valid', 'correlate_full', 'correlate_same',
    'correlate_valid', 'cumprod', 'cumsum', 'diff', 'dsplit', 'getitem_arrays',
    'getitem_arrays_apart', 'getitem_basic', 'getitem_full_mask', 'getitem_mask', 'gradient',
    'heaviside', 'histogram_bin_edges', 'histogram_density', 'histogram_edges',
    'histogram_weights', 'imag', 'insert', 'interp', 'interp_left_right', 'interp_period',
    'linalg.cholesky', 'linalg.cholesky_upper', 'linalg.cond', 'linalg.det', 'linalg.eigh_upper',
    'linalg.eigh_values', 'linalg.eigh_vectors', 'linalg.eigvalsh', 'linalg.inv',
    'linalg.lstsq_residuals', 'linalg.lstsq_s', 'linalg.lstsq_x', 'linalg.matrix_norm',
    'linalg.matrix_power', 'linalg.norm_matrix_ord=-2', 'linalg.norm_matrix_ord=2',
    'linalg.norm_matrix_ord=nuc', 'linalg.pinv', 'linalg.pinv_hermitian', 'linalg.qr',
    'linalg.qr_r', 'linalg.slogdet', 'linalg.solve', 'linalg.svd_compute_uv=False',
    'linalg.svd_hermitian', 'linalg.svd_values', 'linalg.svd_vectors', 'linalg.svdvals',
    'linalg.tensorinv', 'linalg.tensorsolve', 'linalg.vector_norm', 'median', 'median_axis',
    'nan_to_num', 'nancumprod', 'nancumsum', 'nanmedian', 'nanpercentile', 'nanprod',
    'nanquantile', 'norm_flat', 'norm_matrix_ord=None', 'norm_matrix_ord=fro',
    'norm_vector_ord=2', 'norm_vector_ord=None', 'partition', 'percentile', 'prod',
    'prod_keywords', 'quantile_averaged_inverted_cdf', 'quantile_closest_observation',
    'quantile_hazen', 'quantile_higher', 'quantile_interpolated_inverted_cdf',
    'quantile_inverted_cdf', 'quantile_linear', 'quantile_lower', 'quantile_median_unbiased',
    'quantile_midpoint', 'quantile_nearest', 'quantile_normal_unbiased', 'quantile_weibull',
    'scipy.special.logsumexp_b', 'scipy.special.multigammaln', 'scipy.special.polygamma',
    'sliding_window_view', 'sort', 'take', 'take_along_axis', 'trim_zeros', 'unique',
    'unique_all', 'unique_axis', 'unique_counts', 'unique_inverse', 'unique_values', 'unwrap',
    'vsplit',
}
# Dask graphs cost milliseconds an operation: fewer drawn examples than the NumPy table,
# computed on the calling thread.
FEWER = settings(PROFILE, max_examples=3, phases=[Phase.explicit, Phase.generate])


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _chunked(a):
    a = np.asarray(a)
    return da.from_array(a, chunks=(2,) * a.ndim)


def _forward(f, args):
    """``f`` on gradkit Tensors of the Dask arrays (so that Python's indexing syntax is
    gradkit's, not Dask's), its results unwrapped."""
    return gk.tree_map(raw, f(*[gk.Tensor(a) for a in args]))


def _lazy(tree) -> bool:
    return all(isinstance(x, da.Array) for x in gk.tree_flatten(tree)[0])


# Dask's own errors for what it does not implement (NotImplementedError mostly).
_DASK_REFUSALS = (GradkitError, NotImplementedError, AttributeError, TypeError, ValueError,
                  IndexError, AssertionError)


def _equal_or_refused(call, want, rtol):
    """``call()`` equals ``want``, or raises one of Dask's refusals or gradkit's."""
    try:
        got = dask.compute(call())[0]
    except _DASK_REFUSALS:
        return
    gk.tree_map(lambda g, w: np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-12), got,
                want)


@pytest.mark.parametrize("name", NAMES)
@FEWER
@given(data=st.data())
def test_dask_values_and_gradients_equal_numpy(name, data):
    ex = data.draw(CASES[name], label=name)
    n = len(ex.args)
    chunked = tuple(_chunked(a) for a in ex.args)
    loss = gk.value_and_grad(lambda *a: gnp.sum(ex.f(*a) ** 2), argnums=tuple(range(n)))
    if name in NOT_LAZY:
        with warnings.catch_warnings():  # Dask computes what it lacks with NumPy, warning
            warnings.simplefilter("ignore", FutureWarning)
            _equal_or_refused(lambda: _forward(ex.f, chunked), ex.f(*ex.args), 1e-12)
            _equal_or_refused(lambda: loss(*chunked), loss(*ex.args), 1e-10)
        return
    got = _forward(ex.f, chunked)
    assert _lazy(got), f"{name}: the result was computed (not a Dask array)"
    gk.tree_map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12),
                dask.compute(got)[0], ex.f(*ex.args))
    v, g = loss(*chunked)
    assert _lazy((v, g)), f"{name}: the value or gradient was computed"
    (v, g), (v_want, g_want) = dask.compute(v, g), loss(*ex.args)
    np.testing.assert_allclose(v, v_want, rtol=1e-12)
    gk.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12), g,
                g_want)


def test_an_index_dask_would_lay_out_differently_is_refused():
    x = _chunked(np.arange(24.0).reshape(2, 3, 4))
    with pytest.raises(GradkitError, match="dask arrays, which place the indexed axes"):
        gk.Tensor(x)[0, :, np.array([1, 2])]


def test_asarray_keeps_a_dask_array_and_casts_it_there():
    x = _chunked(np.arange(6.0).reshape(2, 3))
    kept = gnp.asarray(x, dtype=np.float32)
    assert isinstance(kept, da.Array) and kept.dtype == np.float32
    np.testing.assert_array_equal(kept.compute(), np.arange(6.0).reshape(2, 3))


def test_a_lazy_index_that_repeats_a_position_accumulates_its_gradient():
    # A Dask index array is an advanced index: its scatter adds, never assigns (a wrong
    # gradient before: each repeat overwrote the last).
    x = np.array([1.0, 2.0, 3.0])
    rows = np.array([0, 0, 2, 0])
    loss = lambda x, rows: gnp.sum(x[rows] * np.array([1.0, 2.0, 3.0, 4.0]))  # noqa: E731
    want = gk.grad(loss)(x, rows)
    got = gk.grad(loss)(_chunked(x), da.from_array(rows, chunks=2))
    np.testing.assert_array_equal(dask.compute(got)[0], want)
    np.testing.assert_array_equal(want, [7.0, 0.0, 3.0])
