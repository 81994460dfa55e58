"""Targeted tests of gradkit.elementwise and gradkit.statistics: the points the table's
random draws avoid (zeros of products, sinc at 0, NaN, ties), NumPy equality for every
keyword, and the errors for what is not supported."""

from __future__ import annotations

import itertools
import math
import warnings
from contextlib import contextmanager

import numpy as np
import pytest

import gradkit as gk
import gradkit.numpy as gnp

# -- products with zero factors ---------------------------------------------------------------


def _T():
    """A Tensor that requires grad: ufunc keywords on it are refused."""
    return gk.tensor(1.0, requires_grad=True)


def others(x):
    """Product of all the other factors, by brute force (no division)."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


def pair_products(x):
    """d2 prod / dx_i dx_j: product of all factors but i and j (0 on the diagonal)."""
    n = x.size
    h = np.zeros((n, n))
    for i, j in itertools.permutations(range(n), 2):
        h[i, j] = np.prod(np.delete(x, [i, j]))
    return h


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, -0.5], [0.0, 1.5, 0.0, 4.0],
                               [0.0, 0.0, 0.0], [1.5, -2.0, 0.5]])
def test_prod_gradient_and_hessian_exact_with_zeros(x):
    x = np.array(x)
    np.testing.assert_array_equal(gk.grad(gnp.prod)(x), others(x))
    np.testing.assert_allclose(gk.hessian(gnp.prod)(x), pair_products(x), rtol=1e-15)
    np.testing.assert_allclose(gk.hessian(gnp.prod, mode="fwd")(x), pair_products(x),
                               rtol=1e-15)


def test_prod_zeros_along_axes_with_batch_axes():
    x = np.array([[[2.0, 0.0], [3.0, 1.0]], [[0.0, 0.0], [1.5, 2.0]]])  # (2, 2, 2)
    for axis in [0, 1, (0, 2), None]:
        def f(v, axis=axis):
            return gnp.prod(v, axis=axis)

        np.testing.assert_array_equal(gk.jacobian(f)(x), gk.jacobian(f, mode="fwd")(x))
    # axis (0, 2): out[j] = prod_{i,k} x[i, j, k]; check by brute force
    jac = gk.jacobian(lambda v: gnp.prod(v, axis=(0, 2)))(x)
    for j in range(2):
        np.testing.assert_array_equal(jac[j][:, j, :].ravel(), others(x[:, j, :].ravel()))
        assert not jac[j][:, 1 - j, :].any()


def cumprod_jacobian(x):
    n = x.size
    jac = np.zeros((n, n))
    for i in range(n):
        for k in range(i + 1):
            jac[i, k] = np.prod(np.delete(x[: i + 1], k))
    return jac


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, -0.5], [0.0, 1.5, 0.0, 4.0, 2.0],
                               [0.0], [1.5, -2.0, 0.5, 3.0, 0.25, 0.0, 2.0, 1.1, -1.0]])
def test_cumprod_jacobian_exact_with_zeros(x):
    x = np.array(x)
    np.testing.assert_allclose(gk.jacobian(gnp.cumprod)(x), cumprod_jacobian(x), rtol=1e-15)
    np.testing.assert_allclose(gk.jacobian(gnp.cumprod, mode="fwd")(x), cumprod_jacobian(x),
                               rtol=1e-15)


def test_cumprod_second_order_with_two_zeros():
    x = np.array([0.0, 2.0, 0.0, 3.0])
    w = np.array([1.0, 10.0, 100.0, 1000.0])

    def f(v):
        return gnp.sum(gnp.cumprod(v) * w)

    # f = sum_i w_i prod_{j<=i} x_j; d2f/dx_a dx_b = sum_{i >= max(a,b)} w_i prod others
    expected = np.zeros((4, 4))
    for a, b in itertools.permutations(range(4), 2):
        expected[a, b] = sum(w[i] * np.prod(np.delete(x[: i + 1], [a, b]))
                             for i in range(max(a, b), 4))
    np.testing.assert_allclose(gk.hessian(f)(x), expected, rtol=1e-15)
    np.testing.assert_allclose(gk.hessian(f, mode="fwd")(x), expected, rtol=1e-15)


def test_cumprod_axis_dtype_and_keywords():
    x = np.arange(1, 7).reshape(2, 3)
    np.testing.assert_array_equal(gnp.cumprod(x, axis=1), np.cumprod(x, axis=1))
    got = gnp.cumprod(x, axis=0, dtype=np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.cumprod(x, axis=0, dtype=np.float32))
    np.testing.assert_array_equal(gnp.cumprod(x), np.cumprod(x))
    with pytest.raises(gk.GradkitError, match=r"cumprod: out="):
        gnp.cumprod(x, out=np.empty(6))
    with pytest.raises(gk.GradkitError, match="out of bounds"):
        gnp.cumprod(x, axis=2)


def test_nanprod_and_nancumprod_with_zeros():
    x = np.array([2.0, np.nan, 0.0, 3.0])
    np.testing.assert_array_equal(gk.grad(gnp.nanprod)(x), [0.0, 0.0, 6.0, 0.0])
    g = gk.grad(lambda v: gnp.sum(gnp.nancumprod(v)))(x)
    # sum = x0 + x0 + x0 x2 + x0 x2 x3 (NaN counts as 1)
    np.testing.assert_array_equal(g, [2.0 + 0.0 + 0.0, 0.0, 2.0 + 6.0, 0.0])


def test_prod_keywords_follow_numpy():
    x = np.array([[2.0, -1.0, 3.0], [0.5, 4.0, -2.0]])
    mask = x > 0
    for kw in [{"where": mask}, {"initial": 2.0}, {"dtype": np.float32},
               {"axis": 1, "where": mask, "initial": -1.0, "keepdims": True}]:
        got, want = gnp.prod(x, **kw), np.prod(x, **kw)
        assert np.shape(got) == np.shape(want) and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    g = gk.grad(lambda v: gnp.prod(v, where=mask, initial=2.0))(x)
    np.testing.assert_array_equal(g, np.where(mask, 2.0 * np.prod(x[mask]) / x, 0.0))
    with pytest.raises(gk.GradkitError, match=r"prod: out="):
        gnp.prod(x, out=np.empty(()))


# -- elementwise at their special points ------------------------------------------------------


def test_sinc_at_zero_to_third_order_without_warnings():
    x = np.array([0.0, 0.5, -1.0, 1e-9])
    np.testing.assert_array_equal(gnp.sinc(x), np.sinc(x))
    d1 = gk.elementwise_grad(gnp.sinc)(x)
    with np.errstate(all="ignore"):
        px = np.pi * x[1:]
        exact = (np.cos(px) * px - np.sin(px)) / (np.pi * x[1:] ** 2)
    assert d1[0] == 0.0
    np.testing.assert_allclose(d1[1:3], exact[:2], rtol=1e-13)
    assert abs(d1[3]) < 1e-8  # sinc'(x) ~ -pi^2 x / 3 near 0
    assert gk.hessian(gnp.sinc)(0.0) == pytest.approx(-math.pi ** 2 / 3, rel=1e-15)
    # third derivative of sinc is odd: 0 at 0; the fourth is pi^4 / 5
    assert gk.grad(gk.grad(gk.grad(gnp.sinc)))(0.0) == 0.0
    d4 = gk.grad(gk.grad(gk.grad(gk.grad(gnp.sinc))))(0.0)
    assert d4 == pytest.approx(math.pi ** 4 / 5, rel=1e-12)
    # the two formulas agree where they meet (|pi x| = 0.3)
    edge = 0.3 / math.pi
    below = gk.hessian(gnp.sinc)(edge * (1 - 1e-12))
    above = gk.hessian(gnp.sinc)(edge * (1 + 1e-12))
    assert below == pytest.approx(above, rel=1e-11)


@pytest.mark.parametrize("fn, larger", [(gnp.fmax, True), (gnp.fmin, False)])
def test_fmax_fmin_nan_and_ties(fn, larger):
    x = np.array([1.0, np.nan, np.nan, 2.0, 5.0, -1.0])
    y = np.array([np.nan, 3.0, np.nan, 2.0, 0.0, 4.0])
    np.testing.assert_array_equal(fn(x, y), getattr(np, fn.__name__)(x, y))
    gx, gy = gk.grad(lambda a, b: gnp.sum(fn(a, b)), argnums=(0, 1))(x, y)
    x_wins = [1.0, 0.0, 0.0, 0.5, 1.0 if larger else 0.0, 0.0 if larger else 1.0]
    np.testing.assert_array_equal(gx, x_wins)
    np.testing.assert_array_equal(gy, [0.0, 1.0, 0.0, 0.5, 1.0 - x_wins[4], 1.0 - x_wins[5]])
    # a broadcast NaN scalar gets nothing, the other side everything
    g = gk.grad(lambda s: gnp.sum(fn(np.array([1.0, 2.0]), s)))(np.nan)
    assert g == 0.0


def test_remainder_and_fmod_derivatives_in_the_divisor():
    x = np.array([7.0, -7.0, 7.0, -7.0])
    y = np.array([2.0, 2.0, -2.0, -2.0])
    for name, quotient in (("remainder", np.floor), ("mod", np.floor), ("fmod", np.trunc)):
        fn = getattr(gnp, name)
        np.testing.assert_array_equal(fn(x, y), getattr(np, name)(x, y))
        gx, gy = gk.grad(lambda a, b: gnp.sum(fn(a, b)), argnums=(0, 1))(x, y)  # noqa: B023
        np.testing.assert_array_equal(gx, np.ones(4))
        np.testing.assert_array_equal(gy, -quotient(x / y))
    # the quotient is the one the forward pass used, also when x / y rounds up
    x, y = 1.0, 0.1  # 1.0 % 0.1 == 0.0999...: the floor quotient is 9, not 10
    assert gk.grad(gnp.remainder, argnums=1)(x, y) == -(x // y) == -9.0
    assert gk.grad(gnp.fmod, argnums=1)(x, y) == -9.0


def test_heaviside_derivatives():
    x1 = np.array([-1.0, 0.0, 2.0, 0.0])
    x2 = np.array([0.5, 0.25, 0.75, 1.0])
    np.testing.assert_array_equal(gnp.heaviside(x1, x2), np.heaviside(x1, x2))
    g1, g2 = gk.grad(lambda a, b: gnp.sum(gnp.heaviside(a, b)), argnums=(0, 1))(x1, x2)
    np.testing.assert_array_equal(g1, np.zeros(4))
    np.testing.assert_array_equal(g2, [0.0, 1.0, 0.0, 1.0])
    assert gk.grad(lambda s: gnp.sum(gnp.heaviside(x1, s)))(0.5) == 2.0


def test_nan_to_num_values_and_gradient():
    x = np.array([1.5, np.nan, np.inf, -np.inf, -2.0])
    for kw in [{}, {"nan": 3.0}, {"posinf": 9.0, "neginf": -9.0}, {"copy": True}]:
        np.testing.assert_array_equal(gnp.nan_to_num(x, **kw), np.nan_to_num(x, **kw))
    g = gk.grad(lambda v: gnp.sum(gnp.nan_to_num(v, nan=2.0, posinf=5.0, neginf=0.0) * 3.0))(x)
    np.testing.assert_array_equal(g, [3.0, 0.0, 0.0, 0.0, 3.0])
    f32 = gk.grad(lambda v: gnp.sum(gnp.nan_to_num(v)))(x.astype(np.float32))
    assert f32.dtype == np.float32
    y = x.copy()  # copy=False works in place on NumPy arrays, as NumPy
    assert gnp.nan_to_num(y, copy=False) is y and np.isfinite(y).all()
    with pytest.raises(gk.GradkitError, match=r"nan_to_num: copy=False"):
        gk.grad(lambda v: gnp.sum(gnp.nan_to_num(v, copy=False)))(x)
    with pytest.raises(gk.GradkitError, match=r"nan_to_num: nan= must be a number"):
        gk.grad(lambda v: gnp.sum(gnp.nan_to_num(x, nan=v)))(1.0)


def test_float_power_is_float64_as_numpy_and_casts_cotangents_back():
    x = np.array([1.5, 2.0], dtype=np.float32)
    out = gnp.float_power(x, 2)
    assert out.dtype == np.float64 == np.float_power(x, 2).dtype
    np.testing.assert_array_equal(out, np.float_power(x, 2))
    g = gk.grad(lambda v: gnp.sum(gnp.float_power(v, 3)))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 3 * x.astype(np.float64) ** 2, rtol=1e-7)
    np.testing.assert_array_equal(gnp.float_power(2, [3, -1]), np.float_power(2, [3, -1]))


@pytest.mark.parametrize("name", ["real", "conj", "conjugate", "real_if_close"])
def test_identities_on_real_input(name):
    fn = getattr(gnp, name)
    x = np.array([1.0, -2.0, 3.5])
    np.testing.assert_array_equal(fn(x), getattr(np, name)(x))
    np.testing.assert_array_equal(gk.elementwise_grad(fn)(x), np.ones(3))


def test_imag_and_angle_have_zero_gradient():
    x = np.array([1.0, -2.0, 0.0, -0.0, np.inf])
    np.testing.assert_array_equal(gnp.imag(x), np.imag(x))
    for deg in (False, True):
        np.testing.assert_array_equal(gnp.angle(x, deg=deg), np.angle(x, deg=deg))
    for f in (gnp.imag, gnp.angle, lambda v: gnp.angle(v, deg=True)):
        (g,) = gk.vjp(f, x)[1](np.ones(5))
        np.testing.assert_array_equal(g, np.zeros(5))
    assert gk.hessian(lambda v: gnp.sum(gnp.imag(v) + v ** 2))(x[:2]).tolist() == \
        [[2.0, 0.0], [0.0, 2.0]]


@pytest.mark.parametrize("name", ["deg2rad", "rad2deg", "degrees", "radians", "fabs",
                                  "sinc"])
def test_unary_values_equal_numpy(name):
    for x in (np.linspace(-4.0, 4.0, 9), np.arange(-3, 4), np.float32([-1.5, 0.25]), 2.0):
        got, want = getattr(gnp, name)(x), getattr(np, name)(x)
        np.testing.assert_array_equal(got, want)
        assert np.result_type(got) == np.result_type(want)
    (g,) = gk.vjp(getattr(gnp, name), np.float32([0.5, -1.5]))[1](np.ones(2, np.float32))
    assert g.dtype == np.float32


@pytest.mark.parametrize("name", ["remainder", "mod", "fmod", "fmax", "fmin", "logaddexp2",
                                  "heaviside", "true_divide", "float_power"])
def test_binary_values_equal_numpy(name):
    x = np.array([[-3.5, -1.0, 0.0, 2.0, 7.25]])
    y = np.array([[1.5], [-2.0], [3.0]])
    if name == "float_power":  # NumPy warns at 0 ** -2 and (-1) ** 1.5
        x = np.abs(x) + 0.5
    got, want = getattr(gnp, name)(x, y), getattr(np, name)(x, y)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype
    ints = getattr(np, name)(np.arange(1, 5), 3) if name != "heaviside" else None
    if ints is not None:
        np.testing.assert_array_equal(getattr(gnp, name)(np.arange(1, 5), 3), ints)


def test_logaddexp2_gradient():
    x, y = np.array([1.0, -3.0, 500.0]), np.array([2.0, 40.0, 0.0])
    gx, gy = gk.grad(lambda a, b: gnp.sum(gnp.logaddexp2(a, b)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 1 / (1 + 2.0 ** (y - x)), rtol=1e-14)
    np.testing.assert_allclose(gx + gy, np.ones(3), rtol=1e-15)


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    # ufunc keywords: NumPy's call on plain arrays, refused on Tensors (traced or eager)
    (lambda: gnp.fmax(_T(), 2.0, out=np.empty(())), r"fmax: the ufunc keyword out="),
    (lambda: gnp.remainder(_T(), 2.0, where=True), r"remainder: the ufunc keyword where="),
    (lambda: gnp.sinc(1.0 + 2.0j), r"sinc: complex input \(dtype complex128\)"),
    (lambda: gnp.real(np.array([1j])), r"real: complex input"),
    (lambda: gnp.imag(np.array([1j])), r"imag: complex input"),
    (lambda: gnp.angle(1j), r"angle: complex input"),
    (lambda: gnp.conj(np.array([1j])), r"conjugate: complex input"),
    (lambda: gnp.fmin(np.ones(2), np.array([1j, 2])), r"fmin: complex input"),
    (lambda: gnp.deg2rad(_T(), dtype=np.float32), r"deg2rad: the ufunc keyword dtype="),
    (lambda: gnp.quantile(np.ones(3), 0.5, out=np.empty(())), r"quantile: out="),
    (lambda: gnp.quantile(np.ones(3), 0.5, weights=np.ones(3)), r"quantile: weights="),
    (lambda: gnp.quantile(np.ones(3), 0.5, method="cubic"), r"'cubic' is not a valid method"),
    (lambda: gnp.quantile(np.ones(3), 1.5), r"Quantiles must be in the range \[0, 1\]"),
    (lambda: gnp.percentile(np.ones(3), -5), r"Percentiles must be in the range"),
    (lambda: gnp.quantile(np.ones(3), np.ones((2, 2, 2)) / 2), r"q must be a scalar or 1d"),
    (lambda: gnp.median(np.ones(3), out=np.empty(())), r"median: out="),
    (lambda: gnp.median(np.ones(3) * 1j), r"median: complex input"),
    (lambda: gnp.median(np.ones((2, 3)), axis=(1, 1)), r"median: repeated axis"),
    (lambda: gnp.nanmean(np.ones(3), out=np.empty(())), r"nanmean: out="),
    (lambda: gnp.nanvar(np.ones(3), ddof=1, correction=1), r"ddof and correction"),
    (lambda: gnp.nanmax(np.ones(3), where=np.ones(3, bool)), r"nanmax: where= needs initial"),
    (lambda: gnp.ptp(np.ones(3), out=np.empty(())), r"ptp: out="),
    (lambda: gnp.average(np.ones((2, 3)), weights=np.ones(3)), r"axis must be specified"),
    (lambda: gnp.average(np.ones((2, 3)), axis=0, weights=np.ones(3)),
     r"shape of weights \(3,\) must be consistent"),
    (lambda: gnp.average(np.ones(2), weights=np.array([1.0, -1.0])), r"weights sum to zero"),
    (lambda: gnp.cov(np.ones((2, 2, 2))), r"cov: 3-d input"),
    (lambda: gnp.cov(np.ones((2, 3)), ddof=1.5), r"ddof must be integer"),
    (lambda: gnp.cov(np.ones((2, 3)), fweights=[1.0, 2.5, 1.0]), r"fweights must be integer"),
    (lambda: gnp.cov(np.ones((2, 3)), aweights=[1.0, 2.0]), r"incompatible numbers"),
    (lambda: gnp.cov(np.ones((2, 3)), aweights=[1.0, -2.0, 1.0]), r"cannot be negative"),
    (lambda: gnp.nancumsum(np.ones(3), out=np.empty(3)), r"nancumsum: out="),
])
def test_errors_name_the_call_and_argument(call, match):
    with pytest.raises(gk.GradkitError, match=match):
        call()


def test_traced_q_is_refused():
    x = np.array([1.0, 2.0, 4.0])
    with pytest.raises(gk.GradkitError, match=r"quantile: q is a constant"):
        gk.grad(lambda q: gnp.quantile(x, q))(0.5)
    assert gnp.quantile(x, gk.tensor(0.5)) == 2.0  # a constant Tensor is fine


# -- order statistics -------------------------------------------------------------------------

METHODS = ["inverted_cdf", "averaged_inverted_cdf", "closest_observation",
           "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
           "normal_unbiased", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("method", METHODS)
def test_quantile_equals_numpy_exactly(method):
    rng = np.random.default_rng(5)
    qs = [0.0, 0.1, 0.25, 1 / 3, 0.5, 0.77, 1.0, [0.2, 0.5, 1.0], np.linspace(0, 1, 7)]
    for n in range(1, 7):
        x = rng.standard_normal((2, n))
        for q, axis, keepdims in itertools.product(qs, [None, 0, 1, (0, 1)], [False, True]):
            got = gnp.quantile(x, q, axis=axis, method=method, keepdims=keepdims)
            want = np.quantile(x, q, axis=axis, method=method, keepdims=keepdims)
            assert np.shape(got) == np.shape(want)
            np.testing.assert_array_equal(got, want)
            qp = np.asarray(q) * 100
            np.testing.assert_allclose(
                gnp.percentile(x, qp, axis=axis, method=method, keepdims=keepdims),
                np.percentile(x, qp, axis=axis, method=method, keepdims=keepdims),
                rtol=1e-15, atol=0)


def test_quantile_gradient_follows_the_interpolation_weights():
    x = np.array([4.0, 1.0, 3.0, 2.0, 5.0])  # sorted: 1 2 3 4 5 at 1 3 2 0 4
    # linear, q = 0.3: index 1.2 -> 0.8 * (2) + 0.2 * (3)
    np.testing.assert_allclose(gk.grad(lambda v: gnp.quantile(v, 0.3))(x),
                               [0.0, 0.0, 0.2, 0.8, 0.0], rtol=1e-12)
    # hazen, q = 0.3: index 5 * 0.3 + 0.5 - 1 = 1.0 -> exactly the 2nd smallest
    np.testing.assert_allclose(gk.grad(lambda v: gnp.quantile(v, 0.3, method="hazen"))(x),
                               [0.0, 0.0, 0.0, 1.0, 0.0], atol=1e-15)
    # midpoint: half each
    np.testing.assert_array_equal(
        gk.grad(lambda v: gnp.quantile(v, 0.3, method="midpoint"))(x), [0, 0, 0.5, 0.5, 0])
    # q = 0 and q = 1 put everything on the extremes
    np.testing.assert_array_equal(gk.grad(lambda v: gnp.quantile(v, 1.0))(x), [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(gk.grad(lambda v: gnp.quantile(v, 0.0))(x), [0, 1, 0, 0, 0])


def test_median_and_quantile_ties_follow_the_stable_sort():
    x = np.array([2.0, 1.0, 2.0, 2.0, 0.0])  # stable order: 0 (4), 1 (1), 2 (0), 2 (2), 2 (3)
    np.testing.assert_array_equal(gk.grad(gnp.median)(x), [1.0, 0.0, 0.0, 0.0, 0.0])
    # q = 0.625 -> index 2.5: half to the first and half to the second 2 of the stable sort
    np.testing.assert_array_equal(gk.grad(lambda v: gnp.quantile(v, 0.625))(x),
                                  [0.5, 0.0, 0.5, 0.0, 0.0])
    y = np.array([1.0, 3.0, 3.0, 0.0])  # even count: the two middle values share
    np.testing.assert_array_equal(gk.grad(gnp.median)(y), [0.5, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(gk.jacobian(gnp.median, mode="fwd")(y), [0.5, 0.5, 0, 0])


def test_median_values_equal_numpy():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 5))
    for axis, keepdims in itertools.product([None, 0, 1, -1, (0, 2)], [False, True]):
        got = gnp.median(x, axis=axis, keepdims=keepdims)
        np.testing.assert_array_equal(got, np.median(x, axis=axis, keepdims=keepdims))
    assert gnp.median(np.float32([1.0, 2.0])).dtype == np.float32
    assert gnp.median(3.0) == 3.0
    nan = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(gnp.median(nan, axis=1), np.median(nan, axis=1))
    g = gk.grad(lambda v: gnp.sum(gnp.median(v, axis=1)))(nan)
    np.testing.assert_array_equal(g, [[0, 0, 0], [0, 1, 0]])


def test_numpy_functions_dispatch_to_gradkit():
    x = np.array([3.0, 1.0, 2.0, 4.0])
    g = gk.grad(lambda v: np.median(v) + np.quantile(v, 0.25) + np.nanmean(v))(x)
    np.testing.assert_allclose(g, [0.75, 0.5, 1.5, 0.25])


@contextmanager
def all_nan_warnings_allowed():
    """NumPy and gradkit both warn at all-NaN slices; these tests compare their values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# -- NaN-ignoring reductions ------------------------------------------------------------------


