"""``gradkit.numpy.__all__``: every name gradkit defines is proven differentiable by the
primitive table, or is non-differentiable by declaration and then accepts traced input."""

import inspect

import numpy as np
import pytest

import cases_core  # noqa: F401  (each cases_* module registers its cases in CASES)
import cases_elementwise  # noqa: F401
import cases_linalg  # noqa: F401
import cases_scipy  # noqa: F401
import cases_series  # noqa: F401
import cases_shaping  # noqa: F401
import cases_statistics  # noqa: F401
import gradkit as gk
import gradkit.numpy as gnp
from primtable import CASES


def _has_case(name: str) -> bool:
    return name in CASES or any(c.startswith(name + "_") for c in CASES)


def _base(f):
    return inspect.unwrap(f)


def _public(namespace, names):
    return {n: getattr(namespace, n) for n in names}


def _split(namespace, names):
    """(differentiable, non-differentiable) callables among ``names``."""
    diff, nondiff = {}, {}
    for name, f in _public(namespace, names).items():
        if inspect.ismodule(f) or not callable(f):
            continue
        (nondiff if getattr(f, "differentiable", True) is False else diff)[name] = f
    return diff, nondiff


def _missing_cases(namespace, prefix=""):
    diff, _ = _split(namespace, namespace.__all__)
    covered = {id(_base(f)) for n, f in diff.items() if _has_case(prefix + n)}
    # an alias (absolute/abs, mod/remainder...) is covered by the case of its twin
    return sorted(n for n, f in diff.items()
                  if not _has_case(prefix + n) and id(_base(f)) not in covered)


def test_all_lists_only_names_gradkit_defines():
    assert len(gnp.__all__) > 150
    for name in gnp.__all__:
        value = getattr(gnp, name)
        origin = getattr(value, "__module__", None) or getattr(value, "__name__", "")
        assert str(origin).startswith("gradkit"), name
    assert "linalg" in gnp.__all__ and set(gnp.linalg.__all__) >= {"solve", "svd", "eigh"}


@pytest.mark.parametrize("leak", ["math", "itertools", "builtins", "functools", "xp", "np",
                                  "defvjp", "primitive", "nondifferentiable", "raw", "sum_to",
                                  "annotations", "as_strided", "GradkitError", "defprimitive",
                                  "_rules"])
def test_no_module_internals_leak(leak):
    assert leak not in gnp.__all__
    assert leak not in vars(gnp)
    assert leak not in getattr(gnp.linalg, "__all__", ())


def test_every_differentiable_name_is_in_the_primitive_table():
    assert _missing_cases(gnp) == []


def test_every_differentiable_linalg_name_is_in_the_primitive_table():
    assert _missing_cases(gnp.linalg, "linalg.") == []


X = np.array([0.3, -1.2, 2.5, 0.7])

# Arguments for the non-differentiable functions that need more than the array itself.
EXTRA_ARGS = {
    "full_like": (1.5,), "isclose": (X,), "allclose": (X,), "array_equal": (X,),
    "searchsorted": (0.5,), "digitize": (np.array([0.0, 1.0]),), "isin": (X[:2],),
    "greater": (0.0,), "greater_equal": (0.0,), "less": (0.0,), "less_equal": (0.0,),
    "equal": (0.0,), "not_equal": (0.0,), "logical_and": (X,), "logical_or": (X,),
    "floor_divide": (2.0,),
}
INTEGER_INPUT = {"bincount"}


@pytest.mark.parametrize("name", sorted(_split(gnp, gnp.__all__)[1]))
def test_nondifferentiable_functions_accept_traced_input(name):
    f = getattr(gnp, name)
    seen = []

    def loss(x):
        arg = gk.stop_gradient(x).astype(np.int64) ** 2 if name in INTEGER_INPUT else x
        out = f(arg, *EXTRA_ARGS.get(name, ()))
        seen.append(out)
        return gnp.sum(x ** 2)

    gk.grad(loss)(X)
    for o in seen[0] if isinstance(seen[0], tuple) else (seen[0],):
        assert not isinstance(o, gk.Tensor), f"{name} returned a traced value"


@pytest.mark.parametrize("name", ["frexp", "spacing", "nextafter", "i0", "fft"])
def test_numpy_fallback_names_refuse_traced_input(name):
    if name in gnp.__all__:
        pytest.skip(f"gradkit defines {name}")
    f = getattr(gnp, name)
    f = getattr(f, "fft", f)

    def loss(x):
        args = (x, x) if name == "nextafter" else (x,)
        out = f(*args)
        return gnp.sum(out[0] if isinstance(out, tuple) else out)

    with pytest.raises(gk.GradkitError):
        gk.grad(loss)(X)


def _one_array_calls():
    """Differentiable functions that accept one 1-D float array: (name, function)."""
    diff, _ = _split(gnp, gnp.__all__)
    x = np.array([0.3, -1.2, 2.5, 0.7])
    out = []
    for name, f in sorted(diff.items()):
        try:
            with np.errstate(all="ignore"):
                value = f(x)
            np.asarray(value, dtype=float)
        except Exception:  # needs more arguments, or another shape: not this test's
            continue
        out.append((name, f))
    return out


ONE_ARRAY = _one_array_calls()


def test_the_one_array_sweep_covers_the_common_functions():
    names = {n for n, _ in ONE_ARRAY}
    assert {"sum", "mean", "median", "cumprod", "diff", "sort", "sin", "ptp", "var",
            "nanmean", "gradient", "unique", "trapezoid"} <= names
    assert len(names) > 80


