"""Targeted tests of gradkit.numpy's series and counting functions: NumPy's values for every
keyword, the points the random table avoids (knots, ties, out-of-range values), the
non-differentiable functions on traced input, and the error messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradkit as gk
import gradkit.numpy as gnp
from gradkit import GradkitError


def traced_value(f, *args):
    """f's value computed on the traced path (under a transform), as a plain array."""
    out, _ = gk.vjp(f, *args)
    return out


def assert_same(got, expected):
    got = got.numpy() if isinstance(got, gk.Tensor) else np.asarray(got)
    assert got.shape == np.shape(expected)
    np.testing.assert_array_equal(got, expected)


@pytest.fixture
def a(rng):
    return rng.normal(size=(3, 5))


# -- NumPy's values, plain and traced ----------------------------------------------------------


@pytest.mark.parametrize("kw", [dict(), dict(n=2, axis=0), dict(n=0), dict(prepend=1.5),
                                dict(append=[[1.0], [2.0], [3.0]], n=3),
                                dict(prepend=0.0, append=2.0, axis=-1)])
def test_diff_matches_numpy(a, kw):
    expected = np.diff(a, **kw)
    assert_same(gnp.diff(a, **kw), expected)
    assert_same(traced_value(lambda v: gnp.diff(v, **kw), a), expected)


def test_diff_prepend_and_append_are_differentiable(a):
    pre, app = np.ones((3, 2)), np.ones((3, 1))
    g_pre, g_app = gk.grad(lambda p, q: gnp.sum(gnp.diff(a, prepend=p, append=q) ** 2),
                           argnums=(0, 1))(pre, app)
    d = np.diff(np.concatenate([pre, a, app], axis=1))
    np.testing.assert_allclose(g_pre[:, 0], -2 * d[:, 0])
    np.testing.assert_allclose(g_app[:, 0], 2 * d[:, -1])


@pytest.mark.parametrize("kw", [dict(), dict(to_begin=[1.0, 2.0]), dict(to_end=-3.0),
                                dict(to_begin=0.5, to_end=[[1.0, 2.0]])])
def test_ediff1d_matches_numpy(a, kw):
    expected = np.ediff1d(a, **kw)
    assert_same(gnp.ediff1d(a, **kw), expected)
    assert_same(traced_value(lambda v: gnp.ediff1d(v, **kw), a), expected)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("spacing", [(), (0.5,), (0.5, "x"), ("u", "x")])
def test_gradient_matches_numpy(a, edge_order, spacing):
    x = np.array([0.0, 0.4, 1.5, 1.7, 3.0])
    u = np.array([0.0, 2.0, 4.0])  # even steps: NumPy's scalar formula
    args = tuple({"x": x, "u": u}.get(s, s) for s in spacing)
    expected = np.gradient(a, *args, edge_order=edge_order)
    got = gnp.gradient(a, *args, edge_order=edge_order)
    traced = traced_value(lambda v: gnp.stack(gnp.gradient(v, *args, edge_order=edge_order)),
                          a)
    assert isinstance(got, tuple) and len(got) == 2
    for k in range(2):
        assert_same(got[k], expected[k])
        np.testing.assert_allclose(traced[k], expected[k], rtol=1e-14, atol=1e-14)


def test_gradient_axis_and_traced_coordinates(a):
    x = np.array([0.0, 0.4, 1.5, 1.7, 3.0])
    expected = np.gradient(a, x, axis=1, edge_order=2)
    np.testing.assert_allclose(traced_value(lambda c: gnp.gradient(a, c, axis=-1,
                                                                     edge_order=2), x),
                               expected, rtol=1e-14)
    # evenly spaced traced coordinates: still the derivative in every coordinate
    u = np.arange(5.0)
    gk.check_grads(lambda c: gnp.gradient(a, c, axis=1), (u,), order=2)
    jac = gk.jacobian(lambda c: gnp.gradient(a[0], c))(u)
    assert np.abs(jac[2]).sum() > 0 and jac[2, 3] != 0  # interior point 2 uses x[1..3]