def with_nan():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 5))
    x[0, 1, 2] = np.nan
    x[1, :, 3] = np.nan
    x[2, 2, :] = np.nan
    return x


NAN_FUNCS = ["nansum", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "nanmedian",
             "nanprod", "median", "ptp"]


@pytest.mark.parametrize("name", NAN_FUNCS)
def test_nan_reductions_equal_numpy(name):
    x = with_nan()
    for axis, keepdims in itertools.product([None, 0, 1, 2, (0, 2)], [False, True]):
        with all_nan_warnings_allowed():
            got = getattr(gnp, name)(x, axis=axis, keepdims=keepdims)
            want = getattr(np, name)(x, axis=axis, keepdims=keepdims)
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)


@pytest.mark.parametrize("method", METHODS)
def test_nanquantile_equals_numpy(method):
    x = with_nan()
    for q, axis in itertools.product([0.3, [0.0, 0.5, 1.0]], [None, 0, 1, 2, (1, 2)]):
        with all_nan_warnings_allowed():
            got = gnp.nanquantile(x, q, axis=axis, method=method)
            want = np.nanquantile(x, q, axis=axis, method=method)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
        with all_nan_warnings_allowed():
            got = gnp.nanpercentile(x, np.multiply(q, 100), axis=axis, method=method)
            want = np.nanpercentile(x, np.multiply(q, 100), axis=axis, method=method)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)


