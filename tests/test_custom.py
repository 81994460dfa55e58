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


def _polar():
    """(r, theta) of a point, with a rule written by hand: a two-output custom_vjp."""

    @gk.custom_vjp
    def polar(x, y):
        return np.hypot(x, y), np.arctan2(y, x)

    def fwd(x, y):
        r = np.hypot(x, y)
        return (r, np.arctan2(y, x)), (x, y, r)

    def bwd(res, g):
        x, y, r = res
        gr, gt = g
        return (gr * x / r - gt * y / r**2, gr * y / r + gt * x / r**2)

    polar.defvjp(fwd, bwd)
    return polar


def _polar_ref(x, y):
    return np.hypot(x, y), np.arctan2(y, x)


@pytest.mark.parametrize("use", ["r", "theta", "both"])
def test_tuple_output_custom_vjp(use):
    polar = _polar()

    def scalar(f):
        def s(x, y):
            r, t = f(x, y)
            return {"r": np.sum(r ** 2), "theta": np.sum(np.sin(t)),
                    "both": np.sum(r * np.cos(t) + t)}[use]
        return s

    x, y = onp.array([1.0, -2.0, 0.5]), onp.array([0.5, 1.5, -3.0])
    got = gk.grad(scalar(polar), argnums=(0, 1))(x, y)
    want = gk.grad(scalar(_polar_ref), argnums=(0, 1))(x, y)
    onp.testing.assert_allclose(got, want, rtol=1e-13)
    # batched jacobians (bwd run per basis vector) and second order through bwd
    for mode in ("rev", "fwd"):
        onp.testing.assert_allclose(gk.jacobian(polar, (0, 1), mode=mode)(x, y),
                                    gk.jacobian(_polar_ref, (0, 1), mode=mode)(x, y),
                                    rtol=1e-13)
    gk.check_grads(scalar(polar), (x, y), order=2)
    # the eager (PyTorch-style) graph goes through the same rule
    xt = gk.tensor(x, requires_grad=True)
    scalar(polar)(xt, y).backward()
    onp.testing.assert_allclose(xt.grad.numpy(), want[0], rtol=1e-13)


def test_dict_output_custom_vjp_and_debug_nans():
    @gk.custom_vjp
    def pair(x):
        return {"a": 2 * x, "b": x ** 2}

    pair.defvjp(lambda x: (pair.fun(x), x), lambda x, g: (2 * g["a"] + 2 * x * g["b"],))
    with gk.debug_nans():
        assert gk.grad(lambda x: pair(x)["b"] + pair(x)["a"])(3.0) == 8.0


def test_custom_vjp_keyword_arguments():
    @gk.custom_vjp
    def scale(x, k=2.0):
        return x * k

    scale.defvjp(lambda x, k: (x * k, k), lambda k, g: (g * k, None))
    assert gk.grad(lambda x: scale(x, k=5.0))(1.0) == 5.0
    assert gk.grad(lambda x: scale(x))(1.0) == 2.0      # the default is bound by position
    assert gk.grad(lambda x: scale(k=3.0, x=x))(1.0) == 3.0
    with pytest.raises(gk.GradkitError, match="scale: got an unexpected keyword"):
        gk.grad(lambda x: scale(x, q=1.0))(1.0)

    @gk.custom_vjp
    def kwonly(x, *, k):
        return x * k

    kwonly.defvjp(lambda x, k: (x * k, k), lambda k, g: (g * k,))
    with pytest.raises(gk.GradkitError, match=r"keyword-only arguments \(k\)"):
        gk.grad(lambda x: kwonly(x, k=2.0))(1.0)


def test_custom_vjp_bad_fwd_and_definition():
    f = gk.custom_vjp(lambda x: x)
    f.defvjp(lambda x: x, lambda r, g: (g,))
    with pytest.raises(gk.GradkitError, match="fwd must return a pair"):
        gk.grad(f)(1.0)
    with pytest.raises(gk.GradkitError, match="expected a function"):
        gk.custom_vjp(None)
