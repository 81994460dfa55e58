"""gradkit.scipy: values equal to SciPy's, closed-form derivatives, domain edges, logsumexp's
weights and sign, constant arguments, and the error without SciPy."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as ss

import cases_scipy  # noqa: F401  (registers the table cases checked below)
import gradkit as gk
import gradkit.numpy as gnp
from gradkit.scipy import special as gs
from gradkit.scipy.stats import norm
from primtable import CASES

X = np.array([0.35, 0.8, 1.3, 2.7])

# -- values ----------------------------------------------------------------------------------

UNARY_POINTS = {
    "expit": X - 1.0, "logit": X / 3, "log_expit": X - 1.0, "erf": X - 1.0, "erfc": X - 1.0,
    "erfcx": X, "erfinv": X / 3, "erfcinv": X / 2, "ndtr": X - 1.0, "log_ndtr": X - 5.0,
    "ndtri": X / 3, "ndtri_exp": -X, "gamma": X, "gammaln": X - 3.0, "loggamma": X,
    "rgamma": X, "digamma": X, "entr": X, "exp1": X, "expi": X - 1.0, "i0": X, "i1": X,
    "i0e": X, "i1e": X, "j0": X, "j1": X, "y0": X, "y1": X, "k0": X, "k1": X,
}


@pytest.mark.parametrize("name", sorted(UNARY_POINTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unary_values_equal_scipy(name, dtype):
    x = UNARY_POINTS[name].astype(dtype)
    got = getattr(gs, name)(x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, getattr(sc, name)(x).astype(dtype))
    # a Python float gives float64, as in SciPy
    assert np.asarray(getattr(gs, name)(float(x[1]))).dtype == np.float64


def test_other_values_equal_scipy():
    a, b = X, X[::-1].copy()
    for name in ("beta", "betaln", "xlogy", "xlog1py", "rel_entr", "kl_div"):
        np.testing.assert_array_equal(getattr(gs, name)(a, b), getattr(sc, name)(a, b))
    for name in ("iv", "ive", "jv", "jn", "yv", "yn", "kv"):
        np.testing.assert_array_equal(getattr(gs, name)(2, a), getattr(sc, name)(2, a))
    np.testing.assert_array_equal(gs.polygamma(3, a), sc.polygamma(3, a))
    np.testing.assert_array_equal(gs.multigammaln(a + 2, 3), sc.multigammaln(a + 2, 3))
    np.testing.assert_array_equal(gs.gammainc(1.5, a), sc.gammainc(1.5, a))
    np.testing.assert_array_equal(gs.gammaincc(1.5, a), sc.gammaincc(1.5, a))
    np.testing.assert_array_equal(gs.betainc(1.5, 2.0, a / 3), sc.betainc(1.5, 2.0, a / 3))
    np.testing.assert_array_equal(gs.betaincc(1.5, 2.0, a / 3), sc.betaincc(1.5, 2.0, a / 3))
    np.testing.assert_array_equal(gs.gammasgn(a - 2), sc.gammasgn(a - 2))
    m = np.arange(12.0).reshape(3, 4) / 5
    for axis in (None, 0, -1, (0, 1)):
        np.testing.assert_array_equal(gs.softmax(m, axis), sc.softmax(m, axis))
        np.testing.assert_array_equal(gs.log_softmax(m, axis), sc.log_softmax(m, axis))
        np.testing.assert_array_equal(gs.logsumexp(m, axis), sc.logsumexp(m, axis))


def test_polygamma_and_order_families_keep_float32():
    x = X.astype(np.float32)
    assert gs.polygamma(2, x).dtype == np.float32  # SciPy's own polygamma gives float64
    assert gs.multigammaln(x + 2, 2).dtype == np.float32
    assert gs.yn(1, x).dtype == np.float32
    np.testing.assert_array_equal(gs.polygamma(2, x), sc.polygamma(2, x).astype(np.float32))


@pytest.mark.parametrize("name", ["pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"])
def test_norm_values_equal_scipy(name):
    x = np.linspace(-9.0, 9.0, 13)
    loc = np.array([[0.3], [-1.0]])
    ours, theirs = getattr(norm, name), getattr(ss.norm, name)
    np.testing.assert_array_equal(ours(x), theirs(x))
    np.testing.assert_array_equal(ours(x, loc, 1.7), theirs(x, loc, 1.7))
    np.testing.assert_array_equal(ours(x, scale=0.4), theirs(x, scale=0.4))
    np.testing.assert_array_equal(ours(np.arange(-3, 4)), theirs(np.arange(-3, 4)))  # ints


@pytest.mark.parametrize("name", ["ppf", "isf"])
def test_norm_quantiles_equal_scipy(name):
    q = np.array([0.0, 1e-10, 0.2, 0.5, 0.9, 1.0])
    ours, theirs = getattr(norm, name), getattr(ss.norm, name)
    np.testing.assert_array_equal(ours(q), theirs(q))
    np.testing.assert_array_equal(ours(q, 2.0, 3.0), theirs(q, 2.0, 3.0))


def test_norm_invalid_scale_is_nan_as_in_scipy():
    scale = np.array([1.0, 0.0, -2.0])
    for name in ("pdf", "logpdf", "cdf", "logsf", "ppf"):
        with np.errstate(divide="ignore", invalid="ignore"):  # SciPy's own warnings
            expected = getattr(ss.norm, name)(0.3, 0.0, scale)
        got = getattr(norm, name)(0.3, 0.0, scale)
        np.testing.assert_array_equal(got, expected)
        f = getattr(norm, name)
        g = gk.grad(lambda s: gnp.sum(f(0.3, 0.0, s)))(scale)  # noqa: B023
        assert np.isfinite(g[0]) and np.isnan(g[1:]).all()
    assert np.isnan(norm.cdf(0.3, scale=-1.0))


def test_norm_keeps_float32():
    x = np.linspace(-1, 1, 5, dtype=np.float32)
    for name in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"):
        assert getattr(norm, name)(x).dtype == np.float32
        assert getattr(norm, name)(x, np.float32(0.5), np.float32(2.0)).dtype == np.float32
    assert norm.ppf(x / 3 + 0.5, 1.0, 2.0).dtype == np.float32


# -- derivatives against closed forms ----------------------------------------------------------


def egrad(f, x):
    return gk.elementwise_grad(f)(x)


def test_first_derivatives_closed_forms():
    x = X
    rt = dict(rtol=1e-13, atol=0)
    np.testing.assert_allclose(egrad(gs.erf, x), 2 / np.sqrt(np.pi) * np.exp(-x * x), **rt)
    np.testing.assert_allclose(egrad(gs.erfc, x), -2 / np.sqrt(np.pi) * np.exp(-x * x), **rt)
    p = x / 3
    np.testing.assert_allclose(egrad(gs.erfinv, p),
                               np.sqrt(np.pi) / 2 * np.exp(sc.erfinv(p) ** 2), **rt)
    np.testing.assert_allclose(egrad(gs.erfcinv, p),
                               -np.sqrt(np.pi) / 2 * np.exp(sc.erfcinv(p) ** 2), **rt)
    np.testing.assert_allclose(egrad(gs.logit, p), 1 / (p * (1 - p)), **rt)
    np.testing.assert_allclose(egrad(gs.expit, x), sc.expit(x) * sc.expit(-x), **rt)
    np.testing.assert_allclose(egrad(gs.ndtri, p),
                               np.sqrt(2 * np.pi) * np.exp(sc.ndtri(p) ** 2 / 2), **rt)
    np.testing.assert_allclose(egrad(gs.log_ndtr, x - 3),
                               ss.norm.pdf(x - 3) / ss.norm.cdf(x - 3), rtol=1e-12)
    np.testing.assert_allclose(egrad(gs.gammaln, x), sc.digamma(x), **rt)
    np.testing.assert_allclose(egrad(gs.gamma, x), sc.gamma(x) * sc.digamma(x), **rt)
    np.testing.assert_allclose(egrad(gs.digamma, x), sc.polygamma(1, x), **rt)
    np.testing.assert_allclose(egrad(lambda x: gs.polygamma(2, x), x), sc.polygamma(3, x), **rt)
    np.testing.assert_allclose(egrad(gs.entr, x), -np.log(x) - 1, **rt)
    np.testing.assert_allclose(egrad(gs.j0, x), -sc.j1(x), **rt)
    np.testing.assert_allclose(egrad(gs.i1, x), sc.i0(x) - sc.i1(x) / x, rtol=1e-12)
    np.testing.assert_allclose(egrad(lambda x: gs.multigammaln(x + 2, 3), x),
                               sum(sc.digamma(x + 2 - j / 2) for j in range(3)), **rt)
    np.testing.assert_allclose(egrad(lambda x: gs.gammainc(2.5, x), x),
                               x ** 1.5 * np.exp(-x) / sc.gamma(2.5), rtol=1e-12)
    np.testing.assert_allclose(egrad(lambda x: gs.betainc(2.0, 3.0, x), p),
                               p * (1 - p) ** 2 / sc.beta(2.0, 3.0), rtol=1e-12)


def test_higher_orders_use_the_next_special_function():
    x = X
    np.testing.assert_allclose(egrad(egrad_of(gs.gammaln), x), sc.polygamma(1, x), rtol=1e-13)
    third = gk.elementwise_grad(gk.elementwise_grad(gk.elementwise_grad(gs.gammaln)))(x)
    np.testing.assert_allclose(third, sc.polygamma(2, x), rtol=1e-13)
    h = gk.hessian(lambda v: gnp.sum(gs.erf(v)))(x)
    np.testing.assert_allclose(np.diag(h), -4 * x / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-13)
    for f in (gs.erfinv, gs.ndtri, gs.logit):
        gk.check_grads(f, (np.array([0.3, 0.45, 0.6]),), order=3)
    gk.check_grads(lambda x: gs.polygamma(1, x), (x,), order=3)


def egrad_of(f):
    return gk.elementwise_grad(f)


def test_norm_derivatives_in_x_loc_scale():
    x, loc, scale = 1.3, 0.4, 1.7
    z = (x - loc) / scale
    pdf = ss.norm.pdf(x, loc, scale)
    gx, gl, gsc = gk.grad(norm.cdf, argnums=(0, 1, 2))(x, loc, scale)
    np.testing.assert_allclose([gx, gl, gsc], [pdf, -pdf, -pdf * z], rtol=1e-13)
    gx, gl, gsc = gk.grad(norm.logpdf, argnums=(0, 1, 2))(x, loc, scale)
    np.testing.assert_allclose([gx, gl, gsc], [-z / scale, z / scale, (z * z - 1) / scale],
                               rtol=1e-13)
    gx, gl, gsc = gk.grad(norm.pdf, argnums=(0, 1, 2))(x, loc, scale)
    np.testing.assert_allclose([gx, gl, gsc],
                               [-pdf * z / scale, pdf * z / scale, pdf * (z * z - 1) / scale],
                               rtol=1e-13)
    q = 0.3
    gq, gl, gsc = gk.grad(norm.ppf, argnums=(0, 1, 2))(q, loc, scale)
    np.testing.assert_allclose([gq, gl, gsc],
                               [1 / ss.norm.pdf(ss.norm.ppf(q, loc, scale), loc, scale), 1.0,
                                sc.ndtri(q)], rtol=1e-13)
    g = gk.grad(norm.logsf)(x, loc, scale)
    np.testing.assert_allclose(g, -pdf / ss.norm.sf(x, loc, scale), rtol=1e-13)


# -- edges of the domains: SciPy's values, honest derivatives, no warnings ----------------------
# (pytest turns every RuntimeWarning into an error)


def test_xlogy_at_zero():
    assert gs.xlogy(0.0, 0.0) == 0.0
    gx, gy = gk.grad(gs.xlogy, argnums=(0, 1))(0.0, 0.0)
    assert gy == 0.0 and gx == -np.inf
    gx, gy = gk.grad(gs.xlogy, argnums=(0, 1))(0.0, 2.0)
    assert gy == 0.0 and gx == math.log(2.0)
    gx, gy = gk.grad(gs.xlogy, argnums=(0, 1))(3.0, 0.0)
    assert gy == np.inf and gx == -np.inf
    # a Jacobian pushes zero cotangents through the edge: zeros, not NaN
    x = np.array([0.0, 0.5, 0.0])
    y = np.array([0.0, 0.0, 2.0])
    jx, jy = gk.jacobian(gs.xlogy, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(jy, np.diag([0.0, np.inf, 0.0]))
    np.testing.assert_array_equal(jx, np.diag([-np.inf, -np.inf, math.log(2.0)]))
    jx_f, jy_f = gk.jacobian(gs.xlogy, argnums=(0, 1), mode="fwd")(x, y)
    np.testing.assert_array_equal(jy_f, jy)
    np.testing.assert_array_equal(jx_f, jx)
    # d/dy at x = 0 stays 0 at second order too
    assert gk.grad(gk.grad(gs.xlogy, argnums=1), argnums=1)(0.0, 0.0) == 0.0
    assert gk.grad(gs.xlog1py, argnums=1)(0.0, -1.0) == 0.0


def test_entr_at_zero():
    assert gs.entr(0.0) == 0.0
    assert gk.grad(gs.entr)(0.0) == np.inf
    assert gk.grad(gk.grad(gs.entr))(0.0) == -np.inf
    np.testing.assert_array_equal(gk.jacobian(gs.entr)(np.array([0.0, 1.0])),
                                  [[np.inf, 0.0], [0.0, -1.0]])
    assert gs.entr(-1.0) == -np.inf


@pytest.mark.parametrize("f, points, values", [
    (gs.logit, [0.0, 1.0], [-np.inf, np.inf]),
    (gs.erfinv, [-1.0, 1.0], [-np.inf, np.inf]),
    (gs.ndtri, [0.0, 1.0], [-np.inf, np.inf]),
])
def test_infinite_ends_have_infinite_slopes(f, points, values):
    p = np.array(points)
    np.testing.assert_array_equal(f(p), values)
    np.testing.assert_array_equal(gk.elementwise_grad(f)(p), [np.inf, np.inf])
    for mode in ("rev", "fwd"):
        np.testing.assert_array_equal(gk.jacobian(f, mode=mode)(p), np.diag([np.inf, np.inf]))
    assert gk.grad(gs.erfcinv)(0.0) == -np.inf


def test_iv_at_tiny_x_is_not_nan():
    # SciPy's iv is NaN below ~1e-305; the rules of i0 and i1 go through it
    assert gs.iv(2, 1e-308) == 0.0
    assert gk.grad(gs.i1)(1e-308) == 0.5
    assert gk.grad(gk.grad(gs.i0))(1e-310) == 0.5


# -- logsumexp ----------------------------------------------------------------------------------


def test_logsumexp_with_b_and_sign():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    b = np.array([1.0, -2.0, 0.5, 3.0])
    for axis in (None, 0, 1, (0, 1)):
        for keepdims in (False, True):
            got, sgn = gs.logsumexp(a, axis, b=b, keepdims=keepdims, return_sign=True)
            want, wsgn = sc.logsumexp(a, axis, b=b, keepdims=keepdims, return_sign=True)
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(sgn, wsgn)
    # d/da_i = b_i exp(a_i) / s and d/db_i = exp(a_i) / s, s = sum(b exp(a)), here negative
    a = np.array([0.1, 0.9, -0.3])
    b = np.array([1.0, -2.0, 0.5])
    s = np.sum(b * np.exp(a))
    assert s < 0
    def log_abs(a, b):
        return gs.logsumexp(a, b=b, return_sign=True)[0]

    ga, gb = gk.grad(log_abs, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, b * np.exp(a) / s, rtol=1e-13)
    np.testing.assert_allclose(gb, np.exp(a) / s, rtol=1e-13)
    gk.check_grads(log_abs, (a, b), order=2)
    # without return_sign the log of a negative sum is NaN, as in SciPy, and so is its slope
    assert np.isnan(gs.logsumexp(a, b=b)) and np.isnan(sc.logsumexp(a, b=b))
    assert np.isnan(gk.grad(lambda a: gs.logsumexp(a, b=b))(a)).all()
    # the sign is a constant: a plain array, and the value alone carries the gradient
    value, sgn = gs.logsumexp(gk.tensor(a, requires_grad=True), b=b, return_sign=True)
    assert isinstance(sgn, np.ndarray) and sgn == -1.0
    assert value.requires_grad and value.item() == pytest.approx(math.log(-s), rel=1e-14)


def test_logsumexp_b_broadcasts_a_and_keeps_float32():
    a = np.array([[0.2], [1.0]])  # (2, 1)
    b = np.array([1.0, 2.0, 0.5])  # (3,)
    got = gs.logsumexp(a, axis=0, b=b)
    np.testing.assert_array_equal(got, sc.logsumexp(a, axis=0, b=b))
    ga, gb = gk.grad(lambda a, b: gnp.sum(gs.logsumexp(a, axis=0, b=b)), argnums=(0, 1))(a, b)
    assert ga.shape == a.shape and gb.shape == b.shape
    gk.check_grads(lambda a, b: gs.logsumexp(a, axis=0, b=b), (a, b), order=2)
    f32 = gs.logsumexp(a.astype(np.float32), b=b.astype(np.float32), return_sign=True)
    assert f32[0].dtype == np.float32 and f32[1].dtype == np.float32


def test_logsumexp_of_minus_infinity_rows():
    a = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    np.testing.assert_array_equal(gs.logsumexp(a, axis=1), [-np.inf, 0.0])
    g = gk.grad(lambda a: gs.logsumexp(a, axis=1)[1])(a)
    np.testing.assert_array_equal(g, [[0.0, 0.0], [1.0, 0.0]])


def test_softmax_of_rows_with_an_infinite_maximum_is_nan_without_a_warning():
    # Undefined rows (all -inf, or an entry +inf) give NaN, as JAX and PyTorch do; NumPy's
    # "invalid value" warning (an error under this suite) stays inside. A finite row of
    # the same batch keeps its value and gradient.
    x = np.array([[-np.inf, -np.inf, -np.inf], [1.0, np.inf, 0.0], [-np.inf, 0.0, 1.0]])
    for f in (gnp.log_softmax, gnp.softmax, gs.log_softmax, gs.softmax):
        out = f(x, axis=-1)
        assert np.isnan(out[0]).all() and np.isnan(out[1, 1]), f.__name__
        np.testing.assert_allclose(out[2], f(x[2], axis=-1), rtol=1e-15)
    np.testing.assert_allclose(gnp.log_softmax(x, axis=-1)[2], sc.log_softmax(x[2]))
    g = gk.grad(lambda z: gnp.log_softmax(z, axis=-1)[2, 2])(x)
    np.testing.assert_allclose(g[2], np.eye(3)[2] - sc.softmax(x[2]), rtol=1e-15)


# -- constant arguments ------------------------------------------------------------------------


@pytest.mark.parametrize("f, arg", [
    (lambda n, x: gs.polygamma(n, x), "the order n"),
    (lambda a, x: gs.gammainc(a, x), "a"),
    (lambda a, x: gs.betainc(a, 2.0, x), "a"),
    (lambda v, x: gs.jv(v, x), "the order v"),
])
def test_derivative_in_a_constant_argument_raises(f, arg):
    with pytest.raises(gk.GradkitError, match=f"with respect to {arg}"):
        gk.grad(f, argnums=0)(1.0, 0.5)
    gk.grad(f, argnums=1)(1.0, 0.5)  # the other argument is fine


def test_multigammaln_domain_error_is_an_op_error():
    with pytest.raises(gk.OpError, match="multigammaln"):
        gs.multigammaln(np.array([0.2]), 3)


# -- the module's surface -------------------------------------------------------------------------


def test_every_differentiable_name_has_a_table_case():
    public = {n: getattr(gs, n) for n in gs.__all__}
    aliases = {n for n, f in public.items() if any(f is g and m < n for m, g in public.items())}
    for name, f in public.items():
        if getattr(f, "differentiable", True) and name not in aliases | {"psi", "jn"}:
            assert any(c == f"scipy.special.{name}" or c.startswith(f"scipy.special.{name}_")
                       for c in CASES), name
    for name in norm.__all__:
        assert f"scipy.stats.norm.{name}" in CASES, name
    assert gs.psi is gs.digamma and gs.jn is gs.jv


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


def test_core_does_not_import_scipy():
    r = _run("import sys, gradkit, gradkit.numpy; print('scipy' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


@pytest.mark.parametrize("module", ["gradkit.scipy", "gradkit.scipy.special",
                                    "gradkit.scipy.stats.norm"])
def test_missing_scipy_gives_a_clear_import_error(module):
    code = ("import sys\n"
            "sys.modules['scipy'] = None  # as if SciPy were not installed\n"
            "import gradkit, gradkit.numpy\n"
            "try:\n"
            f"    import {module}\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert "gradkit.scipy needs SciPy" in r.stdout
    assert "pip install 'gradkit[recipes]'" in r.stdout and "pip install scipy" in r.stdout