@pytest.mark.parametrize("name, match", [
    ("nanmedian", "All-NaN slice encountered"), ("nanmax", "All-NaN slice encountered"),
    ("nanmin", "All-NaN slice encountered"), ("nanmean", "Mean of empty slice"),
    ("nanvar", "Degrees of freedom <= 0"), ("nanstd", "Degrees of freedom <= 0"),
])
def test_all_nan_slices_warn_as_numpy_and_get_zero_gradient(name, match):
    x = np.array([[np.nan, np.nan], [1.0, 3.0]])
    with pytest.warns(RuntimeWarning, match=match):
        want = getattr(np, name)(x, axis=1)
    with pytest.warns(RuntimeWarning, match=match):
        got = getattr(gnp, name)(x, axis=1)
    np.testing.assert_array_equal(got, want)
    with pytest.warns(RuntimeWarning, match=match):
        g = gk.grad(lambda v: gnp.sum(getattr(gnp, name)(v, axis=1)[1]))(x)
    assert np.isfinite(g).all() and not g[0].any()


def test_nanquantile_all_nan_slice():
    x = np.array([[np.nan, np.nan], [1.0, 3.0]])
    with pytest.warns(RuntimeWarning, match="All-NaN slice encountered"):
        got = gnp.nanquantile(x, 0.25, axis=1)
    np.testing.assert_array_equal(got, [np.nan, 1.5])


