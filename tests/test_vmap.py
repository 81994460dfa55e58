"""vmap: every primitive of the table against a loop (alone and under grad), its interface,
per-example gradients of models, and composition with the other transforms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
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
from gradkit import nn
from gradkit.errors import GradkitError
from primtable import CASES, PROFILE

NAMES = list(CASES)
SCALES = (1.0, 1.0 + 1e-3, 1.0 - 2e-3)   # three examples, each inside the case's domain

# Not batched: shapes that depend on the values, which no batch can hold. Each raises a
# GradkitError that names vmap or the batch (never a wrong value).
UNBATCHED = {
    'bincount_weights', 'histogram_bin_edges', 'histogram_density', 'histogram_edges',
    'histogram_weights', 'trim_zeros', 'unique', 'unique_all', 'unique_axis', 'unique_counts',
    'unique_inverse', 'unique_values',
}
# Batched for some arguments (scalar ``a`` with vector weights ``b`` refuses, clearly).
SOMETIMES = {"scipy.special.logsumexp_b"}


def _scaled(args, which, s):
    return [np.asarray(a) * s if k in which else a for k, a in enumerate(args)]


def _batch(args, which, axes=None):
    """The batch of three examples, stacked along ``axes[k]`` for argument k (else 0)."""
    return tuple(np.stack([np.asarray(a) * s for s in SCALES], axis=axes[k] if axes else 0)
                 if k in which else a for k, a in enumerate(args))


def _loop(f, args, which, out_axis=0):
    outs = [f(*_scaled(args, which, s)) for s in SCALES]
    return gk.tree_map(lambda *o: np.stack([np.asarray(x) for x in o], axis=out_axis), *outs)


def _draw_axes(data, args, out):
    """A batch axis for every argument and one for the outputs, anywhere NumPy allows
    (negative too), drawn by hypothesis."""
    axes = tuple(data.draw(st.integers(-np.ndim(a) - 1, np.ndim(a)), label=f"in_axes[{k}]")
                 for k, a in enumerate(args))
    least = min(np.ndim(o) for o in gk.tree_flatten(out)[0])
    return axes, data.draw(st.integers(-least - 1, least), label="out_axes")


def _same(got, want, rtol):
    gk.tree_map(lambda g, w: np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-12), got,
                want)
    assert [np.shape(g) for g in gk.tree_flatten(got)[0]] == \
        [np.shape(w) for w in gk.tree_flatten(want)[0]]


def _equal_or_refused(call, want, rtol):
    try:
        got = call()
    except GradkitError as e:
        assert "vmap" in str(e) or "batch" in str(e)
        return
    _same(got, want, rtol)


def _refused(call):
    with pytest.raises(GradkitError) as info:
        call()
    assert "vmap" in str(info.value) or "batch" in str(info.value) or "numpy." in str(info.value)


@pytest.mark.parametrize("name", NAMES)
@PROFILE
@given(data=st.data())
def test_vmap_equals_a_loop(name, data):
    ex = data.draw(CASES[name], label=name)
    n = len(ex.args)
    for which in ({*range(n)}, {0}):
        in_axes = tuple(0 if k in which else None for k in range(n))
        mapped = gk.vmap(ex.f, in_axes=in_axes)
        if name in UNBATCHED:
            _refused(lambda m=mapped, w=which: m(*_batch(ex.args, w)))
            return
        if name in SOMETIMES:
            _equal_or_refused(lambda m=mapped, w=which: m(*_batch(ex.args, w)),
                              _loop(ex.f, ex.args, which), 1e-12)
            continue
        _same(mapped(*_batch(ex.args, which)), _loop(ex.f, ex.args, which), 1e-12)
    # every argument batched along a drawn axis, the outputs stacked along another
    everything = set(range(n))
    axes, out_axis = _draw_axes(data, ex.args, ex.f(*ex.args))
    mapped = gk.vmap(ex.f, in_axes=axes, out_axes=out_axis)
    call = lambda: mapped(*_batch(ex.args, everything, axes))  # noqa: E731
    want = _loop(ex.f, ex.args, everything, out_axis)
    if name in SOMETIMES:
        _equal_or_refused(call, want, 1e-12)
    else:
        _same(call(), want, 1e-12)


@pytest.mark.parametrize("name", NAMES)
@PROFILE
@given(data=st.data())
def test_vmap_of_grad_equals_a_loop(name, data):
    ex = data.draw(CASES[name], label=name)
    n = len(ex.args)
    loss = gk.grad(lambda *a: gnp.sum(ex.f(*a) ** 2), argnums=tuple(range(n)))
    batch = _batch(ex.args, set(range(n)))
    if name in UNBATCHED:
        _refused(lambda: gk.vmap(loss)(*batch))
        return
    if name in SOMETIMES:
        _equal_or_refused(lambda: gk.vmap(loss)(*batch), _loop(loss, ex.args, set(range(n))),
                          1e-10)
        return
    _same(gk.vmap(loss)(*batch), _loop(loss, ex.args, set(range(n))), 1e-10)


@pytest.mark.parametrize("name", NAMES)
@PROFILE
@given(data=st.data())
def test_vmap_of_jvp_equals_a_loop(name, data):
    ex = data.draw(CASES[name], label=name)
    n = len(ex.args)
    rng = np.random.default_rng(0)
    tangents = tuple(rng.standard_normal(np.shape(a)) for a in ex.args)

    def pushed(*xs_and_ts):
        return gk.jvp(ex.f, xs_and_ts[:n], xs_and_ts[n:])

    both = ex.args + tangents
    batch = _batch(both, set(range(2 * n)))
    if name in UNBATCHED:
        _refused(lambda: gk.vmap(pushed)(*batch))
        return
    if name in SOMETIMES:
        _equal_or_refused(lambda: gk.vmap(pushed)(*batch), _loop(pushed, both, set(range(2 * n))),
                          1e-10)
        return
    _same(gk.vmap(pushed)(*batch), _loop(pushed, both, set(range(2 * n))), 1e-10)


# -- interface ---------------------------------------------------------------------------


def test_in_axes_out_axes_and_pytrees():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    w = {"a": rng.normal(size=4), "b": rng.normal(size=(4, 5))}
    f = lambda p, x: gnp.tanh(x * p["a"]) @ p["b"]  # noqa: E731
    got = gk.vmap(f, in_axes=(None, 0))(w, x)
    np.testing.assert_allclose(got, np.stack([f(w, r) for r in x]), rtol=1e-14)
    got1 = gk.vmap(f, in_axes=(None, 0), out_axes=1)(w, x)
    np.testing.assert_allclose(got1, got.T, rtol=1e-14)
    got2 = gk.vmap(f, in_axes=({"a": None, "b": None}, 1))(w, x.T)
    np.testing.assert_allclose(got2, got, rtol=1e-14)
    wa = np.stack([w["a"]] * 3)
    got3 = gk.vmap(f, in_axes=({"a": 0, "b": None}, 0))({"a": wa, "b": w["b"]}, x)
    np.testing.assert_allclose(got3, got, rtol=1e-14)


def test_unbatched_outputs_broadcast_and_axis_size():
    out = gk.vmap(lambda x: (x * 2.0, np.ones(2)))(np.arange(3.0))
    np.testing.assert_array_equal(out[1], np.ones((3, 2)))
    np.testing.assert_array_equal(gk.vmap(lambda: np.arange(2.0), axis_size=4)(),
                                  np.tile(np.arange(2.0), (4, 1)))
    x, c = gk.vmap(lambda x, c: (x + c, c), in_axes=(0, None), out_axes=(0, None))(
        np.arange(3.0), 5.0)
    assert c == 5.0


def test_nested_vmap_equals_a_double_loop():
    x = np.random.default_rng(1).normal(size=(2, 3, 4))
    f = lambda v: gnp.sum(gnp.sin(v) * v) + gnp.max(v)  # noqa: E731
    got = gk.vmap(gk.vmap(f))(x)
    np.testing.assert_allclose(got, [[f(x[i, j]) for j in range(3)] for i in range(2)],
                               rtol=1e-14)
    gg = gk.vmap(gk.vmap(gk.grad(f)))(x)
    np.testing.assert_allclose(gg, [[gk.grad(f)(x[i, j]) for j in range(3)] for i in range(2)],
                               rtol=1e-14)


def test_composition_with_jvp_jacobian_hessian_and_grad_outside():
    rng = np.random.default_rng(2)
    xs = rng.normal(size=(5, 3))
    f = lambda x: gnp.sum(gnp.exp(x) * x ** 2)  # noqa: E731
    np.testing.assert_allclose(gk.vmap(gk.hessian(f))(xs),
                               np.stack([gk.hessian(f)(x) for x in xs]), rtol=1e-12)
    g = lambda x: gnp.tanh(x) * x[::-1]  # noqa: E731
    np.testing.assert_allclose(gk.vmap(gk.jacobian(g))(xs),
                               np.stack([gk.jacobian(g)(x) for x in xs]), rtol=1e-12)
    v = rng.normal(size=(5, 3))
    out, tan = gk.vmap(lambda x, t: gk.jvp(g, (x,), (t,)))(xs, v)
    for i in range(5):
        o, t = gk.jvp(g, (xs[i],), (v[i],))
        np.testing.assert_allclose(out[i], o, rtol=1e-14)
        np.testing.assert_allclose(tan[i], t, rtol=1e-12)
    total = lambda w: gnp.sum(gk.vmap(lambda x: gnp.dot(w, gnp.sin(x)))(xs) ** 2)  # noqa: E731
    w = rng.normal(size=3)
    loop = lambda w: sum(gnp.dot(w, gnp.sin(x)) ** 2 for x in xs)  # noqa: E731
    np.testing.assert_allclose(gk.grad(total)(w), gk.grad(loop)(w), rtol=1e-12)
    np.testing.assert_allclose(gk.jacobian(gk.vmap(g))(xs).reshape(15, 15),
                               gk.jacobian(lambda z: gnp.stack([g(r) for r in z]))(xs)
                               .reshape(15, 15), rtol=1e-12)


def test_custom_vjp_and_stop_gradient_inside_vmap():
    @gk.custom_vjp
    def clipped(x):
        return x ** 2

    clipped.defvjp(lambda x: (x ** 2, x), lambda x, g: (gnp.clip(2.0 * x * g, -1.0, 1.0),))
    xs = np.array([0.1, 0.4, 3.0])
    np.testing.assert_allclose(gk.vmap(gk.grad(clipped))(xs), [0.2, 0.8, 1.0])
    sg = gk.vmap(gk.grad(lambda x: x * gk.stop_gradient(x)))(xs)
    np.testing.assert_allclose(sg, xs)


_X = np.arange(120.0).reshape(4, 5, 6) / 7.0
_J = np.array([0, 4, 1])
# (one example's indexing, its batched integer arguments): three examples, so that a batch
# axis misplaced against an index of length 3 would broadcast silently.
INDEXING = {
    "scalar": (lambda x, i: x[i], (np.array([3, 0, 2]),)),
    "scalar and array": (lambda x, i: x[i, _J], (np.array([3, 0, 2]),)),
    "array then scalar, apart": (lambda x, a, i: x[a, :, i],
                                 (np.array([[0, 1], [3, 3], [2, 0]]), np.array([5, 0, 2]))),
    "matrix": (lambda x, a: x[:, a], (np.array([[[0, 1], [4, 2]], [[3, 3], [1, 0]],
                                                 [[2, 2], [0, 4]]]),)),
    "column against scalars": (lambda x, i: x[_J[:, None] % 4, i], (np.array([1, 4, 2]),)),
    "negative": (lambda x, i: x[..., i], (np.array([-1, 0, -6]),)),
}


@pytest.mark.parametrize("name", INDEXING)
def test_batched_integer_indices_equal_a_loop(name):
    f, idx = INDEXING[name]
    n = len(idx)
    tensor = gk.Tensor(_X)
    got = gk.vmap(lambda *i: f(tensor, *i))(*idx)
    want = np.stack([f(_X, *[a[k] for a in idx]) for k in range(3)])
    np.testing.assert_array_equal(got, want)

    def loss(x, *i):
        return gnp.sum(gnp.sin(f(x, *i)) ** 2)

    xs = np.stack([_X, 2 * _X, -_X])
    got = gk.vmap(gk.grad(loss))(xs, *idx)
    want = np.stack([gk.grad(loss)(xs[k], *[a[k] for a in idx]) for k in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # the index batched, x shared: the gradient sums the examples' scatters
    got = gk.grad(lambda x: gnp.sum(gk.vmap(loss, in_axes=(None,) + (0,) * n)(x, *idx)))(_X)
    want = sum(gk.grad(loss)(_X, *[a[k] for a in idx]) for k in range(3))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_indices_batched_by_two_vmaps():
    tensor = gk.Tensor(_X)
    rows, cols = np.array([3, 1]), np.array([0, 5, 2])
    got = gk.vmap(lambda i: gk.vmap(lambda j: tensor[i, :, j])(cols))(rows)
    np.testing.assert_array_equal(got, np.stack([np.stack([_X[i, :, j] for j in cols])
                                                 for i in rows]))
    # the outer vmap's index on the inner vmap's array, under a grad between them
    xs = np.stack([_X[0], _X[1], 2 * _X[2]])

    def per_row(i):
        return gk.grad(lambda w: gnp.sum(gk.vmap(lambda x: (w * x)[i] ** 2)(xs)))(1.5)

    want = [sum(2 * 1.5 * x[i] @ x[i] for x in xs) for i in (4, 0)]
    np.testing.assert_allclose(gk.vmap(per_row)(np.array([4, 0])), want, rtol=1e-12)


@pytest.mark.parametrize("reduce", [gnp.sum, gnp.mean, gnp.var, gnp.std, gnp.nanmean])
def test_reductions_with_a_batched_where_mask_equal_a_loop(reduce):
    x = np.arange(1.0, 13.0).reshape(3, 4) ** 1.5
    keep = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 1, 1]], dtype=bool)

    def f(r, k):
        return reduce(r, where=k)

    np.testing.assert_allclose(gk.vmap(f)(x, keep), [f(x[i], keep[i]) for i in range(3)],
                               rtol=1e-12)
    np.testing.assert_allclose(gk.vmap(gk.grad(f))(x, keep),
                               [gk.grad(f)(x[i], keep[i]) for i in range(3)], rtol=1e-12)


def test_custom_vjp_differentiated_through_vmap_uses_its_rule():
    # A straight-through rounding: differentiating round itself would give 0 everywhere.
    @gk.custom_vjp
    def scaled_round(w, x):
        return gnp.round(w * x), w - x

    scaled_round.defvjp(lambda w, x: (scaled_round.fun(w, x), (w, x)),
                        lambda r, g: (g[0] * r[1] + g[1], g[0] * r[0] - g[1]))
    xs = np.array([0.2, 1.7, -0.6])

    def batched(w, xs):
        a, b = gk.vmap(scaled_round, in_axes=(None, 0))(w, xs)
        return gnp.sum(a * xs) + gnp.sum(b ** 2)

    def looped(w, xs):
        return sum(scaled_round(w, xs[i])[0] * xs[i] + scaled_round(w, xs[i])[1] ** 2
                   for i in range(3))

    for argnums in (0, 1, (0, 1)):
        got = gk.grad(batched, argnums=argnums)(1.3, xs)
        want = gk.grad(looped, argnums=argnums)(1.3, xs)
        gk.tree_map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-12), got, want)
    assert gk.grad(batched)(1.3, xs) != 0.0
    np.testing.assert_allclose(gk.jacobian(lambda z: gk.vmap(scaled_round)(z, xs)[0])(xs),
                               np.diag(xs), rtol=1e-12)


def test_python_control_flow_and_conversions_are_clear_errors():
    with pytest.raises(GradkitError, match="bool"):
        gk.vmap(lambda x: x if x > 0 else -x)(np.arange(3.0))
    with pytest.raises(GradkitError, match="batch"):
        gk.vmap(lambda x: float(x))(np.arange(3.0))
    with pytest.raises(GradkitError, match="batch"):
        gk.vmap(lambda x: np.asarray(x))(np.arange(3.0))


@pytest.mark.parametrize("in_axes, args, match", [
    (0, (np.ones((2, 3)), np.ones((3, 3))), "different batch sizes"),
    (2, (np.ones((2, 3)),), "out of bounds"),
    ("x", (np.ones(2),), "ints or None"),
    ((0, 0), (np.ones(2),), "prefix"),
    (None, (np.ones(2),), "axis_size"),
])
def test_bad_axes_are_refused(in_axes, args, match):
    with pytest.raises(GradkitError, match=match):
        gk.vmap(lambda *a: a[0], in_axes=in_axes)(*args)


def test_a_primitive_without_a_rule_names_itself():
    with pytest.raises(GradkitError, match="vmap: .*unique"):
        gk.vmap(gnp.unique)(np.ones((2, 3)))


# -- per-example gradients ----------------------------------------------------------------


def _cross_entropy(logits, y):
    return -gnp.log_softmax(logits)[y]


def test_per_example_gradients_of_an_mlp_equal_a_loop():
    rng = np.random.default_rng(3)
    p = {"W1": rng.normal(size=(64, 32)) * 0.1, "b1": rng.normal(size=32),
         "W2": rng.normal(size=(32, 10)) * 0.1, "b2": rng.normal(size=10)}
    X, Y = rng.normal(size=(16, 64)), rng.integers(0, 10, 16)

    def loss(p, x, y):
        h = gnp.maximum(x @ p["W1"] + p["b1"], 0.0)
        return _cross_entropy(h @ p["W2"] + p["b2"], y)

    got = gk.vmap(gk.grad(loss), in_axes=(None, 0, 0))(p, X, Y)
    for k in p:
        want = np.stack([gk.grad(loss)(p, X[i], Y[i])[k] for i in range(16)])
        np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-15)


def test_per_example_gradients_of_a_module_by_functional_call():
    model = nn.Sequential(nn.Linear(8, 16, rng=0), nn.ReLU(), nn.Linear(16, 3, rng=1))
    params = {k: np.asarray(v, dtype=np.float64) for k, v in model.state_dict().items()}
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(6, 8)), rng.integers(0, 3, 6)

    def loss(p, x, y):
        return _cross_entropy(nn.functional_call(model, p, x[None])[0], y)

    got = gk.vmap(gk.grad(loss), in_axes=(None, 0, 0))(params, X, Y)
    for k in params:
        want = np.stack([gk.grad(loss)(params, X[i], Y[i])[k] for i in range(6)])
        np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-15)


def _cnn_loss(model):
    def loss(p, x, y):
        return nn.cross_entropy(nn.functional_call(model, p, x[None]), y[None])
    return loss


def test_per_example_gradients_of_the_cnn_recipe_network_equal_a_loop():
    from gradkit.recipes.cnn import build_cnn

    model = build_cnn(0, channels=(4, 6, 8)).eval()
    params = {k: np.asarray(v, dtype=np.float64) for k, v in model.state_dict().items()}
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(5, 1, 8, 8)), rng.integers(0, 10, 5)
    loss = _cnn_loss(model)
    got = gk.vmap(gk.grad(loss), in_axes=(None, 0, 0))(params, X, Y)
    for k in params:
        want = np.stack([gk.grad(loss)(params, X[i], Y[i])[k] for i in range(5)])
        np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-15)
    # an ensemble: every example its own weights (batched convolution weights and bias)
    ens = {k: np.stack([v, 0.5 * v, -v]) for k, v in params.items()}
    got = gk.vmap(gk.grad(loss))(ens, X[:3], Y[:3])
    for k in params:
        want = np.stack([gk.grad(loss)({q: v[i] for q, v in ens.items()}, X[i], Y[i])[k]
                         for i in range(3)])
        np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-15)


def test_random_shift_draws_per_example_under_vmap():
    from gradkit.recipes.cnn import build_cnn

    model = build_cnn(0, channels=(2, 2, 2))
    shift = model[0]
    x = np.arange(64.0).reshape(1, 8, 8)
    out = gk.vmap(lambda im: shift(im[None])[0])(np.stack([x] * 8))
    assert len({o.tobytes() for o in np.asarray(out)}) > 1   # not one shift for the batch
    assert all(np.isin(o, np.append(x, 0.0)).all() for o in np.asarray(out))
    with pytest.raises(GradkitError, match="RandomShift"):
        gk.grad(lambda im: gnp.sum(shift(im)))(x[None])


def test_dropout_draws_an_independent_mask_per_example():
    out = gk.vmap(lambda x: nn.functional.dropout(x, 0.5, np.random.default_rng(0)))(
        np.ones((8, 32)))
    assert out.shape == (8, 32)
    assert len({tuple(r) for r in out}) == 8        # every example its own mask