def test_gradient_integer_input_and_errors():
    assert_same(gnp.gradient(gk.tensor(np.arange(4) ** 2)), np.gradient(np.arange(4) ** 2))
    f = gk.tensor(np.ones(3))
    with pytest.raises(GradkitError, match="edge_order"):
        gnp.gradient(f, edge_order=3)
    with pytest.raises(GradkitError, match="too small"):
        gnp.gradient(f[:2], edge_order=2)
    with pytest.raises(GradkitError, match="must match the length"):
        gnp.gradient(f, np.arange(4.0))
    with pytest.raises(GradkitError, match="invalid number of arguments"):
        gnp.gradient(f, 1.0, 2.0)


XP = np.array([-1.0, 0.0, 0.5, 2.0, 3.0])
FP = np.array([1.0, -2.0, 0.5, 4.0, 3.5])


@pytest.mark.parametrize("kw", [dict(), dict(left=-7.0), dict(right=9.0),
                                dict(left=-7.0, right=9.0), dict(period=2.5)])
def test_interp_matches_numpy(kw):
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.9, 3.0, 3.5, np.nan])
    if "period" in kw:
        x = x[:-1] * 3.0
    expected = np.interp(x, XP, FP, **kw)
    assert_same(gnp.interp(x, XP, FP, **kw), expected)
    assert_same(traced_value(lambda v: gnp.interp(v, XP, FP, **kw), x), expected)
    assert_same(traced_value(lambda f: gnp.interp(x, XP, f, **kw), FP), expected)


def test_interp_one_sample_and_float32():
    x = np.array([0.0, 1.0, 2.0, np.nan])
    assert_same(traced_value(lambda v: gnp.interp(v, [1.0], [5.0], left=-1.0, right=2.0), x),
                np.interp(x, [1.0], [5.0], left=-1.0, right=2.0))
    out = traced_value(lambda v: gnp.interp(v, XP, np.float32(FP)), np.float32([0.3, 1.0]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.interp([0.3, 1.0], XP, FP), rtol=1e-6)


def test_interp_derivative_at_knots_and_outside():
    slopes = np.diff(FP) / np.diff(XP)
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 3.0, 4.0])
    dx = gk.elementwise_grad(lambda v: gnp.interp(v, XP, FP))(x)
    # below: 0; at an interior knot: the segment to its right (NumPy's choice);
    # at the last knot NumPy returns fp[-1] itself: 0; above: 0
    np.testing.assert_array_equal(dx, [0.0, slopes[0], slopes[1], slopes[2], slopes[3], 0.0,
                                       0.0])
    jf = gk.jacobian(lambda f: gnp.interp(x, XP, f))(FP)
    expected = np.zeros((7, 5))
    expected[0, 0] = expected[1, 0] = expected[2, 1] = expected[3, 2] = expected[4, 3] = 1.0
    expected[5, 4] = expected[6, 4] = 1.0
    np.testing.assert_array_equal(jf, expected)
    # left/right are differentiable and take the gradient outside the range
    g_lo, g_hi = gk.grad(lambda lo, hi: gnp.sum(gnp.interp(x, XP, FP, left=lo, right=hi)),
                         argnums=(0, 1))(0.0, 0.0)
    assert (g_lo, g_hi) == (1.0, 1.0)


def test_interp_is_differentiable_in_the_sample_points():
    x = np.array([-0.5, 0.2, 1.0, 2.5])
    gk.check_grads(lambda p: gnp.interp(x, p, FP), (XP,), order=2)
    gk.check_grads(lambda v, p, f: gnp.interp(v, p, f, period=5.0), (x, XP, FP), order=2)


def test_interp_errors():
    x = gk.tensor([0.5])
    with pytest.raises(GradkitError, match="not of the same length"):
        gnp.interp(x, [0.0, 1.0], [1.0])
    with pytest.raises(GradkitError, match="empty"):
        gnp.interp(x, [], [])
    with pytest.raises(GradkitError, match="non-zero"):
        gnp.interp(x, XP, FP, period=0.0)
    with pytest.raises(GradkitError, match="period is not differentiable"):
        gk.grad(lambda p: gnp.sum(gnp.interp(x, XP, FP, period=p)))(3.0)


@pytest.mark.parametrize("kw", [dict(), dict(dx=0.5), dict(x=[0.0, 1.0, 3.0, 3.5, 6.0]),
                                dict(axis=0, x=[0.0, 2.0, 2.5]),
                                dict(x=np.arange(15.0).reshape(3, 5) ** 1.5)])