def test_nan_reductions_give_nan_entries_zero_gradient():
    x = np.array([[1.0, np.nan, 3.0, 3.0], [np.nan, 2.0, -1.0, 0.5]])
    ok = ~np.isnan(x)
    cases = {
        "nansum": ok * 1.0,
        "nanmean": ok / ok.sum(axis=1, keepdims=True),
        "nanmax": np.array([[0, 0, 0.5, 0.5], [0, 1, 0, 0]]),  # tied maxima share
        "nanmin": np.array([[1, 0, 0, 0], [0, 0, 1, 0]]),
        "nanmedian": np.array([[0, 0, 1, 0], [0, 0, 0, 1]]),  # stable order for the tie
    }
    for name, expected in cases.items():
        g = gk.grad(lambda v: gnp.sum(getattr(gnp, name)(v, axis=1)))(x)  # noqa: B023
        np.testing.assert_allclose(g, expected, rtol=1e-15, err_msg=name)
    for name in ("nanvar", "nanstd", "nanprod", "nancumsum", "nancumprod"):
        g = gk.grad(lambda v: gnp.sum(getattr(gnp, name)(v, axis=1)))(x)  # noqa: B023
        assert np.isfinite(g).all() and not g[~ok].any(), name
    h = gk.hessian(lambda v: gnp.nanvar(v))(x)
    assert np.isfinite(h).all() and not h[~ok].any()


