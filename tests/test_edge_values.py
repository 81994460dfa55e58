"""Values at the edges of a function's domain (infinities, the origin, empty and integer
input) where a peer (NumPy, SciPy, JAX) gives a finite or exact answer: gradkit gives it
too, or the documented convention, never a NaN or a truncated number."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as ss

import gradkit as gk
import gradkit.numpy as gnp
import gradkit.scipy.special as gsp
from gradkit import optim
from gradkit.errors import GradkitError, NaNError
from gradkit.statistics import _METHODS

INF = np.inf


@pytest.mark.parametrize("method", _METHODS)
def test_quantiles_of_integers_are_numpys(method):
    """Interpolating methods give floats (they used to be truncated to integers)."""
    a = np.array([[1, -2, 3, 7], [0, 5, -6, 2]])
    for f, ref, q in [(gnp.quantile, np.quantile, [0.3, 0.5]),
                      (gnp.percentile, np.percentile, 30),
                      (gnp.nanquantile, np.nanquantile, 0.7)]:
        got, want = f(a, q, axis=1, method=method), ref(a, q, axis=1, method=method)
        assert np.asarray(got).dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12)
    mapped = gk.vmap(lambda r: gnp.percentile(r, 30, method=method))(a)
    np.testing.assert_allclose(mapped, np.percentile(a, 30, axis=1, method=method))


def test_logspace_keeps_float32_exponents_float32():
    s = np.float32(0.5)
    assert gk.jvp(lambda s: gnp.logspace(s, np.float32(2), 3), (s,), (np.float32(1),))[0]\
        .dtype == np.float32
    got = gk.vmap(lambda s: gnp.logspace(s, np.float32(2), 3))(np.array([0.5, 1], np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got[0], np.logspace(s, np.float32(2), 3), rtol=1e-6)


@pytest.mark.parametrize("f", [gnp.logaddexp, gnp.logaddexp2])
@pytest.mark.parametrize("x, y, want", [(INF, INF, (0.5, 0.5)), (-INF, -INF, (0.5, 0.5)),
                                        (INF, 1.0, (1.0, 0.0)), (-INF, 1.0, (0.0, 1.0)),
                                        (0.0, 0.0, (0.5, 0.5))])
def test_logaddexp_at_equal_infinities_splits_like_a_tie(f, x, y, want):
    got = gk.grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_logaddexp_second_derivative_at_a_finite_tie_is_unchanged():
    np.testing.assert_allclose(gk.hessian(lambda x: gnp.logaddexp(x, 0.3))(0.3), 0.25)


@pytest.mark.parametrize("x, y, want", [(0.0, 0.0, (0.0, 0.0)), (INF, INF, (0.5**0.5,) * 2),
                                        (-INF, INF, (-(0.5**0.5), 0.5**0.5)),
                                        (INF, 3.0, (1.0, 0.0)), (3.0, -4.0, (0.6, -0.8))])
def test_hypot_gradient_at_the_origin_and_infinity_is_finite(x, y, want):
    np.testing.assert_allclose(gk.grad(gnp.hypot, argnums=(0, 1))(x, y), want, rtol=1e-15)
    assert gk.hessian(lambda t: gnp.hypot(t, 0.0))(0.0) == 0.0   # as abs at its kink


def test_i1e_gradient_at_infinity_is_its_limit():
    assert gk.grad(gsp.i1e)(INF) == 0.0 and gk.grad(gsp.i1e)(-INF) == 0.0
    gk.check_grads(gsp.i1e, (np.array([0.3, -2.0, 5.0]),), order=2)


def test_logsumexp_weights_and_signs_under_vmap_and_of_empty_arrays():
    a = np.array([[0.1, 0.5, -0.3], [1.0, 2.0, 0.0]])
    b = np.array([1.0, 2.0, -3.0])
    per = gk.grad(lambda r: gsp.logsumexp(r, b=b))
    np.testing.assert_allclose(gk.vmap(per)(a), np.stack([per(r) for r in a]), rtol=1e-12)
    value, sign = gk.vmap(lambda r, w: gsp.logsumexp(r, b=w, return_sign=True))(
        a, np.stack([b, -b]))
    want = [ss.logsumexp(r, b=w, return_sign=True) for r, w in zip(a, [b, -b])]
    np.testing.assert_allclose(value, [w[0] for w in want], rtol=1e-12)
    np.testing.assert_array_equal(sign, [w[1] for w in want])
    weights = np.array([[1.0, -1.0, 1.0], [2.0, 2.0, -9.0]])   # b wider than one example
    value, sign = gk.vmap(lambda r: gsp.logsumexp(r, b=weights, axis=-1, return_sign=True))(a)
    want = [ss.logsumexp(r, b=weights, axis=-1, return_sign=True) for r in a]
    np.testing.assert_allclose(value, [w[0] for w in want], rtol=1e-12)
    np.testing.assert_array_equal(sign, [w[1] for w in want])
    assert gk.vmap(gsp.logsumexp)(np.zeros((0, 2, 3))).shape == (0,)
    np.testing.assert_array_equal(gsp.logsumexp(np.zeros((3, 0)), axis=1), [-INF] * 3)


@pytest.mark.parametrize("shape, kw", [((0,), {}), ((2, 0), {"axis": 1}),
                                       ((2, 0), {"axis": 0, "keepdims": True}),
                                       ((0, 3), {"axis": 1})])
def test_max_and_min_of_nothing_are_initial(shape, kw):
    a = np.zeros(shape, np.float32)
    for f, ref in ((gnp.max, np.max), (gnp.min, np.min)):
        got, want = f(a, initial=-1.5, **kw), ref(a, initial=-1.5, **kw)
        assert np.shape(got) == want.shape and np.asarray(got).dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert gk.grad(lambda v: gnp.sum(gnp.max(np.zeros(0), initial=v)))(2.0) == 1.0


def test_elementwise_functions_without_gradient_map_under_vmap():
    x = np.array([[-1.5, 2.0], [-2.5, 0.5]])
    np.testing.assert_array_equal(gk.vmap(gsp.gammasgn)(x), ss.gammasgn(x))
    np.testing.assert_array_equal(gk.vmap(gsp.gammasgn, in_axes=1)(x), ss.gammasgn(x).T)
    b = np.random.default_rng(0).normal(size=(3, 5)) > 0
    np.testing.assert_array_equal(gk.vmap(lambda r: gnp.diff(r, n=2))(b), np.diff(b, 2, 1))


@pytest.mark.parametrize("f", [lambda r: gnp.where(r > 0), lambda r: gnp.extract(r > 0, r),
                               lambda r: gnp.compress(r > 0, r), gnp.nonzero, gnp.argwhere,
                               gnp.flatnonzero])
def test_results_shaped_by_the_values_are_refused_under_vmap(f):
    with pytest.raises(GradkitError, match="shape depends on the values"):
        gk.vmap(f)(np.arange(6.0).reshape(2, 3) - 2)


def test_shape_errors_name_the_call():
    with pytest.raises(GradkitError, match=r"split: .*axis 0 of size 3 into 2"):
        gk.vmap(lambda r: gnp.split(r, 2))(np.ones((2, 3)))
    with pytest.raises(GradkitError, match="pad: pad_width .* does not fit an array of 2 axes"):
        gnp.pad(gk.tensor(np.ones((2, 3))), ((1, 1),) * 3)
    assert math.isfinite(gk.grad(lambda v: gnp.sum(gnp.pad(np.ones(2), 1, constant_values=v)))
                         (1.0))


@pytest.mark.parametrize("make", [lambda: optim.Adam(0.1), lambda: optim.AdamW(0.1),
                                  lambda: optim.RMSprop(0.01),
                                  lambda: optim.RMSprop(0.01, centered=True)])
def test_adaptive_optimisers_step_for_huge_gradients_and_refuse_overflow(make):
    """(1 - beta) * g first, as PyTorch: a gradient of 1e155 still moves the parameter
    (g * g first gave inf and a step of 0); beyond, an overflow raises, naming the step."""
    opt, p = make(), np.array([1.0])
    new, _ = opt.update(np.array([1.3e155]), opt.init(p), p)
    assert new[0] != 1.0 and np.isfinite(new[0])
    p32 = p.astype(np.float32)
    new32, _ = opt.update(np.array([1e20], np.float32), opt.init(p32), p32)
    assert new32.dtype == np.float32 and new32[0] != 1.0
    with pytest.raises(NaNError, match=r"overflowed at step 1 .*largest \|g\| 1e\+160"):
        opt.update(np.array([1e160]), opt.init(p), p)


def test_a_chain_names_the_step_of_a_non_finite_gradient():
    opt = optim.chain(optim.clip_norm(1.0), optim.Adam(0.1))
    p = np.ones(2)
    p, state = opt.update(np.array([3.0, 4.0]), opt.init(p), p)
    with pytest.raises(NaNError, match="not finite at step 1"):
        opt.update(np.array([np.inf, 1.0]), state, p)
