"""No silently lost gradients: a traced value never leaves its trace without an error.

Each test is a program that, before issue 8, returned a confident wrong derivative
(usually zero) without any error.
"""

import math

import numpy as onp
import pytest

import gradkit as gk
import gradkit.numpy as np

X = onp.array([0.5, 1.5])


@pytest.mark.parametrize("f, what", [
    (lambda x: onp.sum(onp.asarray(x) ** 2), "numpy.asarray"),
    (lambda x: onp.sum(onp.array(x) ** 2), "numpy.asarray"),
    (lambda x: math.sin(x[0]), r"float\(\)"),
    (lambda x: float(x[0]) * x[1], r"float\(\)"),
    (lambda x: int(x[0]) * x[1], r"int\(\)"),
    (lambda x: x[0].item() * x[1], r"Tensor\.item\(\)"),
    (lambda x: np.sum(np.array(x.tolist())), r"Tensor\.tolist\(\)"),
    (lambda x: x.numpy().sum() * x[0], r"Tensor\.numpy\(\)"),
    (lambda x: [1.0, 2.0, 3.0][x[0]] * x[1], "index"),
    (lambda x: complex(x[0]).real * x[1], r"complex\(\)"),
])
def test_conversions_of_traced_values_raise(f, what):
    with pytest.raises(gk.ConversionError, match=what) as e:
        gk.grad(f)(X)
    assert "stop_gradient" in str(e.value) and "gradkit.numpy" in str(e.value)
    assert isinstance(e.value, gk.GradkitError)


def test_item_assignment_into_an_ndarray_raises():
    def f(v):
        out = onp.zeros(2)
        out[0] = v[0]
        return np.sum(out)

    # NumPy re-raises any failed conversion in item assignment as its own ValueError; the
    # ConversionError is its cause, shown first in the traceback.
    with pytest.raises(ValueError) as e:
        gk.grad(f)(X)
    assert isinstance(e.value.__cause__, gk.ConversionError)
    assert "float()" in str(e.value.__cause__)


def test_bool_stays_allowed_for_control_flow():
    def f(x):
        if x > 0:
            return x ** 2
        return -x

    assert gk.grad(f)(3.0) == 6.0
    assert gk.grad(f)(-3.0) == -1.0
    assert gk.grad(lambda x: x ** 3 if bool(x < 2) and x != 0 else x)(1.0) == 3.0


def test_conversions_outside_transforms_and_after_stop_gradient_work():
    assert float(gk.grad(lambda x: x ** 2)(3.0)) == 6.0
    # stop_gradient then convert: an explicit constant, allowed
    g = gk.grad(lambda x: x * float(gk.stop_gradient(x)))(3.0)
    assert g == 3.0
    t = gk.tensor([1.0, 2.0])
    assert onp.asarray(t).tolist() == [1.0, 2.0] == t.tolist()


def test_eager_tensor_requiring_grad_refuses_numpy_conversion():
    w = gk.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(gk.ConversionError, match=r"detach\(\)"):
        onp.asarray(w)
    with pytest.raises(gk.ConversionError, match="requires grad"):
        onp.exp(w.sum() * onp.ones(2)).astype(float) if False else onp.array(w * 2)
    # explicit reads are fine, as in PyTorch (.item(), .tolist(), .detach())
    assert w.tolist() == [1.0, 2.0] and w.sum().item() == 3.0
    onp.testing.assert_array_equal(onp.asarray(w.detach()), [1.0, 2.0])
    # a NumPy function on it dispatches to gradkit and keeps the graph
    y = onp.sum(onp.sin(w))
    y.backward()
    onp.testing.assert_allclose(w.grad.numpy(), onp.cos([1.0, 2.0]))


@pytest.mark.parametrize("f, want", [
    (lambda x: np.mean([x, x + 2]), 1.0),
    (lambda x: np.sum(np.array([[x, 1.0], [2.0, x * x]])), 1.0 + 2 * 3.0),
    (lambda x: np.sum(np.asarray((x, 2 * x))), 3.0),
    (lambda x: np.max([x, 0.5 * x]), 1.0),
    (lambda x: np.sum(np.maximum([x, 2 * x], 0.5)), 3.0),
    (lambda x: np.var([x, 2 * x, 0.5]), 2 * (3.0 - 9.5 / 3) / 3 + 4 * (6.0 - 9.5 / 3) / 3),
    (lambda x: np.dot([x, 1.0], [2.0, x]), 3.0),
    (lambda x: np.sum(np.where([True, False], [x, x], [0.0, x * x])), 1.0 + 6.0),
    (lambda x: np.sum(np.concatenate([[x], [x, 2 * x]])), 4.0),
    (lambda x: np.sum(np.stack([[x, x], [x, 1.0]])), 3.0),
    (lambda x: np.linalg.norm([x, 4.0]), 3.0 / 5.0),
    (lambda x: np.sum(np.array([x, x]) * [[1.0], [2.0]]), 6.0),
    (lambda x: np.sum(np.array([x], ndmin=3)), 1.0),
])
def test_sequences_of_traced_values_are_traced(f, want):
    assert gk.grad(f)(3.0) == pytest.approx(want, rel=1e-14)