def test_nan_keywords_equal_numpy():
    x = with_nan()
    mask = x > -0.5
    with all_nan_warnings_allowed():
        m = np.nanmean(x, axis=1, keepdims=True)
    pairs = [
        ("nansum", {"axis": 1, "where": mask, "initial": 1.0}),
        ("nansum", {"dtype": np.float32}),
        ("nanprod", {"axis": 2, "where": mask, "initial": 2.0, "keepdims": True}),
        ("nanmean", {"axis": 0, "where": mask}),
        ("nanmean", {"axis": 1, "dtype": np.float32}),
        ("nanvar", {"axis": 1, "ddof": 1}),
        ("nanvar", {"axis": 1, "correction": 1, "keepdims": True}),
        ("nanvar", {"axis": 1, "mean": m}),
        ("nanstd", {"axis": 2, "where": mask}),
        ("nanmax", {"axis": 1, "where": mask, "initial": -5.0}),
        ("nanmin", {"axis": 0, "initial": 0.0}),
        ("nancumsum", {"axis": 1, "dtype": np.float32}),
        ("nancumprod", {"axis": 0}),
    ]
    for name, kw in pairs:
        with all_nan_warnings_allowed():
            got, want = getattr(gnp, name)(x, **kw), getattr(np, name)(x, **kw)
        assert np.shape(got) == np.shape(want) and np.result_type(got) == want.dtype, name
        np.testing.assert_allclose(got, want, rtol=2e-7 if want.dtype == np.float32 else 1e-13,
                                   err_msg=f"{name} {kw}")


