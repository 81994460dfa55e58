"""The shared argument checks of gradkit.validation and their one message convention."""

import re

import numpy as np
import pytest

import gradkit as gk
from gradkit.errors import GradkitError
from gradkit.graph import raw
from gradkit.numeric import DerivativeArgumentError
from gradkit.tree import tree_unflatten
from gradkit.validation import (
    check_axis,
    check_callable,
    check_choice,
    check_finite_array,
    check_int,
    check_pair,
    check_real,
    describe,
    float_leaves,
    invalid,
    is_integer,
    real_value,
)


def raises_exactly(message: str, error=GradkitError):
    """The whole message, character for character."""
    return pytest.raises(error, match="^" + re.escape(message) + "$")


# -- the message format ------------------------------------------------------------------------


def test_invalid_builds_the_one_format():
    err = invalid("signal.diff", "window", "odd", 10)
    assert type(err) is GradkitError
    assert str(err) == "signal.diff: window must be odd, got 10"
    err = invalid("numeric.derivative", "v", "a nonzero direction", got="all zeros",
                  error=DerivativeArgumentError)
    assert type(err) is DerivativeArgumentError
    assert str(err) == "numeric.derivative: v must be a nonzero direction, got all zeros"


def test_describe_quotes_scalars_and_summarises_arrays():
    assert describe(0.5) == "0.5"
    assert describe("fast") == "'fast'"
    assert describe(None) == "None"
    assert describe(np.zeros((2, 3), np.float32)) == "an array of shape (2, 3) and dtype float32"
    assert describe(gk.tensor([1.0, 2.0])) == "an array of shape (2,) and dtype float64"
    long = describe(list(range(100)))
    assert len(long) == 80 and long.startswith("[0, 1, 2") and long.endswith("...")


def test_real_value_and_is_integer():
    assert real_value(0.25) == 0.25 and type(real_value(3)) is float
    assert real_value(np.float32(0.5)) == 0.5 and real_value(np.int64(-2)) == -2.0
    assert real_value(np.array(1.5)) == 1.5
    for bad in (True, np.bool_(False), "1.0", [1.0], np.array([1.0]), None, 1j):
        assert real_value(bad) is None, bad
    assert real_value(10**400) == float("inf")
    assert is_integer(3) and is_integer(np.int8(3)) and is_integer(np.uint64(3))
    for bad in (True, np.bool_(True), 3.0, "3", np.array(3), None):
        assert not is_integer(bad), bad


# -- numbers -----------------------------------------------------------------------------------


def test_check_real_accepts_numbers_inside_the_interval():
    assert check_real(0.0, "lr", "Adam", low=0.0) == 0.0
    assert check_real(np.float32(0.5), "momentum", "SGD", low=0.0, high=1.0, high_open=True) == 0.5
    assert check_real(np.int64(2), "power", "inverse_time", low=0.0) == 2.0
    assert type(check_real(1, "x", "f")) is float
    assert check_real(-3.5, "x", "f") == -3.5                       # no bounds: any finite
    assert check_real(1.0, "gamma", "step_decay", low=0.0, high=1.0) == 1.0  # closed at 1


@pytest.mark.parametrize("value, bounds, message", [
    (-0.1, dict(low=0.0), "SGD: lr must be a number in [0, inf), got -0.1"),
    (0.0, dict(low=0.0, low_open=True), "SGD: lr must be a number in (0, inf), got 0.0"),
    (1.0, dict(low=0.0, high=1.0, high_open=True), "SGD: lr must be a number in [0, 1), got 1.0"),
    (2, dict(high=1.5), "SGD: lr must be a number in (-inf, 1.5], got 2"),
    (float("nan"), {}, "SGD: lr must be a finite number, got nan"),
    (float("inf"), dict(low=0.0), "SGD: lr must be a number in [0, inf), got inf"),
    (True, dict(low=0.0), "SGD: lr must be a number in [0, inf), got True"),
    ("0.1", dict(low=0.0), "SGD: lr must be a number in [0, inf), got '0.1'"),
    ([0.1], {}, "SGD: lr must be a finite number, got [0.1]"),
])
def test_check_real_refuses_with_the_convention(value, bounds, message):
    with raises_exactly(message):
        check_real(value, "lr", "SGD", **bounds)


def test_check_int_accepts_python_and_numpy_integers():
    assert check_int(3, "n", "signal.diff", low=1) == 3
    out = check_int(np.int32(2), "n", "signal.diff", low=0, high=2)
    assert out == 2 and type(out) is int
    assert check_int(-7, "k", "f") == -7


