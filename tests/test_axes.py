"""Axis arguments: valid ones (negative too) agree with NumPy; an out-of-range or repeated
axis is a GradkitError naming the call and the axis, never a silent wrap modulo ndim."""

import re

import numpy as onp
import pytest

import gradkit as gk
import gradkit.numpy as gnp
from gradkit.errors import GradkitError

X = onp.arange(6.0).reshape(2, 3)
X3 = onp.arange(24.0).reshape(2, 3, 4)
ONES = onp.ones((1, 3, 1))
A = (onp.arange(36.0).reshape(6, 6) % 7 + 6 * onp.eye(6)).reshape(2, 3, 2, 3)
B = onp.arange(1.0, 7.0).reshape(2, 3)
IDX = onp.argsort(-X, axis=0) % 2  # valid indices along either axis of X


def _lse(a, axis):
    return onp.log(onp.sum(onp.exp(a), axis=axis))


def _softmax(a, axis):
    e = onp.exp(a - onp.max(a, axis=axis, keepdims=True))
    return e / onp.sum(e, axis=axis, keepdims=True)


def _trapezoid_traced(a, axis):
    # the composite (traced) path: gk.vjp traces its argument
    return gk.vjp(lambda t: gnp.trapezoid(t, axis=axis), a)[0]


# name: (gradkit call of an axis, NumPy's call of the same axis, valid axes,
#        bad axes with the text the error must hold)
CASES = {
    "expand_dims": (
        lambda ax: gnp.expand_dims(X, ax), lambda ax: onp.expand_dims(X, ax),
        [0, 1, 2, -1, -2, -3, (0, -1), (0, 1), (-4, 3)],
        [(3, "axis 3 is out of bounds"), (-4, "axis -4 is out of bounds"),
         ((0, 0), "repeated axis 0"), ((0, -4), "repeated axis -4"),
         ((1, 4), "axis 4 is out of bounds")]),
    "moveaxis": (
        lambda ax: gnp.moveaxis(X3, *ax), lambda ax: onp.moveaxis(X3, *ax),
        [(0, -1), (-1, 0), (1, 2), ((0, 1), (1, 0)), ((0, -1), (-1, 0))],
        [((0, 3), "axis 3 is out of bounds"), ((3, 0), "axis 3 is out of bounds"),
         ((-4, 0), "axis -4 is out of bounds"), (((0, 0), (0, 1)), "repeated axis 0")]),
    "swapaxes": (
        lambda ax: gnp.swapaxes(X, *ax), lambda ax: onp.swapaxes(X, *ax),
        [(0, 1), (-1, -2), (0, 0), (1, -2)],
        [((0, 2), "axis 2 is out of bounds"), ((-3, 0), "axis -3 is out of bounds")]),
    "stack": (
        lambda ax: gnp.stack([X, 2 * X], axis=ax), lambda ax: onp.stack([X, 2 * X], axis=ax),
        [0, 1, 2, -1, -2, -3],
        [(3, "axis 3 is out of bounds"), (-4, "axis -4 is out of bounds")]),
    "take": (
        lambda ax: gnp.take(X, [1, 0], axis=ax), lambda ax: onp.take(X, [1, 0], axis=ax),
        [0, 1, -1, -2, None],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "take_along_axis": (
        lambda ax: gnp.take_along_axis(X, IDX, axis=ax),
        lambda ax: onp.take_along_axis(X, IDX, axis=ax),
        [0, 1, -1, -2],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "squeeze": (
        lambda ax: gnp.squeeze(ONES, ax), lambda ax: onp.squeeze(ONES, ax),
        [0, 2, -1, -3, (0, 2), (0, -1), None],
        [(3, "axis 3 is out of bounds"), (-4, "axis -4 is out of bounds"),
         ((0, 0), "repeated axis 0"), ((0, -3), "repeated axis -3")]),
    "transpose": (
        lambda ax: gnp.transpose(X3, ax), lambda ax: onp.transpose(X3, ax),
        [None, (2, 0, 1), (-1, 0, 1), (0, -2, -1), (0, 1, 2)],
        [((3, 0, 1), "axis 3 is out of bounds"), ((0, 1, -4), "axis -4 is out of bounds"),
         ((0, 0, 1), "repeated axis 0")]),
    "permute_dims": (
        lambda ax: gnp.permute_dims(X3, ax), lambda ax: onp.permute_dims(X3, ax),
        [(2, 0, 1), (-1, 0, 1), (1, 0, 2)],
        [((1, 2, 3), "axis 3 is out of bounds"), ((0, 0, 1), "repeated axis 0")]),
    "tensordot": (
        lambda ax: gnp.tensordot(X, X.T, axes=ax), lambda ax: onp.tensordot(X, X.T, axes=ax),
        [([1], [0]), ([-1], [-2]), ([0], [1]), ([0, 1], [1, 0]), ([-2, -1], [1, 0]), 1],
        [(([2], [0]), "axis 2 is out of bounds"), (([0], [2]), "axis 2 is out of bounds"),
         (([-3], [0]), "axis -3 is out of bounds"), (([0, 0], [1, 1]), "repeated axis 0")]),
    "split": (
        lambda ax: gnp.split(X3, 2, axis=ax), lambda ax: onp.split(X3, 2, axis=ax),
        [0, 2, -1, -3],
        [(3, "axis 3 is out of bounds"), (-4, "axis -4 is out of bounds")]),
    "repeat": (
        lambda ax: gnp.repeat(X, 2, axis=ax), lambda ax: onp.repeat(X, 2, axis=ax),
        [0, 1, -1, -2, None],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "linalg.cross": (
        lambda ax: gnp.linalg.cross(X.T, X.T[::-1] ** 2, axis=ax),
        lambda ax: onp.linalg.cross(X.T, X.T[::-1] ** 2, axis=ax),
        [0, -2],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "flip": (
        lambda ax: gnp.flip(X, ax), lambda ax: onp.flip(X, ax),
        [0, 1, -1, -2, (0, 1), None],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds"),
         ((0, 2), "axis 2 is out of bounds")]),
    "roll": (
        lambda ax: gnp.roll(X, 1, ax), lambda ax: onp.roll(X, 1, ax),
        [0, 1, -1, -2, (0, 1), None],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "logsumexp": (
        lambda ax: gnp.logsumexp(X, ax), lambda ax: _lse(X, ax),
        [0, 1, -1, -2, (0, 1), None],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "softmax": (
        lambda ax: gnp.softmax(X, ax), lambda ax: _softmax(X, ax),
        [0, 1, -1, -2],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "log_softmax": (
        lambda ax: gnp.log_softmax(X, ax), lambda ax: onp.log(_softmax(X, ax)),
        [0, 1, -1, -2],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "sliding_window_view": (
        lambda ax: gnp.sliding_window_view(X, 2, axis=ax),
        lambda ax: onp.lib.stride_tricks.sliding_window_view(X, 2, axis=ax),
        [0, 1, -1, -2],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "linalg.norm": (
        lambda ax: gnp.linalg.norm(X, axis=ax), lambda ax: onp.linalg.norm(X, axis=ax),
        [0, 1, -1, -2, (0, 1), (-1, -2), None],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds"),
         ((0, 2), "axis 2 is out of bounds")]),
    "linalg.vector_norm": (
        lambda ax: gnp.linalg.vector_norm(X3, axis=ax, keepdims=True),
        lambda ax: onp.linalg.vector_norm(X3, axis=ax, keepdims=True),
        [0, 2, -1, -3, (0, 2), (-1, 0), (2, 0, 1), None],
        [(3, "axis 3 is out of bounds"), (-4, "axis -4 is out of bounds"),
         ((0, 3), "axis 3 is out of bounds"), ((0, 0), "repeated axis 0"),
         ((1, -2), "repeated axis -2")]),
    "linalg.tensorsolve": (
        lambda ax: gnp.linalg.tensorsolve(A, B, axes=ax),
        # NumPy's own takes no negative axes (list.remove fails): the same axes counted
        # from the front
        lambda ax: onp.linalg.tensorsolve(A, B, axes=ax and tuple(a % 4 for a in ax)),
        [None, (0,), (-4,), (0, 1), (-4, -3), (1, 0), (2, 3)],
        [((4,), "axis 4 is out of bounds"), ((-5,), "axis -5 is out of bounds"),
         ((0, 0), "repeated axis 0")]),
    "trapezoid": (
        lambda ax: gnp.trapezoid(X, axis=ax), lambda ax: onp.trapezoid(X, axis=ax),
        [0, 1, -1, -2],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
    "sort": (
        lambda ax: gnp.sort(X[::-1], axis=ax), lambda ax: onp.sort(X[::-1], axis=ax),
        [0, 1, -1, -2, None],
        [(2, "axis 2 is out of bounds"), (-3, "axis -3 is out of bounds")]),
}


def _assert_same(got, want):
    if isinstance(want, list | tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w)
        return
    got = onp.asarray(got)
    assert got.shape == onp.shape(want)
    onp.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _expect(call: str, text: str) -> str:
    # the call's name, perhaps which argument, e.g. "moveaxis (source): axis 3 is out..."
    return re.escape(call) + r"( \([a-z ]+\))?: " + re.escape(text)


@pytest.mark.parametrize("name", list(CASES))
def test_axes_checked(name):
    ours, numpys, valid, bad = CASES[name]
    for ax in valid:  # nothing valid raises; results are NumPy's
        _assert_same(ours(ax), numpys(ax))
    call = name.split(".")[-1] if name.startswith("linalg.") else name
    for ax, text in bad:
        with pytest.raises(GradkitError, match=r"(linalg\.)?" + _expect(call, text)):
            ours(ax)


def test_take_checks_the_axis_before_wrapping_indices():
    onp.testing.assert_array_equal(gnp.take(X, [4, -1], axis=-1, mode="wrap"),
                                   onp.take(X, [4, -1], axis=-1, mode="wrap"))
    for mode in ("wrap", "clip"):
        with pytest.raises(GradkitError, match=_expect("take", "axis 2 is out of bounds")):
            gnp.take(X, [0], axis=2, mode=mode)


def test_squeeze_names_the_axis_given():
    with pytest.raises(GradkitError, match=_expect("squeeze", "axis -3 is out of bounds "
                                                   "for an array of dimension 2")):
        gnp.squeeze(onp.ones((1, 3)), -3)
    with pytest.raises(GradkitError, match=_expect("squeeze", "axis 2 is out of bounds")):
        gnp.squeeze(onp.ones((1, 3)), 2)


def test_trapezoid_traced_and_plain_agree():
    for ax in (0, -1, 1, -2):
        onp.testing.assert_allclose(_trapezoid_traced(X, ax), onp.trapezoid(X, axis=ax))
    for f in (_trapezoid_traced, lambda a, ax: gnp.trapezoid(a, axis=ax)):
        with pytest.raises(GradkitError, match=_expect("trapezoid", "axis -3 is out")):
            f(X, -3)


def test_moveaxis_needs_as_many_destinations_as_sources():
    with pytest.raises(GradkitError, match="moveaxis: source .* same number of elements"):
        gnp.moveaxis(X3, (0, 1), (1,))
    with pytest.raises(GradkitError, match=_expect("moveaxis", "axis 3 is out of bounds")):
        gnp.moveaxis(X3, 3, 0)


def test_tensordot_needs_as_many_axes_of_each():
    with pytest.raises(GradkitError, match="tensordot: shape-mismatch for sum"):
        gnp.tensordot(X, X.T, axes=([0], [1, 0]))
    with pytest.raises(GradkitError, match=_expect("tensordot", "axis 2 is out of bounds")):
        gnp.tensordot(X, X, axes=([2], [0]))


BATCH = onp.stack([X, 10 * X + 1])

# Under vmap the axes are one example's (2-D here), never the batch of 3-D.
VMAP = {
    "transpose": (lambda r, ax: r.transpose(*ax), lambda r, ax: r.transpose(*ax),
                  [(1, 0), (-1, -2), (0, 1)], [((2, 1), "axis 2 is out of bounds")]),
    "swapaxes": (lambda r, ax: gnp.swapaxes(r, *ax), lambda r, ax: onp.swapaxes(r, *ax),
                 [(0, 1), (-1, 0)], [((0, 2), "axis 2 is out of bounds")]),
    "moveaxis": (lambda r, ax: gnp.moveaxis(r, *ax), lambda r, ax: onp.moveaxis(r, *ax),
                 [(0, -1), (-1, 0)], [((0, 2), "axis 2 is out of bounds")]),
    "expand_dims": (gnp.expand_dims, onp.expand_dims, [0, 2, -1, -3],
                    [(3, "axis 3 is out of bounds"), (-4, "axis -4 is out of bounds")]),
    "take": (lambda r, ax: gnp.take(r, [1, 0], axis=ax),
             lambda r, ax: onp.take(r, [1, 0], axis=ax),
             [0, 1, -1, -2], [(2, "axis 2 is out of bounds")]),
    "stack": (lambda r, ax: gnp.stack([r, r + 1], axis=ax),
              lambda r, ax: onp.stack([r, r + 1], axis=ax),
              [0, 2, -1, -3], [(3, "axis 3 is out of bounds")]),
    "flip": (gnp.flip, onp.flip, [0, -1], [(2, "axis 2 is out of bounds")]),
}


@pytest.mark.parametrize("name", list(VMAP))
def test_axes_checked_under_vmap(name):
    ours, numpys, valid, bad = VMAP[name]
    for ax in valid:
        got = gk.vmap(lambda r, ax=ax: ours(r, ax))(BATCH)
        _assert_same(got, onp.stack([numpys(r, ax) for r in BATCH]))
    for ax, text in bad:
        with pytest.raises(GradkitError, match=_expect(name, text)):
            gk.vmap(lambda r, ax=ax: ours(r, ax))(BATCH)


def test_vmap_transpose_rule_checks_one_examples_axes():
    # the batching rule of the transpose primitive itself (reached without ops.transpose's
    # own check) counts one example's axes
    from gradkit import ops

    got = gk.vmap(lambda r: ops._transpose(r, (-1, 0)))(BATCH)
    _assert_same(got, onp.stack([r.T for r in BATCH]))
    with pytest.raises(GradkitError, match=r"transpose: axis 2 is out of bounds .*inside vmap"):
        gk.vmap(lambda r: ops._transpose(r, (2, 1)))(BATCH)
