"""vmap at its edges: default axes, per-example parameters (shifts, fill values, sorted
arrays), keyword arguments, empty batches, per-example indices under Jacobians, and the
errors. Each result is checked against a loop over the examples."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit as gk
import gradkit.numpy as gnp
from gradkit.errors import GradkitError, OpError

RNG = np.random.default_rng(11)


def _loop(f, *args, in_axes=None):
    """``f`` example by example, stacked: arguments with axis None are shared."""
    in_axes = in_axes or (0,) * len(args)
    n = next(np.shape(a)[0] for a, ax in zip(args, in_axes) if ax is not None)
    outs = [f(*(a if ax is None else a[k] for a, ax in zip(args, in_axes))) for k in range(n)]
    return np.stack([np.asarray(o) for o in outs])


def _same(got, want):
    assert np.shape(got) == np.shape(want)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# -- default axes and per-example shapes ---------------------------------------------------


@pytest.mark.parametrize("f", [gnp.argsort, lambda x: x.argsort(), gnp.sort, gnp.argmax,
                               gnp.cumsum, lambda x: gnp.argsort(x, axis=None)])
def test_default_axes_are_numpys(f):
    xs = RNG.normal(size=(3, 2, 4))
    _same(gk.vmap(f)(xs), _loop(f, xs))


@pytest.mark.parametrize("name", ["tril", "triu"])
def test_triangles_of_a_vector_are_square_matrices(name):
    """NumPy takes a vector as the rows of a square matrix: its gradient has its shape."""
    f = getattr(gnp, name)
    vs = RNG.normal(size=(3, 4))
    _same(gk.vmap(lambda v: f(v, 1))(vs), _loop(lambda v: getattr(np, name)(v, 1), vs))
    grad = gk.grad(lambda v: gnp.sum(f(v) * np.arange(16.0).reshape(4, 4)))
    _same(gk.vmap(grad)(vs), _loop(grad, vs))
    assert grad(vs[0]).shape == (4,)


# -- per-example parameters ----------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
def test_roll_by_a_shift_per_example(axis):
    xs = RNG.normal(size=(3, 4, 5))
    shifts = np.array([[1, -2], [7, 0], [-3, 4]]) if isinstance(axis, tuple) else \
        np.array([1, 7, -3])
    want = _loop(lambda x, s: np.roll(x, s, axis), xs, shifts)
    _same(gk.vmap(lambda x, s: gnp.roll(x, s, axis))(xs, shifts), want)
    weights = RNG.normal(size=(4, 5))
    grad = gk.grad(lambda x, s: gnp.sum(gnp.roll(x, s, axis) * weights))
    _same(gk.vmap(grad)(xs, shifts), _loop(grad, xs, shifts))


def test_roll_refuses_shifts_that_do_not_match_the_axes():
    with pytest.raises(GradkitError, match="roll: shift of shape"):
        gk.vmap(lambda x, s: gnp.roll(x, s, axis=0))(np.ones((2, 3)), np.ones((2, 2), int))


@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
def test_take_with_an_index_per_example(mode):
    tables = RNG.normal(size=(2, 4, 3))
    index = np.array([[0, 3], [-5, 9]]) if mode != "raise" else np.array([[0, 3], [2, 2]])
    f = lambda t, i: gnp.take(t, i, axis=0, mode=mode)  # noqa: E731
    _same(gk.vmap(f)(tables, index), _loop(lambda t, i: np.take(t, i, 0, mode=mode), tables,
                                            index))
    _same(gk.vmap(f, in_axes=(None, 0))(tables[0], index),
          _loop(lambda t, i: np.take(t, i, 0, mode=mode), tables[0], index,
                in_axes=(None, 0)))


def test_pad_with_a_fill_value_per_example_and_its_gradient():
    xs = RNG.normal(size=(3, 2, 4)).astype(np.float32)
    values = np.array([1.0, -2.0, 3.0])
    f = lambda x, v: gnp.pad(x, ((1, 0), (0, 2)), constant_values=v)  # noqa: E731
    _same(gk.vmap(f)(xs, values), _loop(lambda x, v: np.pad(x, ((1, 0), (0, 2)),
                                                            constant_values=v), xs, values))
    _same(gk.vmap(f, in_axes=(None, 0))(xs[0], values),
          _loop(lambda x, v: np.pad(x, ((1, 0), (0, 2)), constant_values=v), xs[0], values,
                in_axes=(None, 0)))
    grad = gk.grad(lambda v, x: gnp.sum(f(x, v) ** 2))
    border = 3 * 6 - 2 * 4
    np.testing.assert_allclose(gk.vmap(grad)(values, xs.astype(float)), 2 * values * border)


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_with_a_sorted_array_per_example(side):
    sorted_ = np.sort(RNG.normal(size=(3, 6)), axis=1)
    sorted_[1, -1] = np.nan                          # NaN sorts last, as in NumPy
    queries = RNG.normal(size=(3, 4))
    queries[0, 1], queries[2, 0] = np.nan, sorted_[2, 2]   # a NaN, and a tie
    f = lambda a, v: gnp.searchsorted(a, v, side=side)  # noqa: E731
    ref = lambda a, v: np.searchsorted(a, v, side=side)  # noqa: E731
    _same(gk.vmap(f)(sorted_, queries), _loop(ref, sorted_, queries))
    _same(gk.vmap(f, in_axes=(0, None))(sorted_, queries[0]),
          _loop(ref, sorted_, queries[0], in_axes=(0, None)))
    _same(gk.vmap(f, in_axes=(None, 0))(sorted_[0], queries),
          _loop(ref, sorted_[0], queries, in_axes=(None, 0)))
    order = np.argsort(-sorted_[[0, 2]], axis=1)
    _same(gk.vmap(lambda a, v, s: gnp.searchsorted(a, v, side=side, sorter=s))(
        -sorted_[[0, 2]], queries[[0, 2]], order),
        _loop(lambda a, v, s: np.searchsorted(a, v, side=side, sorter=s), -sorted_[[0, 2]],
              queries[[0, 2]], order))


def test_comparisons_of_whole_examples_and_counts():
    xs = RNG.normal(size=(3, 2, 4))
    ys = xs.copy()
    ys[1, 0, 0] += 1e-3
    xs[2, 1, 1] = ys[2, 1, 1] = np.nan
    for f, ref in [(gnp.allclose, np.allclose), (gnp.array_equal, np.array_equal),
                   (lambda a, b: gnp.allclose(a, b, equal_nan=True),
                    lambda a, b: np.allclose(a, b, equal_nan=True)),
                   (lambda a, b: gnp.array_equal(a, b, equal_nan=True),
                    lambda a, b: np.array_equal(a, b, equal_nan=True))]:
        _same(gk.vmap(f)(xs, ys), _loop(ref, xs, ys))
    _same(gk.vmap(gnp.array_equal, in_axes=(0, None))(xs, xs[0, 0]),
          np.zeros(3, bool))                          # shapes differ: never equal
    _same(gk.vmap(lambda x: gnp.count_nonzero(x > 0, axis=1))(xs),
          _loop(lambda x: np.count_nonzero(x > 0, axis=1), xs))
    mats = RNG.normal(size=(3, 4, 4))
    mats[1, 3] = mats[1, 2]
    _same(gk.vmap(gnp.linalg.matrix_rank)(mats), _loop(np.linalg.matrix_rank, mats))


def test_full_like_and_empty_like_of_a_batched_value():
    xs = RNG.normal(size=(3, 2)).astype(np.float32)
    _same(gk.vmap(lambda x: gnp.full_like(x, 2.5) * x)(xs), 2.5 * xs)
    _same(gk.vmap(lambda x: gnp.empty_like(x).shape[0] + x)(xs), 2 + xs)


# -- keyword arguments and empty batches -----------------------------------------------------


def test_keyword_arguments_are_mapped_over_axis_0():
    a, b = RNG.normal(size=3), RNG.normal(size=3)
    _same(gk.vmap(lambda a, b: a * b)(a, b=b), a * b)
    _same(gk.vmap(lambda a, b: a * b, in_axes=(None,))(2.0, b=b), 2.0 * b)
    with pytest.raises(GradkitError, match="keyword arguments are mapped over their axis 0"):
        gk.vmap(lambda a, b: a * b)(a, b=2.0)


@pytest.mark.parametrize("f", [gnp.ravel, lambda x: x.reshape(-1), lambda x: gnp.vdot(x, x),
                               lambda x: gnp.outer(x, x), lambda x: gnp.sort(x, axis=None),
                               lambda x: gnp.argmax(x), gnp.cumsum, lambda x: gnp.roll(x, 1),
                               lambda x: gnp.concatenate([x, x], axis=None)])
def test_an_empty_batch_gives_empty_results(f):
    xs = np.zeros((0, 2, 3))
    assert gk.vmap(f)(xs).shape == (0,) + np.shape(f(np.zeros((2, 3))))


def test_gradient_through_an_empty_batch_is_zero():
    w = np.ones(3)
    g = gk.grad(lambda w: gnp.sum(gk.vmap(lambda x, w: gnp.outer(x, w), in_axes=(0, None),
                                          out_axes=1)(np.zeros((0, 3)), w)))(w)
    _same(g, np.zeros(3))


# -- per-example indices under Jacobians ----------------------------------------------------


@pytest.mark.parametrize("jac", [gk.jacfwd, gk.jacrev])
@pytest.mark.parametrize("pick", [lambda m, i, j: m[i, :, j], lambda m, i, j: m[:, i, None, j],
                                  lambda m, i, j: m[j, 1:, i], lambda m, i, j: m[1, i]])
def test_jacobians_of_indexing_by_per_example_integers(jac, pick):
    ms = RNG.normal(size=(2, 3, 4, 5))
    rows, cols = np.array([[1, 2], [0, 0]]), np.array([2, 0])
    f = lambda m, i, j: jac(lambda m: gnp.sin(pick(m, i, j)) ** 2)(m)  # noqa: E731
    _same(gk.vmap(f)(ms, rows, cols), _loop(f, ms, rows, cols))


def test_hessian_of_a_per_example_pick():
    zs, labels = RNG.normal(size=(3, 4)), np.array([2, 0, 3])
    h = gk.hessian(lambda z, k: z[k] ** 3 - gnp.logsumexp(z))
    _same(gk.vmap(h)(zs, labels), _loop(h, zs, labels))
    _same(gk.vmap(gk.jacrev(gnp.sort))(zs), _loop(gk.jacrev(gnp.sort), zs))


# -- errors ---------------------------------------------------------------------------------


def test_errors_name_the_batch_and_the_argument():
    with pytest.raises(OpError, match=r"inside vmap, over a batch of 2: the shapes"):
        gk.vmap(lambda a, b: a @ b)(np.ones((2, 3, 4)), np.ones((2, 5)))
    with pytest.raises(GradkitError, match="axis_size must be a non-negative int, got -1"):
        gk.vmap(lambda a: a, axis_size=-1)
    with pytest.raises(GradkitError, match=r"\(1 entries for 2 items\)"):
        gk.vmap(lambda a, b: a, in_axes=(0,))(np.ones(2), np.ones(2))
    with pytest.raises(GradkitError, match="prefix of the outputs' structure"):
        gk.vmap(lambda a: (a, a), out_axes=(0, 0, 0))(np.ones(2))
    with pytest.raises(GradkitError, match=r"output 1 \(of 2, flattened\)"):
        gk.vmap(lambda a: (1.0, a), out_axes=None)(np.ones(2))
    with pytest.raises(GradkitError, match="gradkit.numpy.take"):
        gk.vmap(lambda i: np.arange(4.0)[i])(np.array([0, 3]))


def test_a_traced_argument_without_a_rule_is_refused_not_zeroed():
    """A primitive given fewer rules than arguments: a traced float past the last rule
    would get a zero gradient silently."""
    scale = gk.defprimitive(lambda x, s: x * s, "scale", lambda g, ans, x, s: g * s)
    assert gk.grad(lambda x: gnp.sum(scale(x, 2.0)))(np.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(GradkitError, match="scale: argument 1 has no derivative rule"):
        gk.grad(lambda s: gnp.sum(scale(np.ones(2), s)))(2.0)
