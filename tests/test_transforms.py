"""Closed forms, nesting, pytrees and the transforms' contracts."""

import numpy as onp
import pytest

import gradkit as gk
import gradkit.numpy as np


def test_square_at_three_is_exact():
    assert gk.grad(lambda x: x**2)(3.0) == 6.0
    naive = ((3.0 + 1e-5) ** 2 - 3.0**2) / 1e-5
    assert abs(naive - 6.0) > 9e-6  # the textbook forward difference is off by ~1e-5


@pytest.mark.parametrize("x", [-2.0, -0.5, 0.3, 1.7])
def test_polynomial_derivatives_of_every_order(x):
    p = lambda t: 3 * t**4 - 2 * t**3 + t - 5
    d1 = gk.grad(p)
    d2 = gk.grad(d1)
    d3 = gk.grad(d2)
    d4 = gk.grad(d3)
    d5 = gk.grad(d4)
    assert d1(x) == pytest.approx(12 * x**3 - 6 * x**2 + 1, rel=1e-15)
    assert d2(x) == pytest.approx(36 * x**2 - 12 * x, rel=1e-15)
    assert d3(x) == pytest.approx(72 * x - 12, rel=1e-15)
    assert d4(x) == pytest.approx(72.0, rel=1e-15)
    assert d5(x) == 0.0


def test_exp_and_log_closed_forms():
    x = onp.linspace(0.1, 3.0, 7)
    assert onp.allclose(gk.elementwise_grad(np.exp)(x), onp.exp(x), rtol=1e-15)
    assert onp.allclose(gk.elementwise_grad(gk.elementwise_grad(np.exp))(x), onp.exp(x),
                        rtol=1e-15)
    assert onp.allclose(gk.elementwise_grad(np.log)(x), 1 / x, rtol=1e-15)
    assert onp.allclose(gk.elementwise_grad(gk.elementwise_grad(np.log))(x), -1 / x**2,
                        rtol=1e-14)


def test_hessian_of_quadratic_form(rng):
    a = rng.standard_normal((5, 5))
    b = rng.standard_normal(5)
    f = lambda x: x @ a @ x + b @ x
    x0 = rng.standard_normal(5)
    for mode in ("rev", "fwd"):
        assert onp.allclose(gk.hessian(f, mode=mode)(x0), a + a.T, atol=1e-13)
    assert onp.allclose(gk.grad(f)(x0), (a + a.T) @ x0 + b, atol=1e-13)


def test_jacobian_of_linear_map(rng):
    a = rng.standard_normal((4, 3))
    x0 = rng.standard_normal(3)
    for mode in ("rev", "fwd"):
        assert onp.array_equal(gk.jacobian(lambda x: a @ x, mode=mode)(x0), a)
    assert onp.array_equal(gk.jacrev(lambda x: a @ x)(x0), gk.jacfwd(lambda x: a @ x)(x0))


def test_jacobian_shapes_for_matrix_input_and_output(rng):
    w = rng.standard_normal((2, 3))
    f = lambda m: np.tanh(m @ w)  # (4, 2) -> (4, 3)
    m0 = rng.standard_normal((4, 2))
    jr = gk.jacobian(f)(m0)
    jf = gk.jacfwd(f)(m0)
    assert jr.shape == (4, 3, 4, 2)
    assert onp.allclose(jr, jf, atol=1e-14)
    d = 1 - onp.tanh(m0 @ w) ** 2
    expected = onp.einsum("ij,ik,lk->ikjl", onp.eye(4), d, w)
    assert onp.allclose(jr, expected, atol=1e-14)


def newton_sqrt(a, iterations=30):
    x = a
    for _ in range(iterations):
        x = 0.5 * (x + a / x)
    return x


@pytest.mark.parametrize("a", [0.25, 2.0, 9.0, 1e4])
def test_derivative_through_newton_loop(a):
    assert gk.grad(newton_sqrt)(a) == pytest.approx(0.5 / onp.sqrt(a), rel=1e-14)
    assert gk.grad(gk.grad(newton_sqrt))(a) == pytest.approx(-0.25 * a**-1.5, rel=1e-10)


def piecewise(x):
    if x > 1.0:
        return x**3
    y = x
    while y < 5.0:
        y = y * 2.0
    return y * np.sin(x)


def test_derivative_through_control_flow():
    assert gk.grad(piecewise)(2.0) == pytest.approx(12.0)
    # x = 0.7: doubled 3 times before it reaches 5, so f = 8 x sin x.
    x = 0.7
    assert gk.grad(piecewise)(x) == pytest.approx(8 * (onp.sin(x) + x * onp.cos(x)), rel=1e-15)


def test_no_perturbation_confusion():
    # d/dx [x * d/dy (x + y)] = 1, a classic test that nested levels stay apart.
    f = lambda x: x * gk.grad(lambda y: x + y)(1.0)
    assert gk.grad(f)(3.0) == 1.0
    # d/dx [ x * d/dy (x * y) at y = 2 ] = d/dx [x * x] = 2x
    g = lambda x: x * gk.grad(lambda y: x * y)(2.0)
    assert gk.grad(g)(3.0) == 6.0