def test_trapezoid_matches_numpy(a, kw):
    expected = np.trapezoid(a, **kw)
    assert_same(gnp.trapezoid(a, **kw), expected)
    np.testing.assert_allclose(traced_value(lambda v: gnp.trapezoid(v, **kw), a), expected,
                               rtol=1e-15)


def test_trapz_follows_numpy():
    # NumPy 2 removed trapz; gradkit.numpy has exactly the names NumPy has
    assert hasattr(gnp, "trapz") == hasattr(np, "trapz")


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid", 0, 1, 2])
@pytest.mark.parametrize("na, nv", [(5, 2), (5, 3), (3, 3), (2, 5), (3, 6), (1, 4), (4, 1)])
def test_convolve_correlate_match_numpy(rng, name, mode, na, nv):
    a, v = rng.normal(size=na), rng.normal(size=nv)
    expected = getattr(np, name)(a, v, mode)
    fn = getattr(gnp, name)
    np.testing.assert_allclose(traced_value(lambda x, y: fn(x, y, mode), a, v), expected,
                               rtol=1e-13, atol=1e-15)
    assert traced_value(lambda x, y: fn(x, y, mode), a, v).shape == expected.shape


def test_convolve_when_v_is_longer_and_its_gradients(rng):
    a, v = rng.normal(size=2), rng.normal(size=5)
    for mode in ("same", "valid"):
        # the convolution is bilinear: the gradient in a is the derivative of NumPy's
        w = np.arange(5.0)[:len(np.convolve(a, v, mode))]
        ga, gv = gk.grad(lambda x, y, m=mode, w=w: gnp.sum(gnp.convolve(x, y, m) * w),
                         argnums=(0, 1))(a, v)
        expected_a = [np.sum(np.convolve(e, v, mode) * w) for e in np.eye(2)]
        expected_v = [np.sum(np.convolve(a, e, mode) * w) for e in np.eye(5)]
        np.testing.assert_allclose(ga, expected_a, rtol=1e-13)
        np.testing.assert_allclose(gv, expected_v, rtol=1e-13)


def test_convolve_errors():
    x = gk.tensor([1.0, 2.0])
    with pytest.raises(GradkitError, match="mode must be one of"):
        gnp.convolve(x, [1.0], mode="middle")
    with pytest.raises(GradkitError, match="cannot be empty"):
        gnp.correlate(x, np.zeros(0))
    with pytest.raises(GradkitError, match="1-D"):
        gnp.convolve(gk.tensor(np.ones((2, 2))), [1.0])
    with pytest.raises(GradkitError, match="convolve"):  # plain input: NumPy's error, named
        gnp.convolve([], [1.0])


def test_polyval_matches_numpy_and_is_differentiable_in_p(a):
    p = np.array([2.0, -1.0, 0.5, 3.0])
    assert_same(traced_value(lambda c: gnp.polyval(c, a), p), np.polyval(p, a))
    assert_same(gnp.polyval(p, a), np.polyval(p, a))
    g = gk.grad(lambda c: gnp.polyval(c, 2.0))(p)
    np.testing.assert_array_equal(g, [8.0, 4.0, 2.0, 1.0])
    with pytest.raises(GradkitError, match="sequence of coefficients"):
        gnp.polyval(gk.tensor(2.0), 1.0)


@pytest.mark.parametrize("na, nb", [(3, 3), (2, 3), (3, 2), (2, 2)])
def test_cross_matches_numpy_without_warnings(rng, na, nb):
    a, b = rng.normal(size=(4, na)), rng.normal(size=(4, nb))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        expected = np.cross(a, b)
        expected_t = np.cross(a.T, b, axisa=0, axisc=0)
    # pytest runs with -W error: a DeprecationWarning from gradkit would fail here
    assert_same(gnp.cross(a, b), expected)
    assert_same(traced_value(lambda x, y: gnp.cross(x, y), a, b), expected)
    assert_same(traced_value(lambda x: gnp.cross(x, b, axisa=0, axisc=0), a.T), expected_t)


