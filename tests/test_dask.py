"""Dask arrays through gradkit: every primitive of the table on chunked arrays (small
chunks, so that chunk boundaries are crossed) gives NumPy's values and gradients, and the
results stay lazy Dask arrays until computed."""

from __future__ import annotations

import contextlib
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
# Not lazy on Dask: sizes or bin edges that depend on the data (unique, trim_zeros, edges
# from the data's range), lstsq (residuals sized by the rank), and scipy.special composites
# that hand Dask arrays to SciPy. Each gives NumPy's values (Dask computing what it lacks
# with NumPy, or a NumPy result) or raises an error: gradkit's naming the operation and
# Dask, or for composites that call a function Dask lacks, Dask's own. Never a wrong value.
NOT_LAZY = {
    'histogram_bin_edges', 'histogram_density', 'histogram_edges', 'linalg.lstsq_residuals',
    'linalg.lstsq_s', 'linalg.lstsq_x', 'scipy.special.logsumexp_b', 'scipy.special.multigammaln',
    'trim_zeros', 'unique', 'unique_all', 'unique_axis',
    'unique_counts', 'unique_inverse', 'unique_values',
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


# NumPy's checks of weights (non-negative for cov, a nonzero sum for average) compute them.
VALIDATES = {'average_weights', 'cov_weights'}


class _Computed(Exception):
    pass


def _refuse_to_compute(*args, **kwargs):
    raise _Computed("a Dask array was computed while gradkit built the graph")


@contextlib.contextmanager
def _nothing_computed(name):
    """Building the graph computes nothing: no branch of gradkit looks at a lazy value
    (a branch right either way is taken instead)."""
    if name in VALIDATES:
        yield
        return
    with dask.config.set(scheduler=_refuse_to_compute):
        yield


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
    with _nothing_computed(name):
        got = _forward(ex.f, chunked)
    assert _lazy(got), f"{name}: the result was computed (not a Dask array)"
    gk.tree_map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12),
                dask.compute(got)[0], ex.f(*ex.args))
    with _nothing_computed(name):
        v, g = loss(*chunked)
    assert _lazy((v, g)), f"{name}: the value or gradient was computed"
    (v, g), (v_want, g_want) = dask.compute(v, g), loss(*ex.args)
    np.testing.assert_allclose(v, v_want, rtol=1e-12)
    # (atol at the gradient's scale: Dask's det rule, the cofactors, rounds otherwise than
    # NumPy's det inv^T, which it cannot choose without reading the lazy determinant)
    gk.tree_map(lambda a, b: np.testing.assert_allclose(
        a, b, rtol=1e-10, atol=1e-12 * max(1.0, float(np.max(np.abs(b), initial=0.0)))), g,
        g_want)


@pytest.mark.parametrize("lazy_index", [False, True])
def test_indices_dask_lays_out_differently_give_numpys_layout(lazy_index):
    # Index arrays apart (NumPy moves their axes to the front, Dask's own indexing would
    # not), n-d and repeated: one pointwise gather, lazy, in NumPy's layout.
    a = np.arange(24.0).reshape(2, 3, 4)
    rows, cols = np.array([[1, 0], [1, 1]]), np.array([3, -1])
    index = (rows, slice(None, None, -1), cols)
    weights = np.arange(12.0).reshape(2, 2, 3)
    loss = lambda x, *i: gnp.sum(x[i[0], ::-1, i[1]] * weights)  # noqa: E731
    want, grad_want = a[index], gk.grad(loss)(a, rows, cols)
    if lazy_index:
        rows, cols = da.from_array(rows, chunks=1), da.from_array(cols, chunks=1)
    got = raw(gk.Tensor(_chunked(a))[rows, ::-1, cols])
    grad = gk.grad(loss)(_chunked(a), rows, cols)
    assert _lazy((got, grad))
    np.testing.assert_array_equal(got.compute(), want)
    np.testing.assert_array_equal(grad.compute(), grad_want)
    # x[1, :, 3] is gathered three times ((p, q) = (0, 0), (1, 0), (1, 1); -1 is 3): the
    # weights' rows 0, 6 and 9 added up, reversed by the ::-1
    assert want.shape == (2, 2, 3) and grad_want[1, :, 3].tolist() == [21.0, 18.0, 15.0]


def test_empty_and_zero_length_pieces_stay_lazy():
    # Dask cannot reshape, pad or assign into empty arrays, nor cumsum a 0-d one: zeros
    # or the fill value of the right shape instead, and 0-d made 1-d.
    x = _chunked(np.zeros((3, 0)))
    assert gnp.reshape(gk.Tensor(x), (0, 3)).shape == (0, 3)
    padded = raw(gnp.pad(gk.Tensor(x), ((0, 0), (1, 1)), constant_values=2.0))
    assert _lazy(padded)
    np.testing.assert_array_equal(padded.compute(), np.full((3, 2), 2.0))
    v, g = gk.value_and_grad(lambda x: gnp.sum(gnp.cumsum(x) ** 2))(_chunked(np.array(3.0)))
    assert _lazy((v, g)) and dask.compute(v, g) == (9.0, 6.0)


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


def test_a_gradient_through_an_arbitrary_completion_raises_when_computed():
    # NumPy's check that nothing reaches svd's arbitrary columns reads the cotangent: on
    # Dask it is not read while the graph is built, but raises when it is computed.
    a = np.random.default_rng(0).normal(size=(4, 2))
    loss = lambda a: gnp.sum(gnp.linalg.svd(a, full_matrices=True)[0])  # noqa: E731
    with pytest.raises(GradkitError, match="arbitrary orthonormal completion"):
        gk.grad(loss)(a)
    with _nothing_computed("svd"):
        g = gk.grad(loss)(_chunked(a))
    assert _lazy(g)
    with pytest.raises(GradkitError, match="arbitrary orthonormal completion"):
        dask.compute(g)
