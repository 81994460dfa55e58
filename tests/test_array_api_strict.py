"""array-api-strict as a third namespace: gradkit on arrays of a library that speaks only
the Array API standard.

The arrays live on array-api-strict's second device, which NumPy cannot read: wherever
gradkit handed such an array to NumPy instead of to its own namespace, the call raises. A
case that passes thus computes its forward and backward passes with the standard alone,
and its results are arrays of that library on that device. Every other case raises
gradkit's error naming the operation and the library (the standard lacks the operation,
or gradkit computes it with NumPy functions beyond the standard): never a NumPy result,
never a wrong value.
"""

from __future__ import annotations

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
from gradkit.errors import GradkitError, OpError
from gradkit.graph import raw
from primtable import CASES, PROFILE

xs = pytest.importorskip("array_api_strict")
DEVICE = xs.Device("device1")
CPU = xs.Device("CPU_DEVICE")

NAMES = list(CASES)
# Computed with the standard alone: values and gradients equal NumPy's.
STANDARD = {
    'negative', 'positive', 'abs', 'sqrt', 'exp', 'expm1', 'log', 'log1p', 'log2', 'log10',
    'sin', 'cos', 'tan', 'arcsin', 'arccos', 'arctan', 'sinh', 'cosh', 'tanh', 'arcsinh',
    'arccosh', 'arctanh', 'square', 'reciprocal', 'sigmoid', 'softplus', 'relu',
    'power_int_exponent', 'power_float_exponent', 'power_constant_base', 'add', 'subtract',
    'multiply', 'divide', 'power', 'maximum', 'minimum', 'arctan2', 'hypot', 'logaddexp',
    'where', 'clip', 'clip_constant_bounds', 'sum', 'mean', 'max', 'min', 'var', 'std',
    'cumsum', 'logsumexp', 'softmax', 'log_softmax', 'reshape', 'transpose', 'swapaxes',
    'moveaxis', 'expand_dims', 'squeeze', 'ravel', 'broadcast_to', 'concatenate', 'stack',
    'split', 'tile', 'flip', 'roll', 'triu', 'tril', 'matmul', 'matmul_operator', 'dot',
    'tensordot', 'outer', 'inner', 'vdot', 'matmul_add', 'atleast_1d', 'atleast_2d', 'astype',
    'asarray_nested', 'array_nested', 'true_divide', 'real', 'imag', 'conj', 'conjugate',
    'real_if_close', 'norm_vector_ord=1', 'norm_vector_ord=inf', 'norm_vector_ord=-inf',
    'norm_vector_ord=3', 'norm_vector_ord=0.5', 'norm_vector_ord=-1', 'norm_matrix_ord=1',
    'norm_matrix_ord=-1', 'norm_matrix_ord=inf', 'norm_matrix_ord=-inf', 'linalg.multi_dot',
    'linalg.matmul', 'linalg.outer', 'linalg.cross', 'linalg.tensordot', 'linalg.vecdot',
    'linalg.matrix_transpose', 'trapezoid', 'cross', 'cross_axes', 'kron', 'rot90', 'flipud',
    'fliplr', 'rollaxis', 'permute_dims', 'matrix_transpose', 'atleast_3d', 'concat', 'hstack',
    'vstack', 'column_stack', 'dstack', 'append', 'array_split', 'hsplit', 'dsplit', 'unstack',
    'broadcast_arrays', 'full', 'ptp', 'meshgrid', 'vsplit',
}
# With some arguments the standard alone, with others beyond it (an empty slice past the
# end, ``prod`` over an axis, which pads; ``pad``'s modes, ``diff`` with prepend...): equal
# to NumPy's, or refused.
PARTLY = {
    'getitem_basic', 'diff', 'pad_edge', 'pad_reflect', 'pad_symmetric', 'pad_wrap', 'prod',
    'prod_zeros', 'linalg.matrix_power', 'linalg.vector_norm',
}
# Cases whose own code (not gradkit's) calls NumPy on the arguments (np.eye of their dtype,
# a raw array on the left of an operator...): they cannot run on such arrays at all.
CASE_CALLS_NUMPY = {
    'tensor_operators', 'linalg.cholesky', 'linalg.cholesky_upper', 'linalg.eigh_values',
    'linalg.eigh_vectors', 'linalg.lstsq_s', 'scipy.special.gammainc', 'scipy.special.gammaincc',
    'scipy.special.betainc', 'scipy.special.betaincc', 'full_like',
}
FEWER = settings(PROFILE, max_examples=3, phases=[Phase.explicit, Phase.generate])


def _strict(a, device=DEVICE):
    return xs.asarray(np.asarray(a), device=device)