def test_cross_gradient_and_errors(rng):
    a, b = rng.normal(size=3), rng.normal(size=3)
    ga, gb = gk.grad(lambda x, y: gnp.sum(gnp.cross(x, y) * np.array([1.0, 2.0, 3.0])),
                     argnums=(0, 1))(a, b)
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ga, np.cross(b, w), rtol=1e-14)  # d/da <w, a x b> = b x w
    np.testing.assert_allclose(gb, np.cross(w, a), rtol=1e-14)
    with pytest.raises(GradkitError, match="dimension must be 2 or 3"):
        gnp.cross(gk.tensor(np.ones(4)), np.ones(3))


@pytest.mark.parametrize("sa, sb", [((2, 3), (3,)), ((2,), (2, 2)), ((), (3,)), ((3,), ()),
                                    ((2, 1, 2), (3, 2))])
def test_kron_matches_numpy(rng, sa, sb):
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    assert_same(traced_value(gnp.kron, a, b), np.kron(a, b))


@pytest.mark.parametrize("n", [None, 0, 1, 3])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander_matches_numpy(n, increasing):
    x = np.array([2.0, -1.5, 0.5])
    expected = np.vander(x, n, increasing)
    got = gnp.vander(gk.tensor(x), n, increasing)
    np.testing.assert_array_equal(got.numpy() if isinstance(got, gk.Tensor) else got, expected)
    assert gnp.vander(np.float32(x), n).dtype == np.vander(np.float32(x), n).dtype


def test_unwrap_matches_numpy_and_has_identity_derivative(rng):
    p = np.cumsum(rng.normal(size=(2, 9)) * 3.0, axis=1)
    for kw in (dict(), dict(discont=4.0), dict(axis=0, period=5.0)):
        assert_same(traced_value(lambda v, kw=kw: gnp.unwrap(v, **kw), p), np.unwrap(p, **kw))
    jac = gk.jacobian(lambda v: gnp.unwrap(v))(p[0])
    np.testing.assert_array_equal(jac, np.eye(9))
    with pytest.raises(GradkitError, match="period is not differentiable"):
        gk.grad(lambda t: gnp.sum(gnp.unwrap(p[0], period=t)))(5.0)


# -- unique ----------------------------------------------------------------------------------


X = np.array([3.0, 1.0, 3.0, np.nan, 2.0, 1.0, np.nan, 5.0])


@pytest.mark.parametrize("kw", [dict(), dict(return_index=True), dict(return_inverse=True),
                                dict(return_counts=True, return_index=True),
                                dict(equal_nan=False, return_inverse=True),
                                dict(sorted=False), dict(sorted=False, equal_nan=False)])
def test_unique_matches_numpy(kw):
    expected = np.unique(X, **kw)
    def values(v):
        out = gnp.unique(v, **kw)
        return out[0] if isinstance(out, tuple) else out

    got = traced_value(values, X)
    exp_values = expected[0] if isinstance(expected, tuple) else expected
    np.testing.assert_array_equal(got, exp_values)
    plain = gnp.unique(X, **kw)
    t = gnp.unique(gk.tensor(X), **kw)
    if isinstance(expected, tuple):
        assert isinstance(t, tuple) and len(t) == len(expected)
        for g, e in zip(t[1:], expected[1:]):
            assert not isinstance(g, gk.Tensor)
            np.testing.assert_array_equal(g, e)
        for g, e in zip(plain, expected):
            np.testing.assert_array_equal(g, e)


def test_unique_gradient_goes_to_first_occurrences():
    x = np.array([3.0, 1.0, 3.0, 2.0, 1.0, 1.0])
    w = np.array([10.0, 20.0, 30.0])  # unique: 1, 2, 3
    g = gk.grad(lambda v: gnp.sum(gnp.unique(v) * w))(x)
    np.testing.assert_array_equal(g, [30.0, 10.0, 0.0, 20.0, 0.0, 0.0])
    # and along an axis: first occurrence of each row
    m = np.array([[1.0, 2.0], [0.0, 5.0], [1.0, 2.0]])
    g = gk.grad(lambda v: gnp.sum(gnp.unique(v, axis=0) * np.array([[1.0, 2.0], [3.0, 4.0]])))(m)
    np.testing.assert_array_equal(g, [[3.0, 4.0], [1.0, 2.0], [0.0, 0.0]])


