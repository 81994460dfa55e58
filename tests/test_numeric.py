"""gradkit.numeric: numerical derivatives with error estimates.

The accuracy goals are asserted on the 75-case suite of the issue (15 functions, 5 points
each); relative error is ``|d - exact| / |exact|``, absolute where the exact value is 0, and
a result with ``success`` False counts with its error.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import gradkit as gk
import gradkit.numpy as gnp
from gradkit.errors import GradkitError
from gradkit.numeric import (
    DerivativeArgumentError,
    DerivativeResult,
    FunctionOutputError,
    derivative,
    directional_derivative,
    gradient,
    hessian,
    jacobian,
)
from gradkit.numeric.suite import accuracy_suite

SUITE = accuracy_suite()


def _relative(d, exact):
    d, exact = np.asarray(d, float), np.asarray(exact, float)
    scale = np.where(exact == 0, 1.0, np.abs(exact))
    return np.abs(d - exact) / scale, scale


def run_suite(n=1, method="central", names=SUITE):
    """Run the suite (one vectorised call per function); per-case arrays."""
    err, est, nfev, ok, complex_ok = [], [], [], [], []
    for name in names:
        f, d1, d2, points, accepts_complex = SUITE[name]
        x = np.array(points, float)
        res = derivative(f, x, n=n, method=method)
        assert isinstance(res, DerivativeResult)
        e, scale = _relative(res.df, (d1 if n == 1 else d2)(x))
        err.append(e)
        est.append(res.error / scale)
        nfev.append(res.nfev)
        ok.append(res.success)
        complex_ok.append(np.full(x.shape, accepts_complex))
    return {k: np.concatenate(v) for k, v in
            dict(err=err, est=est, nfev=nfev, ok=ok, complex_ok=complex_ok).items()}


@pytest.fixture(scope="module")
def central1():
    return run_suite(1, "central")


@pytest.fixture(scope="module")
def central2():
    return run_suite(2, "central")


def test_suite_has_75_cases(central1):
    assert central1["err"].size == 75
    assert central1["complex_ok"].sum() == 70


# --------------------------------------------------------------------------- goals


def test_first_derivative_goals(central1):
    err, nfev = central1["err"], central1["nfev"]
    assert not np.isnan(err).any()
    assert err.max() <= 1e-8
    assert np.median(err) <= 2e-14
    assert nfev.mean() <= 15
    assert central1["ok"].all()


def test_second_derivative_goals(central2):
    err, nfev = central2["err"], central2["nfev"]
    assert not np.isnan(err).any()
    assert err.max() <= 1e-6
    assert np.median(err) <= 5e-12
    assert nfev.max() <= 31
    assert central2["ok"].all()


def test_complex_step_goals():
    res = run_suite(1, "complex")
    cplx = res["complex_ok"]
    assert res["err"][cplx].max() <= 2e-15
    assert np.all(res["nfev"][cplx] <= 2)
    # gammaln rejects complex input: central differences take over, as accurate as ever.
    assert res["err"][~cplx].max() <= 1e-8
    assert res["ok"].all()


@pytest.mark.parametrize("n, method", [(1, "central"), (1, "forward"), (1, "backward"),
                                       (1, "complex"), (2, "central"), (2, "forward"),
                                       (2, "backward")])
def test_error_estimate_covers_true_error(n, method):
    res = run_suite(n, method)
    assert not np.isnan(res["err"]).any()
    assert np.all(res["est"] >= res["err"])
    # ... without being vacuous: typical estimates stay far below the value itself.
    assert np.median(res["est"]) <= {1: 1e-10, 2: 1e-8}[n]


def test_one_sided_methods_stay_accurate():
    for n, worst, median in ((1, 1e-6, 1e-12), (2, 1e-7, 1e-9)):
        for method in ("forward", "backward"):
            res = run_suite(n, method)
            assert res["err"].max() <= worst, (n, method)
            assert np.median(res["err"]) <= median, (n, method)
            assert res["nfev"].mean() <= 20, (n, method)


def test_naive_forward_difference_is_available_and_worse():
    f = lambda x: x**2
    naive = derivative(f, 3.0, method="forward", step=1e-5)
    assert naive.df == ((3.0 + 1e-5) ** 2 - 9.0) / 1e-5
    assert abs(naive.df - 6.0) == pytest.approx(1e-5, rel=1e-3)
    assert naive.error >= abs(naive.df - 6.0)
    assert naive.nfev == 3  # f(x), f(x + h), and f(x + 2h) for the error estimate
    assert abs(derivative(f, 3.0).df - 6.0) <= 1e-13


@pytest.mark.parametrize("method", ["central", "forward", "backward"])
def test_third_and_fourth_derivatives(method):
    x = np.array([-1.3, 0.4, 2.0])
    poly = lambda t: t**5 - 2 * t**3
    loose = 1 if method == "central" else 100  # one-sided stencils lose about two digits
    for n, exact, tol in ((3, 60 * x**2 - 12, 1e-9 * loose), (4, 120 * x, 1e-7 * loose)):
        res = derivative(poly, x, n=n, method=method)
        assert np.all(np.abs(res.df - exact) <= tol * np.abs(exact))
        assert np.all(np.abs(res.df - exact) <= res.error)
        res = derivative(np.exp, x, n=n, method=method)
        assert np.all(np.abs(res.df - np.exp(x)) <= tol * np.exp(x))
        assert np.all(np.abs(res.df - np.exp(x)) <= res.error)


def test_higher_accuracy_base_stencil():
    res = derivative(np.sin, 1.0, accuracy=4)
    assert abs(res.df - np.cos(1.0)) <= 1e-14
    res = derivative(np.sin, 1.0, method="forward", step=1e-3, accuracy=3)
    assert abs(res.df - np.cos(1.0)) <= 1e-9


# --------------------------------------------------------------------------- behaviour


def test_result_shapes_follow_x():
    x = np.linspace(0.5, 2.0, 6).reshape(2, 3)
    res = derivative(np.log, x)
    for field in (res.df, res.error, res.nfev, res.success, res.message):
        assert field.shape == (2, 3)
    np.testing.assert_allclose(res.df, 1 / x, rtol=1e-13)
    scalar = derivative(np.log, 2.0)
    assert isinstance(scalar.df, np.float64) and isinstance(scalar.message, str)
    assert "df=" in repr(scalar)


def test_vectorized_calls_batch_all_points():
    shapes = []

    def f(t):
        shapes.append(t.shape)
        return np.sin(t)

    x = np.linspace(0, 3, 50)
    res = derivative(f, x)
    assert len(shapes) <= 20  # one call per stencil level, for all points together
    assert sum(s[0] for s in shapes) == res.nfev.sum()


def test_scalar_code_with_vectorized_false():
    x = [0.1, 0.5, 2.0]
    res = derivative(math.log, x, vectorized=False)
    np.testing.assert_allclose(res.df, 1 / np.array(x), rtol=1e-12)
    # math.sqrt raises ValueError below 0: treated as outside the domain, the step adapts.
    res = derivative(math.sqrt, 1e-4, vectorized=False)
    assert abs(res.df - 50.0) <= 1e-9 and res.success


def test_one_sided_fallback_at_the_edge_of_the_domain():
    f = lambda x: np.where(x >= 0, np.exp(x), np.nan)
    res = derivative(f, 0.0)
    assert abs(res.df - 1.0) <= 1e-10 and res.success
    assert "forward differences" in res.message
    res = derivative(lambda x: np.exp(np.sqrt(-x) ** 2), 0.0)  # defined for x <= 0 only
    assert abs(res.df + 1.0) <= 1e-10 and "backward differences" in res.message


def test_failure_is_reported_not_hidden():
    res = derivative(np.log, [0.0, 1.0])
    assert np.isnan(res.df[0]) and not res.success[0] and "not finite" in res.message[0]
    assert res.success[1]
    # A function computed in float32: rounding error is measured in float32's eps.
    x = np.linspace(0.1, 3, 20)
    res = derivative(lambda t: np.sin(t.astype(np.float32)), x)
    assert np.all(np.abs(res.df - np.cos(x)) <= res.error)
    assert np.all(res.error <= 1e-4) and np.all(res.error >= 1e-7)


def test_aliasing_at_large_x_is_avoided():
    x = np.array([1e3, 2.02293e5, 6.8e5, 1e6])
    res = derivative(np.sin, x)
    assert np.all(np.abs(res.df - np.cos(x)) <= res.error)
    assert np.all(np.abs(res.df - np.cos(x)) <= 1e-9)


def test_complex_step_falls_back_when_the_imaginary_part_is_dropped():
    cases = [
        (np.abs, 2.0, 1.0, "real values"),
        (lambda x: np.real(x) ** 2 + 0 * x, 3.0, 6.0, "disagrees"),
        (lambda x: np.asarray(x, dtype=float) ** 2, 3.0, 6.0, "ComplexWarning"),
        (special.gammaln, 3.0, special.digamma(3.0), "TypeError"),
    ]
    for f, x, exact, why in cases:
        res = derivative(f, x, method="complex")
        assert abs(res.df - exact) <= 1e-10 and res.success
        assert "complex step unusable" in res.message and why in res.message
    res = derivative(lambda t: max(t, 0.0) ** 2, 2.0, method="complex", vectorized=False)
    assert abs(res.df - 4.0) <= 1e-10 and "TypeError" in res.message
    res = derivative(lambda t: math.exp(t), 1.0, method="complex", vectorized=False)
    assert abs(res.df - math.e) <= 1e-12
    res = derivative(np.exp, [0.0, 1.0], method="complex")  # analytic: no fallback
    assert np.all(res.nfev == 2) and np.all(res.message == "converged")


def test_no_warnings_escape_near_singularities():
    # pytest turns warnings into errors: evaluating outside the domain must stay silent.
    derivative(np.log, [1e-300, 1e-8])
    derivative(lambda x: 1 / x, 1e-6, n=2)
    derivative(np.sqrt, 0.0, method="complex")


# --------------------------------------------------------------------------- functions of arrays


def _rosen(x):
    return gnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _rosen_batched(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2, axis=0)


_RNG = np.random.default_rng(0)
_A = _RNG.standard_normal((40, 4))
_Y = np.sign(_RNG.standard_normal(40))


def _logistic(w):
    return gnp.mean(gnp.log(1 + gnp.exp(-_Y * (_A @ w))))


def _check(res, exact, rtol):
    exact = np.asarray(exact)
    assert res.df.shape == exact.shape
    scale = np.max(np.abs(exact))
    assert np.all(np.abs(res.df - exact) <= rtol * scale)
    assert np.all(np.abs(res.df - exact) <= res.error)
    assert np.all(res.success)


@pytest.mark.parametrize("f", [_rosen, _rosen_batched])
def test_rosenbrock_against_autodiff(f):
    x = np.array([-1.2, 1.0, 0.5, 2.0, 1.5])
    _check(gradient(f, x), gk.grad(_rosen)(x), 1e-12)
    _check(hessian(f, x), gk.hessian(_rosen)(x), 1e-9)
    _check(gradient(f, x, method="complex"), gk.grad(_rosen)(x), 1e-15)
    v = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    _check(directional_derivative(f, x, v), gk.grad(_rosen)(x) @ v, 1e-12)
    _check(directional_derivative(f, x, v, n=2), v @ gk.hessian(_rosen)(x) @ v, 1e-9)


def test_logistic_loss_against_autodiff():
    w = np.array([0.3, -0.2, 0.5, 1.0])
    _check(gradient(_logistic, w), gk.grad(_logistic)(w), 1e-11)
    _check(hessian(_logistic, w), gk.hessian(_logistic)(w), 1e-8)
    _check(gradient(_logistic, w, method="forward"), gk.grad(_logistic)(w), 1e-9)


def test_jacobian_against_autodiff():
    def f(x):
        return gnp.stack([gnp.sin(x[0]) * x[1], gnp.exp(x[1] - x[2]), x[0] * x[1] * x[2]])

    x = np.array([0.4, 1.3, -0.7])
    _check(jacobian(f, x), gk.jacobian(f)(x), 1e-12)
    _check(jacobian(f, x, method="complex"), gk.jacobian(f)(x), 1e-15)
    matrix = jacobian(lambda m: m @ m, np.eye(2) + 0.5)  # matrix-valued function of a matrix
    assert matrix.df.shape == (2, 2, 2, 2) and matrix.success.all()


def test_batched_functions_are_called_once_per_stencil_level():
    calls = []

    def f(x):
        calls.append(x.shape)
        return _rosen_batched(x)

    x = np.array([-1.2, 1.0, 0.5, 2.0, 1.5])
    res = gradient(f, x)
    assert len(calls) <= 15 and res.nfev == sum(int(np.prod(s[1:])) for s in calls)
    calls.clear()
    res = gradient(lambda x: calls.append(x.shape) or _rosen(x), x)  # reduces over all axes
    probes = [c for c in calls if len(c) == 2]  # so after one probe it is called per point
    assert len(probes) == 1 and res.nfev == len(calls) - 1 + probes[0][1]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, name", [
    (dict(n=0), "n"), (dict(n=5), "n"), (dict(n=1.5), "n"), (dict(n=True), "n"),
    (dict(method="spline"), "method"), (dict(method="complex", n=2), "n"),
    (dict(accuracy=3), "accuracy"), (dict(method="forward", accuracy=0), "accuracy"),
    (dict(method="complex", accuracy=2), "accuracy"), (dict(step=-1e-3), "step"),
    (dict(step=np.nan), "step"), (dict(method="complex", step=1e-3), "step"),
])
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(DerivativeArgumentError, match=rf"^{name}\b|\b{name} must"):
        derivative(np.sin, 1.0, **kwargs)


@pytest.mark.parametrize("x", [np.nan, [1.0, np.inf], "abc", 1j])
def test_non_finite_or_non_real_x(x):
    with pytest.raises(DerivativeArgumentError, match="x must"):
        derivative(np.sin, x)


def test_wrong_output_shape_names_f():
    with pytest.raises(FunctionOutputError, match="f returned shape"):
        derivative(lambda x: np.stack([x, x]), [1.0, 2.0])  # not scalar even per point
    with pytest.raises(FunctionOutputError, match="f returned shape"):
        derivative(lambda t: [t, t], 1.0, vectorized=False)
    with pytest.raises(FunctionOutputError, match="complex values"):
        derivative(lambda x: x + 1j, 1.0)
    with pytest.raises(FunctionOutputError, match="numeric.gradient: f must be scalar-valued"):
        gradient(lambda x: x**2, [1.0, 2.0])
    with pytest.raises(FunctionOutputError, match="numeric.hessian: f must be scalar-valued"):
        hessian(lambda x: x**2, [1.0, 2.0])
    with pytest.raises(FunctionOutputError, match="numeric.derivative: f must be a callable, "
                                                  "got 3.0"):
        derivative(3.0, 1.0)


def test_bad_arguments_of_functions_of_arrays():
    with pytest.raises(DerivativeArgumentError, match="method"):
        hessian(_rosen, [1.0, 2.0], method="complex")
    with pytest.raises(DerivativeArgumentError, match=r"v must be an array of the shape of x, "
                                                     r"\(2,\), got an array of shape \(1,\)"):
        directional_derivative(_rosen, [1.0, 2.0], [1.0])
    with pytest.raises(DerivativeArgumentError, match="v must be a nonzero"):
        directional_derivative(_rosen, [1.0, 2.0], [0.0, 0.0])
    with pytest.raises(DerivativeArgumentError, match="x must be finite"):
        gradient(_rosen, [1.0, np.nan])
    with pytest.raises(DerivativeArgumentError,
                       match=r"numeric.gradient: x must be non-empty .*shape \(0,\)"):
        gradient(_rosen, [])


def test_errors_are_gradkit_errors():
    assert issubclass(DerivativeArgumentError, GradkitError)
    assert issubclass(FunctionOutputError, GradkitError)
    with pytest.raises(ValueError):
        derivative(np.sin, 1.0, n=9)


# --------------------------------------------------------------------------- property


@settings(max_examples=30)
@given(a=st.floats(-3, 3), b=st.floats(-20, 20), c=st.floats(-3, 3), d=st.floats(-3, 3),
       e=st.floats(-1.5, 1.5), x=st.floats(-5, 5), n=st.sampled_from([1, 2]),
       method=st.sampled_from(["central", "forward", "backward"]))
def test_error_estimate_is_honest_on_random_smooth_functions(a, b, c, d, e, x, n, method):
    f = lambda t: a * np.sin(b * t + c) + d * np.exp(e * t)
    exact = (a * b * np.cos(b * x + c) + d * e * np.exp(e * x) if n == 1 else
             -a * b * b * np.sin(b * x + c) + d * e * e * np.exp(e * x))
    res = derivative(f, x, n=n, method=method)
    assert abs(res.df - exact) <= res.error
    assert res.error <= (1e-6 if method == "central" else 1e-4) * max(1.0, abs(b) ** n, abs(d))


# --------------------------------------------------------------------------- issue 8


def test_complex_step_near_a_branch_point():
    # The check's real secant used to span more than x itself, so sqrt failed it.
    res = derivative(np.sqrt, 1e-8, method="complex")
    assert res.df == pytest.approx(0.5 / np.sqrt(1e-8), rel=4 * np.finfo(float).eps)
    assert res.success and res.message == "converged" and res.nfev <= 5
    x = np.array([1e-18, 1e-14, 1e-10, 1e-8, 1e-4])
    res = derivative(np.sqrt, x, method="complex")
    np.testing.assert_allclose(res.df, 0.5 / np.sqrt(x), rtol=1e-14)
    assert np.all(res.message == "converged") and np.all(np.abs(res.df - 0.5 / np.sqrt(x))
                                                          <= res.error)
    exact = np.diag(0.5 / np.sqrt(x))
    for r in (gradient(lambda t: np.sum(np.sqrt(t), axis=0), x, method="complex"),
              jacobian(np.sqrt, x, method="complex")):
        np.testing.assert_allclose(r.df, np.diag(exact) if r.df.ndim == 1 else exact,
                                   rtol=1e-14)
        assert np.all(r.success)
    x = np.array([1e-10, 1e-8])  # one direction for both: h follows the larger
    r = directional_derivative(np.sqrt, x, np.ones(2), method="complex")
    np.testing.assert_allclose(r.df, 0.5 / np.sqrt(x), rtol=1e-14)
    assert np.all(r.message == "converged")


def test_complex_step_retries_still_catch_a_dropped_imaginary_part():
    # f(x + ih) = 1 - x + ih: its imaginary part claims f' = +1, the true slope is -1.
    for x in (1e-12, 1.0):
        res = derivative(lambda z: 1 - z + 2j * np.imag(z), x, method="complex")
        assert abs(res.df + 1.0) <= 1e-10 and "complex step unusable" in res.message
    # Where the complex step is not exact (x far below its step), it is not used.
    res = derivative(np.sqrt, 1e-300, method="complex")
    assert "complex step unusable" in res.message and not res.success
    assert not np.isnan(res.df)  # one-sided differences ran, and say they are poor


def test_scalar_only_functions_fall_back_to_one_call_per_point():
    x = np.array([0.5, 1.0, 2.0])
    res = derivative(math.sin, 1.0)
    assert abs(res.df - math.cos(1.0)) <= 1e-12 and res.success
    res = derivative(math.sin, x)
    np.testing.assert_allclose(res.df, np.cos(x), rtol=1e-12)
    res = derivative(math.exp, x, n=2)
    np.testing.assert_allclose(res.df, np.exp(x), rtol=1e-8)
    # No complex input for math.sin: central differences, and the message says why.
    res = derivative(math.sin, x, method="complex")
    np.testing.assert_allclose(res.df, np.cos(x), rtol=1e-12)
    assert all("complex step unusable (f raised TypeError" in m for m in res.message)
    # cmath.sin takes complex scalars but no arrays: the complex step works point by point.
    import cmath

    res = derivative(cmath.sin, x, method="complex")
    np.testing.assert_array_equal(res.df, np.cos(x))
    assert np.all(res.nfev == 2) and np.all(res.message == "converged")
    # Scalar code with a branch, and a function that reduces: per point they are fine.
    res = derivative(lambda t: t * t if t > 0 else -t, [-1.0, 2.0])
    np.testing.assert_allclose(res.df, [-1.0, 4.0], rtol=1e-12)
    res = derivative(np.sum, x)
    np.testing.assert_allclose(res.df, 1.0, rtol=1e-12)
    # The functions of arrays already fell back; they still do.
    res = gradient(lambda p: math.sin(p[0]) * math.cos(p[1]), [1.0, 2.0])
    np.testing.assert_allclose(res.df, [math.cos(1) * math.cos(2), -math.sin(1) * math.sin(2)],
                               rtol=1e-12)
    res = gradient(lambda p: math.sin(p[0]) * math.cos(p[1]), [1.0, 2.0], method="complex")
    assert res.success.all() and "complex step unusable" in res.message[0]


def test_a_failing_function_is_not_taken_for_scalar_code():
    def broken(t):
        raise ValueError("broken on purpose")

    with pytest.raises(ValueError, match="broken on purpose"):
        derivative(broken, [1.0, 2.0])
    with pytest.raises(NameError) as info:
        derivative(lambda t: undefined_name * t, [1.0, 2.0])  # noqa: F821
    assert "then with one float at a time" in " ".join(info.value.__notes__)


@pytest.mark.parametrize("value, kind", [(None, "NoneType"), ("1.0", "str"), (b"1", "bytes"),
                                         (np.array(["a"]), "ndarray of dtype <U1")])
def test_non_numeric_output_names_f_and_the_type(value, kind):
    def f(t):
        return value

    message = rf"^f returned {kind}; it must return a number or array.*f is .*\bf\b"
    calls = [lambda: derivative(f, 1.0), lambda: derivative(f, [1.0, 2.0], vectorized=False),
             lambda: derivative(f, 1.0, method="complex"), lambda: gradient(f, [1.0, 2.0]),
             lambda: jacobian(f, [1.0, 2.0]), lambda: hessian(f, [1.0, 2.0]),
             lambda: directional_derivative(f, [1.0, 2.0], [1.0, 0.0])]
    for call in calls:
        with pytest.raises(FunctionOutputError, match=message):
            call()
    with pytest.raises(FunctionOutputError, match="f returned ndarray of dtype object"):
        jacobian(lambda p: [p[0], None], [1.0, 2.0])
