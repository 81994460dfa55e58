"""Bad input, NaN debugging and numerical stability at extremes."""

import warnings

import numpy as onp
import pytest

import gradkit as gk
import gradkit.numpy as np


def test_error_class_is_value_and_type_error():
    assert issubclass(gk.GradkitError, ValueError)
    assert issubclass(gk.GradkitError, TypeError)


def test_non_scalar_output_names_shape():
    with pytest.raises(gk.NonScalarOutputError, match=r"scalar output, got shape \(3,\)"):
        gk.grad(lambda x: x * 2.0)(onp.ones(3))


@pytest.mark.parametrize("bad", [3, onp.arange(3), onp.array([True, False])])
def test_integer_input_is_rejected(bad):
    with pytest.raises(gk.InputTypeError, match="dtype"):
        gk.grad(lambda x: np.sum(x * 1.0))(bad)


def test_object_and_string_input_is_rejected():
    with pytest.raises(gk.InputTypeError, match="non-numeric"):
        gk.grad(lambda x: x)("abc")
    with pytest.raises(gk.InputTypeError, match="is a set, not a numeric array"):
        gk.grad(lambda x: x)({1, 2})


def test_integer_arrays_flow_as_constants():
    idx = onp.array([2, 0])
    g = gk.grad(lambda x: np.sum(x[idx] * onp.arange(2)))(onp.ones(3))
    assert g.tolist() == [1.0, 0.0, 0.0]


def test_non_array_output_is_rejected():
    with pytest.raises(gk.OutputTypeError, match="returned str"):
        gk.grad(lambda x: "loss")(1.0)
    with pytest.raises(gk.OutputTypeError, match="returned None"):
        gk.grad(lambda x: None)(1.0)


def test_shape_mismatch_in_op_names_op_and_shapes():
    with pytest.raises(gk.OpError, match=r"add\(float64\[3\], float64\[4\]\)"):
        gk.grad(lambda x: np.sum(x + onp.ones(4)))(onp.ones(3))
    with pytest.raises(gk.OpError, match=r"matmul\(float64\[2, 3\], float64\[2, 3\]\)"):
        gk.grad(lambda x: np.sum(x @ x))(onp.ones((2, 3)))


def test_cotangent_and_tangent_shape_mismatch():
    _, pull = gk.vjp(lambda x: x * 2.0, onp.ones(3))
    with pytest.raises(gk.ShapeMismatchError, match=r"cotangent has shape \(2,\), the output "
                                                    r"has shape \(3,\)"):
        pull(onp.ones(2))
    with pytest.raises(gk.ShapeMismatchError, match=r"tangent 0 has shape \(2,\)"):
        gk.jvp(lambda x: x, (onp.ones(3),), (onp.ones(2),))


def test_bad_argnums():
    with pytest.raises(gk.GradkitError, match="argnums=2"):
        gk.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)


def test_has_aux_needs_pair():
    with pytest.raises(gk.OutputTypeError, match="pair"):
        gk.grad(lambda x: x, has_aux=True)(1.0)


def test_singular_matrix_names_operation():
    with pytest.raises(gk.OpError, match="linalg.inv"):
        gk.grad(lambda a: np.sum(np.linalg.inv(a)))(onp.ones((2, 2)))


def test_nan_propagates_silently_by_default():
    with onp.errstate(invalid="ignore"):
        g = gk.grad(lambda x: np.sum(np.sqrt(x)))(onp.array([-1.0, 4.0]))
    assert onp.isnan(g[0]) and g[1] == 0.25


def test_debug_nans_names_forward_operation():
    with gk.debug_nans(), pytest.raises(gk.NaNError, match=r"^log produced NaN"):
        gk.grad(lambda x: np.sum(np.log(x) * 2.0))(onp.array([1.0, -1.0]))


def test_debug_nans_names_backward_rule():
    # sqrt(x)**2 at 0 is fine forward (0); backward divides 0 by 0.
    with gk.debug_nans(), pytest.raises(gk.NaNError, match="derivative rule of sqrt"):
        gk.grad(lambda x: np.sum(np.sqrt(x) * 0.0))(onp.array([0.0, 1.0]))
    assert gk.grad(lambda x: x * 2.0)(1.0) == 2.0  # mode is off again


def _no_warnings(f, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return f(*args)


def test_stable_at_extremes():
    assert _no_warnings(np.sigmoid, -1000.0) == 0.0
    assert _no_warnings(np.sigmoid, 1000.0) == 1.0
    assert _no_warnings(gk.grad(np.sigmoid), -1000.0) == 0.0
    assert _no_warnings(np.softplus, 1000.0) == 1000.0
    assert _no_warnings(np.softplus, -1000.0) == 0.0
    assert _no_warnings(gk.grad(np.softplus), 1000.0) == 1.0
    assert _no_warnings(gk.grad(np.softplus), -1000.0) == 0.0
    big = onp.array([1e308, 1e308])
    assert _no_warnings(np.logsumexp, big) == 1e308
    assert onp.array_equal(_no_warnings(gk.grad(np.logsumexp), big), [0.5, 0.5])
    assert onp.array_equal(_no_warnings(np.softmax, onp.array([1000.0, -1000.0])), [1.0, 0.0])
    logp = _no_warnings(np.log_softmax, onp.array([1000.0, 0.0]))
    assert onp.array_equal(logp, [0.0, -1000.0])
    assert _no_warnings(np.logsumexp, onp.array([-onp.inf, -onp.inf])) == -onp.inf
    assert _no_warnings(np.logsumexp, onp.array([onp.inf, 0.0])) == onp.inf


def test_check_grads_reports_expected_and_computed():
    bad = gk.custom_vjp(lambda x: x**2)
    bad.defvjp(lambda x: (x**2, x), lambda x, g: (g * 3.0 * x,))  # wrong: 3x, not 2x
    with pytest.raises(gk.GradientCheckError, match=r"expected .* computed"):
        gk.check_grads(bad, (onp.array([1.0, 2.0]),), order=1, modes=("rev",))


def test_defprimitive_checks_its_arguments():
    with pytest.raises(gk.GradkitError, match="name"):
        gk.defprimitive(onp.sin, lambda g, ans, x: g)
    with pytest.raises(gk.GradkitError, match="callable"):
        gk.defprimitive(onp.sin, "mysin", "not a rule")
    mysin = gk.defprimitive(onp.sin, "mysin", lambda g, ans, x: g * np.cos(x))
    assert gk.grad(mysin)(0.0) == 1.0
    assert gk.grad(gk.grad(mysin))(0.0) == 0.0