def test_third_order_and_mixed_partials():
    f = lambda x, y: x**3 * y**2 + np.sin(x * y)
    x, y = 0.4, 1.3
    dxy = gk.grad(gk.grad(f, 0), 1)(x, y)
    exact = 6 * x**2 * y + onp.cos(x * y) - x * y * onp.sin(x * y)
    assert dxy == pytest.approx(exact, rel=1e-14)
    dxxx = gk.grad(gk.grad(gk.grad(f)))(x, y)
    assert dxxx == pytest.approx(6 * y**2 - y**3 * onp.cos(x * y), rel=1e-14)


def test_pytrees_in_and_out(rng):
    params = {"w": rng.standard_normal((3, 2)), "b": [onp.zeros(2), 1.5]}
    x = rng.standard_normal((5, 3))

    def loss(p, x):
        h = x @ p["w"] + p["b"][0]
        return np.sum(h**2) * p["b"][1]

    g = gk.grad(loss)(params, x)
    assert set(g) == {"w", "b"} and isinstance(g["b"], list)
    h = x @ params["w"]
    assert onp.allclose(g["w"], 2 * 1.5 * x.T @ h)
    assert onp.allclose(g["b"][0], 2 * 1.5 * h.sum(0))
    assert g["b"][1] == pytest.approx(onp.sum(h**2))
    out, f_vjp = gk.vjp(lambda p: {"s": np.sum(p["w"]), "t": (p["w"] * 2.0, p["b"][1])},
                        params)
    (ct,) = f_vjp({"s": 1.0, "t": (onp.ones((3, 2)), 2.0)})
    assert onp.allclose(ct["w"], 3.0) and ct["b"][1] == 2.0
    assert onp.array_equal(ct["b"][0], onp.zeros(2))


def test_argnums_and_has_aux():
    f = lambda x, y, z: (x * y + z**2, {"xy": x * y})
    (v, aux), g = gk.value_and_grad(f, argnums=(0, 2), has_aux=True)(2.0, 3.0, 4.0)
    assert v == 22.0 and aux["xy"] == 6.0
    assert g == (3.0, 8.0)
    g2, aux2 = gk.grad(f, argnums=1, has_aux=True)(2.0, 3.0, 4.0)
    assert g2 == 2.0 and aux2["xy"] == 6.0
    assert gk.grad(lambda x, y: x * y, argnums=-1)(2.0, 5.0) == 2.0


def test_jvp_and_vjp_agree(rng):
    a = rng.standard_normal((3, 4))
    f = lambda x: np.tanh(a @ x) * np.sum(x**2)
    x, v, u = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(3)
    out, jv = gk.jvp(f, (x,), (v,))
    out2, pull = gk.vjp(f, x)
    assert onp.array_equal(out, out2)
    (vj,) = pull(u)
    assert u @ jv == pytest.approx(vj @ v, rel=1e-13)


def test_hessian_matches_logistic_closed_form(rng):
    a = rng.standard_normal((30, 8))
    x = rng.standard_normal(8)
    f = lambda w: np.sum(np.log(1.0 + np.exp(a @ w))) + 0.5 * w @ w
    s = 1 / (1 + onp.exp(-a @ x))
    exact = a.T @ ((s * (1 - s))[:, None] * a) + onp.eye(8)
    for mode in ("rev", "fwd"):
        assert onp.allclose(gk.hessian(f, mode=mode)(x), exact, rtol=1e-13, atol=1e-13)


def test_float32_stays_float32(rng):
    x = rng.standard_normal(6).astype(onp.float32)
    w = rng.standard_normal((6, 6)).astype(onp.float32)
    f = lambda x: np.sum(np.log_softmax(np.tanh(w @ x) * 1.5 + 0.1) ** 2)
    assert gk.grad(f)(x).dtype == onp.float32
    assert gk.hessian(f)(x).dtype == onp.float32
    assert gk.jacfwd(lambda x: np.sigmoid(w @ x))(x).dtype == onp.float32
    g = gk.grad(lambda x: np.sum(x * onp.float64(2.0)))(x)  # float64 constant: grad keeps
    assert g.dtype == onp.float32  # the input's dtype


def test_elementwise_grad():
    x = onp.linspace(-2, 2, 9)
    assert onp.allclose(gk.elementwise_grad(np.tanh)(x), 1 - onp.tanh(x) ** 2, rtol=1e-15)


def test_output_that_ignores_input_has_zero_gradient():
    assert gk.grad(lambda x: 3.0)(onp.ones(3)).tolist() == [0.0, 0.0, 0.0]
    assert gk.grad(lambda x: np.sum(x) * 0 + 1.0)(2.0) == 0.0
    assert gk.jacobian(lambda x: onp.ones(2))(onp.ones(3)).shape == (2, 3)


def test_identity_function():
    assert gk.grad(lambda x: x)(2.0) == 1.0
    assert onp.array_equal(gk.jacobian(lambda x: x)(onp.ones(3)), onp.eye(3))