# -- averages and covariance ------------------------------------------------------------------


def test_average_equals_numpy():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((2, 3, 4))
    w = rng.uniform(0.5, 2.0, (2, 3, 4))
    for axis, weights in [(None, None), (None, w), (1, None), (1, w[0, :, 0]),
                          ((0, 2), w[:, 0, :]), ((2, 0), w[:, 0, :].T), (2, w)]:
        for keepdims, returned in itertools.product([False, True], [False, True]):
            got = gnp.average(a, axis, weights, returned, keepdims=keepdims)
            want = np.average(a, axis, weights, returned, keepdims=keepdims)
            pairs = zip(got, want) if returned else [(got, want)]
            for g, v in pairs:
                assert np.shape(g) == np.shape(v)
                np.testing.assert_allclose(g, v, rtol=1e-14)
    np.testing.assert_array_equal(gnp.average(np.arange(4)), np.average(np.arange(4)))


def test_average_gradient_in_the_weights():
    a = np.array([1.0, 2.0, 4.0])
    w = np.array([1.0, 1.0, 2.0])
    ga, gw = gk.grad(lambda a, w: gnp.average(a, weights=w), argnums=(0, 1))(a, w)
    avg = np.average(a, weights=w)
    np.testing.assert_allclose(ga, w / w.sum(), rtol=1e-15)
    np.testing.assert_allclose(gw, (a - avg) / w.sum(), rtol=1e-15)


