"""NumPy's keywords on gradkit's core functions: NumPy's values, checked gradients."""

import numpy as np
import pytest

import gradkit as gk
import gradkit.numpy as gnp

X = np.array([[0.3, -1.2, 2.5], [0.7, 1.1, -0.4]])
MASK = np.array([[True, False, True], [True, True, False]])

CALLS = [
    ("sum", dict(axis=1, where=MASK)),
    ("sum", dict(axis=0, initial=2.5)),
    ("sum", dict(where=MASK, initial=-1.0, keepdims=True)),
    ("sum", dict(dtype=np.float32)),
    ("mean", dict(axis=1, where=MASK)),
    ("mean", dict(where=MASK, keepdims=True)),
    ("mean", dict(axis=0, dtype=np.float32)),
    ("var", dict(axis=1, where=MASK)),
    ("var", dict(axis=1, correction=1)),
    ("var", dict(axis=0, mean=np.mean(X, axis=0, keepdims=True))),
    ("std", dict(where=MASK, ddof=1)),
    ("std", dict(axis=1, correction=1, keepdims=True)),
    ("max", dict(axis=1, initial=0.5)),
    ("max", dict(axis=0, where=MASK, initial=-5.0)),
    ("min", dict(where=MASK, initial=5.0)),
    ("clip", dict(min=-0.5, max=1.0)),
    ("reshape", dict(shape=(3, 2), order="F")),
    ("ravel", dict(order="F")),
    ("ravel", dict(order="K")),
    ("take", dict(indices=[0, 7, -9], mode="wrap")),
    ("take", dict(indices=[0, 7, -9], mode="clip", axis=None)),
    ("trace", dict(offset=1, dtype=np.float32)),
    ("cumsum", dict(axis=1, dtype=np.float32)),
    ("sort", dict(axis=0, kind="quicksort")),
    ("sort", dict(stable=True)),
]


@pytest.mark.parametrize("name, kw", CALLS, ids=[f"{n}-{'-'.join(k)}" for n, k in CALLS])
def test_keyword_values_and_gradients(name, kw):
    f, ref = getattr(gnp, name), getattr(np, name)
    want = ref(X, **kw)
    got = f(X, **kw)
    assert np.asarray(got).dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if want.dtype == np.float32 else 1e-14)
    if want.dtype == np.float64:
        gk.check_grads(lambda x: f(x, **kw), (X,), order=2, modes=("rev", "fwd"))
        traced = gk.value_and_grad(lambda x: gnp.sum(f(x, **kw) ** 2))(X)[0]
        np.testing.assert_allclose(traced, np.sum(want ** 2), rtol=1e-13)


@pytest.mark.parametrize("call, match", [
    (lambda x: gnp.sum(x, out=np.empty(())), "sum: out= is not supported"),
    (lambda x: gnp.max(x, where=MASK), "max: where= needs initial="),
    (lambda x: gnp.var(x, ddof=1, correction=1), "ddof and correction"),
    (lambda x: gnp.clip(x, -1.0, min=-2.0), "a_min or min, not both"),
    (lambda x: gnp.reshape(x, (3, 2), order="Q"), "order must be"),
    (lambda x: gnp.take(x, [0], mode="bounce"), "mode must be"),
    (lambda x: gnp.sort(x, order="f0"), "structured arrays"),
    (lambda x: gnp.dot(x, x.T, out=np.empty((2, 2))), "dot: out="),
])
def test_unsupported_keyword_values_are_refused_by_name(call, match):
    with pytest.raises(gk.GradkitError, match=match):
        gk.grad(lambda x: gnp.sum(call(x)))(X)


def test_fully_masked_mean_is_nan_as_in_numpy():
    empty = np.zeros_like(MASK)
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"), \
            np.errstate(invalid="ignore"):
        want = np.mean(X, axis=1, where=empty)
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        got = gnp.mean(X, axis=1, where=empty)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