@pytest.mark.parametrize("value, bounds, message", [
    (0, dict(low=1), "signal.diff: n must be a positive integer, got 0"),
    (-1, dict(low=0), "signal.diff: n must be a non-negative integer, got -1"),
    (2, dict(low=3), "signal.diff: n must be an integer >= 3, got 2"),
    (5, dict(high=4), "signal.diff: n must be an integer <= 4, got 5"),
    (5, dict(low=1, high=4), "signal.diff: n must be an integer from 1 to 4, got 5"),
    (1.5, {}, "signal.diff: n must be an integer, got 1.5"),
    (2.0, dict(low=1), "signal.diff: n must be a positive integer, got 2.0"),
    (True, dict(low=1), "signal.diff: n must be a positive integer, got True"),
    (np.bool_(True), dict(low=0), "signal.diff: n must be a non-negative integer, got "
                                  "np.True_"),
    ("3", dict(low=1), "signal.diff: n must be a positive integer, got '3'"),
])
def test_check_int_refuses_with_the_convention(value, bounds, message):
    with raises_exactly(message):
        check_int(value, "n", "signal.diff", **bounds)


# -- axes, choices, pairs, callables -----------------------------------------------------------


def test_check_axis():
    assert check_axis(0, "axis", "signal.diff", 2) == 0
    assert check_axis(-1, "axis", "signal.diff", 3) == 2
    assert check_axis(np.int64(-2), "axis", "signal.diff", 2) == 0
    with raises_exactly("signal.diff: axis must be an integer from -2 to 1 (the array has 2 "
                        "dimensions), got 2"):
        check_axis(2, "axis", "signal.diff", 2)
    with raises_exactly("signal.diff: axis must be an integer from -1 to 0 (the array has 1 "
                        "dimension), got -2"):
        check_axis(-2, "axis", "signal.diff", 1)
    with raises_exactly("signal.sobel: axis must be an integer from -2 to 1 (the array has 2 "
                        "dimensions), got True"):
        check_axis(True, "axis", "signal.sobel", 2)
    with raises_exactly("f: axis must be an axis of the array, which has none (it is 0-d), "
                        "got 0"):
        check_axis(0, "axis", "f", 0)


def test_check_choice():
    assert check_choice("wrap", "mode", "signal.sobel", ("reflect", "wrap")) == "wrap"
    for bad, shown in (("mirror2", "'mirror2'"), (None, "None"), (["wrap"], "['wrap']")):
        with raises_exactly(f"signal.sobel: mode must be one of 'reflect', 'wrap', got {shown}"):
            check_choice(bad, "mode", "signal.sobel", ("reflect", "wrap"))
    with raises_exactly("numeric.hessian: method must be one of 'central', got 'complex'",
                        DerivativeArgumentError):
        check_choice("complex", "method", "numeric.hessian", ("central",),
                     error=DerivativeArgumentError)


def test_check_pair():
    assert check_pair(3, "kernel_size", "nn.Conv2d") == (3, 3)
    assert check_pair((1, 2), "stride", "nn.Conv2d") == (1, 2)
    out = check_pair([np.int64(2), np.int32(1)], "stride", "nn.Conv2d")
    assert out == (2, 1) and all(type(v) is int for v in out)
    assert check_pair(0, "padding", "nn.Conv2d", low=0) == (0, 0)
    for bad, shown in ((0, "0"), ((1, 0), "(1, 0)"), ((1, 2, 3), "(1, 2, 3)"), (2.0, "2.0"),
                       ((2.5, 2), "(2.5, 2)"), (True, "True"), ((True, 1), "(True, 1)"),
                       ("22", "'22'"), (None, "None")):
        with raises_exactly(f"nn.Conv2d: stride must be an integer or a pair of integers, each "
                            f">= 1, got {shown}"):
            check_pair(bad, "stride", "nn.Conv2d")
    with raises_exactly("nn.functional.max_pool2d: padding must be an integer or a pair of "
                        "integers, each >= 0, got -1"):
        check_pair(-1, "padding", "nn.functional.max_pool2d", low=0)


def test_check_callable():
    def fn(p):
        return p

    assert check_callable(fn, "project", "SGD") is fn
    with raises_exactly("SGD: project must be a callable, got 'simplex'"):
        check_callable("simplex", "project", "SGD")
    with raises_exactly("LBFGS.update: value_and_grad must be a callable params -> (value, "
                        "grads), got None"):
        check_callable(None, "value_and_grad", "LBFGS.update",
                       what="a callable params -> (value, grads)")


# -- arrays and pytrees ------------------------------------------------------------------------


def test_check_finite_array_accepts_and_converts():
    a = np.array([1.0, 2.0], np.float32)
    assert check_finite_array(a, "y", "signal.diff") is a          # no copy, dtype kept
    out = check_finite_array([1, 2, 3], "x", "numeric.derivative")
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0, 3.0]
    assert check_finite_array(np.array([True, False]), "x", "f").dtype == np.float64
    assert check_finite_array(np.float32(2.0), "x", "f").shape == ()
    t = gk.tensor([1.0, 2.0])
    assert check_finite_array(t, "y", "signal.diff") is raw(t)
    assert check_finite_array(np.array([0.0, 1.0]), "alpha", "f", low=0.0).tolist() == [0, 1]