def test_cov_and_corrcoef_equal_numpy():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 6))
    y = rng.standard_normal(6)
    fw = np.array([1, 2, 1, 3, 1, 1])
    aw = rng.uniform(0.5, 2.0, 6)
    kws = [{}, {"rowvar": False}, {"bias": True}, {"ddof": 3}, {"fweights": fw},
           {"aweights": aw}, {"fweights": fw, "aweights": aw}, {"aweights": aw, "ddof": 0},
           {"dtype": np.float32}]
    for kw in kws:
        for args in [(x,), (x, x[0] * 2.0), (y,), (y, y + x[1])]:
            if kw.get("rowvar") is False and len(args) == 2:
                continue
            got, want = gnp.cov(*args, **kw), np.cov(*args, **kw)
            assert np.shape(got) == np.shape(want) and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=1e-5 if want.dtype == np.float32
                                       else 1e-13)
        rowvar = kw.get("rowvar", True)
        np.testing.assert_allclose(gnp.corrcoef(x, rowvar=rowvar), np.corrcoef(x, rowvar=rowvar),
                                   rtol=1e-13)
    np.testing.assert_allclose(gnp.corrcoef(y, y + x[1]), np.corrcoef(y, y + x[1]), rtol=1e-13)
    assert gnp.corrcoef(y) == np.corrcoef(y) == 1.0


def test_cov_gradients_second_order():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 5))
    aw = rng.uniform(0.5, 2.0, 5)
    gk.check_grads(lambda x, w: gnp.cov(x, aweights=w, fweights=[1, 2, 1, 1, 3]), (x, aw),
                   order=2)
    gk.check_grads(lambda x: gnp.corrcoef(x, rowvar=False), (x.T,), order=2)


def test_ufunc_keywords_on_plain_arrays_are_numpys():
    out = np.empty(2)
    res = gnp.fmax(np.array([1.0, np.nan]), 0.5, out=out)
    assert res is out and out.tolist() == [1.0, 0.5]
    np.testing.assert_array_equal(gnp.deg2rad(np.array([180.0]), dtype=np.float32),
                                  np.deg2rad(np.array([180.0]), dtype=np.float32))