def test_nondifferentiable_functions_accept_sequences_of_traced_values():
    assert gk.grad(lambda x: x * np.argmax([x, 2 * x]))(3.0) == 1.0
    assert gk.grad(lambda x: x * np.sum(np.isfinite([x, x])))(3.0) == 2.0


def test_repeated_argnums_get_the_same_gradient():
    f = lambda a, b: a * b
    assert gk.grad(f, argnums=(0, 0))(2.0, 3.0) == (3.0, 3.0)
    assert gk.value_and_grad(f, argnums=(1, 0, 1))(2.0, 3.0) == (6.0, (2.0, 3.0, 2.0))
    assert gk.elementwise_grad(f, argnums=(0, 0))(2.0, 3.0) == (3.0, 3.0)
    for mode in ("rev", "fwd"):
        ja, jb = gk.jacobian(f, argnums=(0, 0), mode=mode)(onp.array([2.0, 4.0]), 3.0)
        onp.testing.assert_array_equal(ja, 3.0 * onp.eye(2))
        onp.testing.assert_array_equal(jb, 3.0 * onp.eye(2))
    h = gk.hessian(lambda a, b: a * a * b, argnums=(0, 0))(2.0, 3.0)
    assert onp.asarray(h).tolist() == [[6.0, 6.0], [6.0, 6.0]]


@pytest.mark.parametrize("transform", [gk.grad, gk.value_and_grad, gk.jacobian, gk.hessian,
                                       gk.elementwise_grad])
@pytest.mark.parametrize("argnums", ["a", 1.0, True, [0, "b"], None])
def test_bad_argnums_fail_at_the_call(transform, argnums):
    with pytest.raises(gk.InputTypeError, match="argnums must be an int or a sequence"):
        transform(lambda x: x, argnums=argnums)


@pytest.mark.parametrize("make", [lambda: gk.grad(None), lambda: gk.jacobian(3),
                                  lambda: gk.vjp(None, 1.0), lambda: gk.jvp("f", (1.0,), (1.0,))])
def test_a_function_that_is_not_callable_fails_at_the_call(make):
    with pytest.raises(gk.InputTypeError, match="must be callable"):
        make()


@pytest.mark.parametrize("call, want", [
    (lambda x: onp.linalg.norm(x), lambda x: x / onp.linalg.norm(x)),
    (lambda x: onp.linalg.det(onp.diag(x)), lambda x: x[::-1]),
    (lambda x: onp.sum(onp.linalg.solve(onp.diag(x), onp.ones(2))), lambda x: -1 / x ** 2),
    (lambda x: onp.linalg.slogdet(onp.diag(x))[1], lambda x: 1 / x),
])
def test_numpy_linalg_dispatches_to_gradkit(call, want):
    x = onp.array([3.0, 4.0])
    onp.testing.assert_allclose(gk.grad(call)(x), want(x), rtol=1e-14)


def test_numpy_functions_without_rules_refuse_clearly():
    with pytest.raises(gk.GradkitError, match=r"numpy\.fft\.fft has no gradkit derivative"):
        gk.grad(lambda x: onp.sum(onp.fft.fft(x).real))(X)
    with pytest.raises(gk.GradkitError, match="out= are not supported"):
        gk.grad(lambda x: onp.sum(onp.sin(x, out=onp.zeros(2))))(X)


def test_honest_nan_gradients_raise_no_numpy_warning_and_debug_nans_names_the_rule():
    # pytest turns warnings into errors: the backward pass must emit none
    f = lambda x: np.sqrt(x ** 2)             # NaN at 0 in JAX and PyTorch too
    assert onp.isnan(gk.grad(f)(0.0))
    assert gk.grad(lambda x: np.sqrt(x))(0.0) == onp.inf
    assert onp.isnan(gk.jvp(f, (0.0,), (1.0,))[1])
    with gk.debug_nans(), pytest.raises(gk.NaNError, match="derivative rule of power"):
        gk.grad(f)(0.0)


def test_mixed_float32_and_python_floats_promote_like_numpy():
    x32 = onp.float32(2.0)
    def f(x):
        out = np.array([x, 1.0])
        assert out.dtype == onp.array([x32, 1.0]).dtype
        return np.sum(out)

    assert gk.grad(f)(x32) == 1.0


def test_fill_values_carry_their_gradient():
    # full_like used to drop a traced fill value to a constant
    assert gk.grad(lambda v: np.sum(np.full_like(onp.zeros((2, 3)), v)))(1.5) == 6.0
    assert gk.grad(lambda v: np.sum(np.full(4, v) * onp.arange(4.0)))(1.5) == 6.0
    onp.testing.assert_array_equal(np.full_like(onp.zeros(2, onp.float32), 3), [3, 3])


def test_where_with_the_condition_alone_is_nonzero():
    x = onp.array([1.0, 0.0, 2.0])
    (idx,) = np.where(x > 0)
    onp.testing.assert_array_equal(idx, [0, 2])
    with pytest.raises(gk.GradkitError, match="both x and y, or neither"):
        np.where(x > 0, x)