def test_check_finite_array_refuses_with_the_convention():
    with raises_exactly("signal.diff: y must be finite, got nan at index 3 (2 of 10 values)"):
        check_finite_array(np.where(np.arange(10) % 4 == 3, np.nan, 1.0), "y", "signal.diff")
    with raises_exactly("signal.sobel: input must be finite, got inf at index (1, 0) (1 of 4 "
                        "values)"):
        check_finite_array(np.array([[1.0, 2.0], [np.inf, 0.0]]), "input", "signal.sobel")
    with raises_exactly("numeric.derivative: x must be finite, got nan",
                        DerivativeArgumentError):
        check_finite_array(np.nan, "x", "numeric.derivative", error=DerivativeArgumentError)
    with raises_exactly("numeric.derivative: x must be an array of real numbers, got 'abc'"):
        check_finite_array("abc", "x", "numeric.derivative")
    with raises_exactly("numeric.derivative: x must be an array of real numbers, got 1j"):
        check_finite_array(1j, "x", "numeric.derivative")
    with raises_exactly("f: x must be an array of real numbers, got [[1.0], [1.0, 2.0]]"):
        check_finite_array([[1.0], [1.0, 2.0]], "x", "f")
    with raises_exactly("signal.diff: y must be an array of at least 1 dimension(s), got 2.0"):
        check_finite_array(2.0, "y", "signal.diff", min_ndim=1)
    with raises_exactly("numeric.derivative: step must be finite and > 0, got -0.001"):
        check_finite_array(-1e-3, "step", "numeric.derivative", low=0.0, low_open=True)
    with raises_exactly("signal.tv_derivative: alpha must be finite and >= 0, got -1.0 at "
                        "index 1 (1 of 2 values)"):
        check_finite_array([0.0, -1.0], "alpha", "signal.tv_derivative", low=0.0)


def test_float_leaves():
    params = {"w": np.ones((2, 2), np.float32), "b": [np.zeros(3)]}
    leaves, treedef = float_leaves(params, "params", "Adam.update")
    assert leaves[0] is params["w"] and leaves[1] is params["b"][0]
    rebuilt = tree_unflatten(treedef, [np.full((2, 2), 2.0), np.full(3, 3.0)])
    assert rebuilt["w"].tolist() == [[2.0, 2.0], [2.0, 2.0]] and rebuilt["b"][0].shape == (3,)
    leaves, _ = float_leaves([np.array([1, 2]), np.array([True])], "x", "project_box",
                             convert=True)
    assert [a.dtype for a in leaves] == [np.float64, np.float64]
    assert leaves[0].tolist() == [1.0, 2.0] and leaves[1].tolist() == [1.0]
    with raises_exactly("Adam.init: params leaf 1 must be a floating-point array, got an array "
                        "of shape (2,) and dtype int64 (write 1.0, not 1, or use .astype(float))"):
        float_leaves([np.zeros(2), np.array([1, 2])], "params", "Adam.init")
    with raises_exactly("LBFGS.minimize: x0 leaf 0 must be a floating-point array, got an array "
                        "of shape (1,) and dtype complex128"):
        float_leaves([np.array([1j])], "x0", "LBFGS.minimize")
    with raises_exactly("global_norm: tree leaf 0 must be a real array, got an array of shape "
                        "(2,) and dtype <U1"):
        float_leaves([np.array(["a", "b"])], "tree", "global_norm", convert=True)


# -- the packages speak the convention ---------------------------------------------------------


def test_public_calls_name_the_call_the_argument_and_the_value():
    from gradkit import nn, optim, signal
    from gradkit.numeric import derivative

    with raises_exactly("Adam: eps must be a number in (0, inf), got 0.0"):
        optim.Adam(eps=0.0)
    with raises_exactly("LBFGS: m must be a positive integer, got True"):
        optim.LBFGS(m=True)
    with raises_exactly("signal.diff: n must be a positive integer, got 0"):
        signal.diff(np.arange(5.0), n=0)
    with raises_exactly("numeric.derivative: method must be one of 'central', 'forward', "
                        "'backward', 'complex', got 'spline'", DerivativeArgumentError):
        derivative(np.sin, 1.0, method="spline")
    with raises_exactly("nn.Conv2d: kernel_size must be an integer or a pair of integers, each "
                        ">= 1, got (3, 0)"):
        nn.Conv2d(1, 1, (3, 0))
    with raises_exactly("nn.Linear: rng must be a numpy.random.Generator, an integer seed or "
                        "None, got 'seed'"):
        nn.Linear(2, 2, rng="seed")
