"""custom_vjp and stop_gradient."""

import numpy as onp
import pytest

import gradkit as gk
import gradkit.numpy as np


@gk.custom_vjp
def log1pexp(x):
    return np.log(1.0 + np.exp(x))


def _fwd(x):
    return log1pexp(x), x


def _bwd(x, g):
    return (g * np.sigmoid(x),)


log1pexp.defvjp(_fwd, _bwd)


def test_custom_rule_is_used():
    # The naive derivative overflows at 1000; the custom rule does not.
    with onp.errstate(over="ignore"):
        assert gk.grad(log1pexp)(1000.0) == 1.0
        assert gk.grad(lambda x: np.sum(log1pexp(x)))(onp.array([0.0])) == 0.5


def test_custom_rule_higher_order_and_batched():
    x = onp.array([-1.0, 0.3, 2.0])
    s = 1 / (1 + onp.exp(-x))
    d2 = gk.elementwise_grad(gk.elementwise_grad(log1pexp))(x)
    assert onp.allclose(d2, s * (1 - s), rtol=1e-14)
    assert onp.allclose(gk.jacobian(log1pexp)(x), onp.diag(s), rtol=1e-14)
    gk.check_grads(log1pexp, (x,), order=2)


def test_two_argument_custom_vjp_with_none():
    @gk.custom_vjp
    def scaled(x, k):
        return x * k

    scaled.defvjp(lambda x, k: (x * k, k), lambda k, g: (g * k, None))
    gx, gk_ = gk.grad(lambda x, k: np.sum(scaled(x, k)), argnums=(0, 1))(onp.ones(2), 3.0)
    assert onp.array_equal(gx, [3.0, 3.0]) and gk_ == 0.0


def test_custom_vjp_without_rule_errors_clearly():
    f = gk.custom_vjp(lambda x: x)
    assert f(2.0) == 2.0
    with pytest.raises(gk.GradkitError, match="defvjp"):
        gk.grad(f)(1.0)


def test_stop_gradient():
    f = lambda x: x**2 + gk.stop_gradient(x**3)
    assert gk.grad(f)(2.0) == 4.0
    assert gk.grad(gk.grad(lambda x: x * gk.stop_gradient(x)))(3.0) == 0.0


def test_custom_vjp_with_wrong_cotangent_shape_is_caught():
    @gk.custom_vjp
    def f(x):
        return x * 2.0

    f.defvjp(lambda x: (x * 2.0, None), lambda r, g: (np.reshape(2.0 * g, (1,) + g.shape),))
    with pytest.raises(gk.ShapeMismatchError, match=r"shape \(1, 2\) for argument 0"):
        gk.grad(lambda x: np.sum(f(x)))(onp.ones(2))