@pytest.mark.parametrize("name", ["unique_values", "unique_counts", "unique_inverse",
                                  "unique_all"])
def test_unique_array_api_functions(name):
    expected = getattr(np, name)(X)
    got = getattr(gnp, name)(gk.tensor(X))
    values = got if name == "unique_values" else got.values
    exp_values = expected if name == "unique_values" else expected.values
    np.testing.assert_array_equal(values.numpy(), exp_values)
    if name != "unique_values":
        assert type(got) is type(expected)
        for field in expected._fields[1:]:
            np.testing.assert_array_equal(getattr(got, field), getattr(expected, field))
    x = np.array([3.0, 1.0, 3.0, 2.0])
    f = getattr(gnp, name)
    g = gk.grad(lambda v: gnp.sum((f(v) if name == "unique_values" else f(v).values) ** 2))(x)
    np.testing.assert_array_equal(g, [6.0, 2.0, 0.0, 4.0])


# -- weighted counts -----------------------------------------------------------------------------


def test_bincount_weights(rng):
    x = np.array([0, 3, 3, 1, 0, 5])
    w = rng.normal(size=6)
    for minlength in (0, 9):
        assert_same(traced_value(lambda v, m=minlength: gnp.bincount(x, v, m), w),
                    np.bincount(x, w, minlength))
    jac = gk.jacobian(lambda v: gnp.bincount(x, v))(w)
    np.testing.assert_array_equal(jac, (np.arange(6)[:, None] == x).astype(float))
    gk.check_grads(lambda v: gnp.bincount(x, v, minlength=7) ** 2, (w,), order=2)
    out = traced_value(lambda v: gnp.bincount(x, v), np.float32(w))
    assert out.dtype == np.float32
    assert_same(gnp.bincount(x), np.bincount(x))  # no weights: plain counts


def test_bincount_errors():
    w = gk.tensor([1.0, 2.0])
    with pytest.raises(GradkitError, match="same length"):
        gnp.bincount([0, 1, 2], w)
    with pytest.raises(GradkitError, match="non-negative"):
        gnp.bincount([0, -1], w)
    with pytest.raises(GradkitError, match="bincount"):
        gk.grad(lambda v: gnp.sum(gnp.bincount(v)))(np.array([1.0, 2.0]))


A = np.array([0.1, 0.9, 1.6, 2.2, 2.2, 3.7, 5.5, -1.0])


@pytest.mark.parametrize("bins, range_", [(4, None), (4, (0.0, 4.0)), (3, (0.5, 3.0)),
                                          (np.array([0.0, 1.0, 2.2, 4.0]), None),
                                          ("auto", None), ("sturges", (0.0, 4.0))])
@pytest.mark.parametrize("density", [None, True])
def test_histogram_weights_match_numpy(rng, bins, range_, density):
    w = rng.uniform(0.5, 2.0, size=A.size)
    if isinstance(bins, str):  # NumPy estimates no bin count with weights
        expected = np.histogram(A, bins, range_, density)
        got = traced_value(lambda v: gnp.histogram(v, bins, range_, density)[0], A)
    else:
        expected = np.histogram(A, bins, range_, density, w)
        got = traced_value(lambda v: gnp.histogram(A, bins, range_, density, v)[0], w)
        plain = gnp.histogram(A, bins, range_, density, w)
        assert_same(plain[0], expected[0])
    np.testing.assert_allclose(got, expected[0], rtol=1e-14)
    edges = gnp.histogram(gk.tensor(A), bins, range_, density)[1]
    np.testing.assert_array_equal(edges.numpy() if isinstance(edges, gk.Tensor) else edges,
                                  expected[1])