@pytest.mark.parametrize("name, f", ONE_ARRAY, ids=[n for n, _ in ONE_ARRAY])
def test_lists_of_traced_values_keep_their_gradient(name, f):
    """``f([x0, x1, ...])`` of traced scalars has the gradient of ``f(x)``."""
    x = np.array([0.3, -1.2, 2.5, 0.7])
    w = np.array([0.5, -1.0, 2.0, 1.5])

    def weighted(out):
        out = out if not isinstance(out, tuple | list) else out[0]
        flat = gnp.ravel(out)
        return gnp.sum(flat * w[: flat.shape[0]]) if flat.shape[0] <= 4 else gnp.sum(flat)

    with np.errstate(all="ignore"):
        from_array = gk.grad(lambda x: weighted(f(x)))(x)
        from_list = gk.grad(lambda x: weighted(f([x[0], x[1], x[2], x[3]])))(x)
        from_tuple = gk.grad(lambda x: weighted(f((x[0], x[1], x[2], x[3]))))(x)
    np.testing.assert_allclose(from_list, from_array, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(from_tuple, from_array, rtol=1e-12, atol=1e-12)


def _numpy_twins():
    """(name, gradkit function, NumPy function) for every name both define."""
    out = []
    for gmod, nmod, prefix in ((gnp, np, ""), (gnp.linalg, np.linalg, "linalg.")):
        for name in gmod.__all__:
            f, nf = getattr(gmod, name), getattr(nmod, name, None)
            if nf is None or inspect.ismodule(f) or not callable(f) or isinstance(nf, type):
                continue
            out.append((prefix + name, f, nf))
    return out


TWINS = _numpy_twins()
FUNCTION_TWINS = [t for t in TWINS if not isinstance(t[2], np.ufunc)]
UFUNC_TWINS = [t for t in TWINS if isinstance(t[2], np.ufunc) and t[2].nin <= 2]


@pytest.mark.parametrize("name, f, nf", FUNCTION_TWINS, ids=[t[0] for t in FUNCTION_TWINS])
def test_every_numpy_keyword_is_accepted(name, f, nf):
    """gradkit takes each parameter NumPy's function takes (it then computes it, or
    refuses its value by name): no raw ``unexpected keyword`` TypeError."""
    try:
        want = inspect.signature(nf).parameters
    except (TypeError, ValueError):
        pytest.skip(f"numpy.{name} has no signature")
    have = inspect.signature(inspect.unwrap(f)).parameters
    if any(p.kind == p.VAR_KEYWORD for p in have.values()):
        return
    missing = [k for k, p in want.items()
               if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and k not in have]
    assert missing == []


@pytest.mark.parametrize("name, f, nf", UFUNC_TWINS, ids=[t[0] for t in UFUNC_TWINS])
def test_ufunc_keywords_work_on_plain_arrays_and_are_refused_when_traced(name, f, nf):
    x = np.array([0.3, 0.6]) if name in ("arcsin", "arccos", "arctanh") else np.array([1.3, 1.6])
    args = (x,) * nf.nin
    out = np.empty(2, dtype=nf(*args).dtype)
    np.testing.assert_array_equal(f(*args, out=out), nf(*args))  # plain arrays: NumPy's
    seen = []

    def loss(x):
        seen.append(f(*(x,) * nf.nin, out=np.empty(2, dtype=out.dtype)))
        return gnp.sum(x ** 2)

    if getattr(f, "differentiable", True) is False:
        gk.grad(loss)(x)        # no gradient to lose: NumPy's call on the values
        np.testing.assert_array_equal(seen[0], nf(*args))
    else:
        with pytest.raises(gk.GradkitError, match="out= is not supported"):
            gk.grad(loss)(x)


def _one_matrix_calls():
    """Differentiable linalg functions that accept one square matrix: (name, function)."""
    diff, _ = _split(gnp.linalg, gnp.linalg.__all__)
    a = np.array([[2.0, 0.3, -0.1], [0.3, 1.5, 0.2], [-0.1, 0.2, 1.0]])
    out = []
    for name, f in sorted(diff.items()):
        try:
            value = f(a)
            leaves = value if isinstance(value, tuple) else (value,)
            [np.asarray(v, dtype=float) for v in leaves]
        except Exception:
            continue
        out.append((name, f))
    return out


ONE_MATRIX = _one_matrix_calls()


@pytest.mark.parametrize("name, f", ONE_MATRIX, ids=[n for n, _ in ONE_MATRIX])
def test_nested_lists_of_traced_values_keep_their_gradient_in_linalg(name, f):
    a = np.array([[2.0, 0.3, -0.1], [0.3, 1.5, 0.2], [-0.1, 0.2, 1.0]])

    def scalar(out):
        leaves = out if isinstance(out, tuple) else (out,)
        # values and vectors through sign-invariant squares
        floats = [v for v in leaves if np.asarray(gk.stop_gradient(v)).dtype.kind == "f"]
        return sum(gnp.sum(v ** 2) for v in floats)

    rows = lambda m: [[m[i, j] for j in range(3)] for i in range(3)]  # noqa: E731
    from_array = gk.grad(lambda m: scalar(f(m)))(a)
    from_lists = gk.grad(lambda m: scalar(f(rows(m))))(a)
    np.testing.assert_allclose(from_lists, from_array, rtol=1e-12, atol=1e-12)
    assert len(ONE_MATRIX) > 10