def _numpy(x, device=DEVICE):
    assert isinstance(x, xs._array_object.Array), f"a {type(x).__name__}, not a strict array"
    assert x.device == device, f"moved to {x.device}"
    return np.asarray(x.to_device(CPU)) if device != CPU else np.asarray(x)


def _forward(f, args):
    """``f`` on gradkit Tensors of the arrays (Python's indexing syntax is then gradkit's)."""
    return gk.tree_map(raw, f(*[gk.Tensor(a) for a in args]))


@pytest.mark.parametrize("name", NAMES)
@FEWER
@given(data=st.data())
def test_strict_values_and_gradients_equal_numpy_or_are_refused(name, data):
    if name in CASE_CALLS_NUMPY:
        pytest.skip("the case itself calls NumPy on its arguments")
    ex = data.draw(CASES[name], label=name)
    n = len(ex.args)
    strict = tuple(_strict(a) for a in ex.args)
    loss = gk.value_and_grad(lambda *a: gnp.sum(ex.f(*a) ** 2), argnums=tuple(range(n)))
    if name not in STANDARD | PARTLY:
        with pytest.raises(GradkitError, match="array_api_strict"):
            _forward(ex.f, strict)
            loss(*strict)
        return
    try:
        got = _forward(ex.f, strict)
    except GradkitError as e:
        if name in PARTLY and "array_api_strict" in str(e):
            return
        raise
    gk.tree_map(lambda g, w: np.testing.assert_allclose(_numpy(g), w, rtol=1e-12, atol=1e-12),
                got, ex.f(*ex.args))
    try:
        v, g = loss(*strict)
    except GradkitError as e:
        if name in PARTLY and "array_api_strict" in str(e):
            return
        raise
    v_want, g_want = loss(*ex.args)
    np.testing.assert_allclose(_numpy(v), v_want, rtol=1e-12)
    gk.tree_map(lambda a, b: np.testing.assert_allclose(_numpy(a), b, rtol=1e-10, atol=1e-12),
                g, g_want)


def _logistic_loss(w, X, y):
    # A strict array on the left of an operator refuses a Tensor on the right (it raises
    # instead of deferring to the Tensor): gradkit's functions, or Tensors on the left.
    z = gnp.matmul(X, w)
    return gnp.mean(gnp.softplus(z) - z * y) + 0.5 * gnp.sum(w * w)


@pytest.mark.parametrize("device", [DEVICE, CPU], ids=["device1", "cpu"])
def test_a_logistic_fit_gradient_stays_in_the_library_and_on_its_device(device):
    rng = np.random.default_rng(0)
    X, w = rng.normal(size=(50, 4)), rng.normal(size=4)
    y = (rng.random(50) < 0.5).astype(float)
    v, g = gk.value_and_grad(_logistic_loss)(*(_strict(a, device) for a in (w, X, y)))
    v_want, g_want = gk.value_and_grad(_logistic_loss)(w, X, y)
    np.testing.assert_allclose(_numpy(v, device), v_want, rtol=1e-14)
    np.testing.assert_allclose(_numpy(g, device), g_want, rtol=1e-13)
    # on the CPU device NumPy could read the arrays: the results stay strict all the same
    assert isinstance(g, xs._array_object.Array) and g.device == device


def test_hessian_of_a_standard_program():
    x = np.array([0.3, -1.2, 2.0])
    f = lambda x: gnp.sum(gnp.tanh(x) * x ** 3)  # noqa: E731
    h = gk.hessian(f)(_strict(x))
    np.testing.assert_allclose(_numpy(h), gk.hessian(f)(x), rtol=1e-13)


def test_an_operation_outside_the_standard_is_refused_by_name():
    with pytest.raises(OpError, match=r"cbrt.*array_api_strict.*standard has no cbrt"):
        gnp.cbrt(_strict([1.0, 8.0]))
    with pytest.raises(OpError, match=r"einsum.*array_api_strict"):
        gk.grad(lambda a: gnp.einsum("ii->", a))(_strict(np.eye(2)))


def test_arrays_of_two_other_libraries_in_one_call_are_refused():
    # Dask and array-api-strict stand in for CuPy with Dask: neither computes on the other's
    da = pytest.importorskip("dask.array")
    lazy, strict = da.ones(3, chunks=2), _strict(np.ones(3))
    with pytest.raises(GradkitError, match="arrays of array_api_strict and dask in one call"):
        gnp.add(lazy, strict)
    with pytest.raises(GradkitError, match="arrays of array_api_strict and dask in one call"):
        gk.grad(lambda x: gnp.sum(x * strict))(lazy)