def test_histogram_weight_gradients(rng):
    w = rng.normal(size=A.size)
    jac = gk.jacobian(lambda v: gnp.histogram(A, 4, (0.0, 4.0), weights=v)[0])(w)
    bins = np.array([0, 0, 1, 2, 2, 3, -1, -1])  # 5.5 and -1.0 fall outside the range
    np.testing.assert_array_equal(jac, (np.arange(4)[:, None] == bins).astype(float))
    # the last bin is closed: a value equal to the upper edge is counted in it
    jac = gk.jacobian(lambda v: gnp.histogram([0.0, 2.0, 4.0], 2, weights=v)[0])(np.ones(3))
    np.testing.assert_array_equal(jac, [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    gk.check_grads(lambda v: gnp.histogram(A, 4, (0.0, 4.0), density=True, weights=v)[0],
                   (np.abs(w) + 0.5,), order=2)
    out = traced_value(lambda v: gnp.histogram(A, 3, weights=v)[0], np.float32(w))
    assert out.dtype == np.float32


def test_histogram_edges_move_with_the_data():
    a = np.array([0.0, 1.3, 2.2, 4.0])
    jac = gk.jacobian(lambda v: gnp.histogram_bin_edges(v, 4))(a)
    expected = np.zeros((5, 4))
    expected[:, 0] = 1.0 - np.arange(5) / 4.0
    expected[:, 3] = np.arange(5) / 4.0
    np.testing.assert_allclose(jac, expected, rtol=1e-15)
    # the counts themselves are piecewise constant: derivative 0 in a
    assert np.all(gk.jacobian(lambda v: gnp.histogram(v, 4, weights=np.ones(4))[0])(a) == 0)
    # constant range or bins array: the edges do not depend on a
    edges = gnp.histogram_bin_edges(gk.tensor(a, requires_grad=True), 4, (0.0, 5.0))
    assert not isinstance(edges, gk.Tensor)
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(a, 4, (0.0, 5.0)))
    # a traced range moves them too
    gk.check_grads(lambda r: gnp.histogram_bin_edges(a, 3, (r[0], r[1])),
                   (np.array([-1.0, 5.0]),), order=2)
    # all values equal: NumPy widens the range by 0.5 each side
    np.testing.assert_array_equal(traced_value(lambda v: gnp.histogram_bin_edges(v, 2),
                                               np.full(3, 2.0)), [1.5, 2.0, 2.5])


def test_histogram_density_depends_on_the_data_through_the_edges():
    a = np.array([0.0, 0.4, 1.3, 2.2, 4.0])
    gk.check_grads(lambda v: gnp.histogram(v, 4, density=True)[0], (a,), order=2)
    np.testing.assert_allclose(traced_value(lambda v: gnp.histogram(v, 4, density=True)[0], a),
                               np.histogram(a, 4, density=True)[0], rtol=1e-15)


# -- non-differentiable functions ------------------------------------------------------------


@pytest.mark.parametrize("name, call", [
    ("searchsorted", lambda f, v: f(v, 0.5)),
    ("searchsorted", lambda f, v: f(np.array([0.0, 1.0, 2.0]), v, side="right")),
    ("digitize", lambda f, v: f(v, [0.0, 1.0])),
    ("flatnonzero", lambda f, v: f(v)),
    ("argwhere", lambda f, v: f(v)),
    ("count_nonzero", lambda f, v: f(v, axis=0, keepdims=True)),
    ("isin", lambda f, v: f(v, [1.0, 2.0], invert=True)),
    ("lexsort", lambda f, v: f([v, -v])),
])
def test_nondifferentiable_functions_take_traced_input(name, call):
    fn = getattr(gnp, name)
    assert fn.differentiable is False
    x = np.array([0.0, 1.0, 2.5, 1.0])
    seen = []

    def f(v):
        out = call(fn, v)
        assert not isinstance(out, gk.Tensor)
        seen.append(out)
        return gnp.sum(v)

    gk.grad(f)(x)
    np.testing.assert_array_equal(seen[0], call(getattr(np, name), x))


def test_exports():
    import gradkit.counting as counting
    import gradkit.series as series

    for mod in (series, counting):
        for name in mod.__all__:
            exported = getattr(gnp, name)  # possibly wrapped to lift lists of Tensors
            assert getattr(exported, "__wrapped__", exported) is getattr(mod, name)
            assert not name.startswith("_")
    differentiable = {n for n in counting.__all__ if getattr(gnp, n).__dict__.get(
        "differentiable", True)}
    assert differentiable == {"unique", "unique_values", "unique_counts", "unique_inverse",
                              "unique_all", "bincount", "histogram", "histogram_bin_edges"}
