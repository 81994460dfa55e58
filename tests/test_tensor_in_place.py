"""The PyTorch idioms of a training loop written by hand: in-place updates of parameters,
``.grad`` assignment and ``backward(inputs=...)``; each is right or refused clearly, never a
silent no-op (found by differential tests against PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit as gk
import gradkit.numpy as gnp
from gradkit import nn
from gradkit.errors import GradkitError


def test_a_hand_written_sgd_step_updates_the_parameters_in_place():
    model = nn.Linear(3, 2, rng=0)
    nn.mse(model(np.ones((4, 3))), np.zeros((4, 2))).backward()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    grads = {k: p.grad.numpy().copy() for k, p in zip(before, model.parameters())}
    with gk.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for (k, p) in zip(before, model.parameters()):
        np.testing.assert_allclose(p.numpy(), before[k] - 0.1 * grads[k])
        assert p.is_leaf and p.requires_grad
    w = gk.tensor(np.ones(2, np.float32), requires_grad=True)
    with gk.no_grad():
        w *= 2.5
        w /= 2.0
        w += np.float64(1.0)
    assert w.dtype == np.float32 and w.numpy().tolist() == [2.25, 2.25]


def test_in_place_on_a_recorded_leaf_is_refused_and_elsewhere_rebinds():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradkitError, match=r"Tensor \+=: a leaf tensor that requires grad"):
        x += 1
    y = x * 2
    y += 1                                   # an intermediate: a new tensor, recorded
    y.sum().backward()
    assert x.grad.numpy().tolist() == [2.0, 2.0]
    t = gk.tensor([1.0, 2.0])
    before = t
    t += 1
    assert before.numpy().tolist() == [1.0, 2.0] and t.numpy().tolist() == [2.0, 3.0]
    g = gk.grad(lambda v: gnp.sum(_accumulate(v)))(np.ones(2))
    assert g.tolist() == [3.0, 3.0]          # += inside a transform records as +


def _accumulate(v):
    total = v
    total += v
    total += v
    return total


def test_grad_assignment_must_match_the_tensor():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradkitError, match=r"float64\[3, 2\] to a tensor of float64\[2\]"):
        x.grad = np.ones((3, 2))
    x32 = gk.tensor(np.ones(2, np.float32), requires_grad=True)
    with pytest.raises(GradkitError, match="must match"):
        x32.grad = np.ones(2)
    x.grad = np.ones(2)
    (x * x).sum().backward()
    assert x.grad.numpy().tolist() == [3.0, 5.0]


def test_backward_inputs_must_be_recorded_leaves():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    z = x * 2
    with pytest.raises(GradkitError, match="inputs= takes leaf tensors"):
        (z * z).sum().backward(inputs=[z])
    with pytest.raises(GradkitError, match="inputs= is empty"):
        (x * x).sum().backward(inputs=[])
    (x * x).sum().backward(inputs=x)
    assert x.grad.numpy().tolist() == [2.0, 4.0]


def test_gradients_of_opposite_infinities_accumulate_without_a_warning():
    x = gk.tensor([1.0], requires_grad=True)
    (x * np.inf).sum().backward()
    (x * -np.inf).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_power_derivatives_where_the_base_is_not_positive():
    """In the exponent: NaN for a negative base (not real), 0 at a zero base; in the base:
    0 for a zero exponent, however it is given."""
    assert np.isnan(gk.grad(lambda y: (-3.0) ** y)(2.0))
    assert np.isnan(gk.grad(lambda y: gnp.sum(gnp.power(np.array([-3.0]), y)))(2.0))
    assert gk.grad(lambda y: gnp.sum(gnp.power(np.array([0.0]), y)))(2.0) == 0.0
    x = np.array([0.0, 1.0, 2.0])
    for zero in (0, np.array(0.0), gk.tensor(0.0), np.zeros(3)):
        assert gk.grad(lambda x, z=zero: gnp.sum(x ** z))(x).tolist() == [0.0, 0.0, 0.0]
    gk.check_grads(lambda x, y: x ** y, (np.array([0.5, 2.0]), np.array([1.5, -0.3])),
                   order=2)


def test_numpy_in_place_with_a_constant_tensor_is_numpys():
    """``x.data -= lr * x.grad``: ``.grad`` is a constant Tensor, NumPy's in-place
    arithmetic takes its value (it used to be refused as if it were traced)."""
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.data -= 0.1 * x.grad
    np.testing.assert_allclose(x.numpy(), [0.8, 1.6])
    a = np.ones(2)
    np.add(a, gk.tensor([1.0, 2.0]), out=a)
    assert a.tolist() == [2.0, 3.0]
    with pytest.raises(GradkitError, match="out= are not supported"):
        np.add(a, x, out=a)                  # x is recorded: its gradient would be lost


def test_a_layer_with_no_inputs_initialises_as_pytorch():
    layer = nn.Linear(0, 2, rng=0)
    assert layer.weight.shape == (2, 0)
    assert layer(np.ones((3, 0))).numpy().tolist() == [[0.0, 0.0]] * 3
