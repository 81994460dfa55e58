"""The PyTorch-style Tensor API."""

import numpy as onp
import pytest

import gradkit as gk
import gradkit.numpy as np


def test_backward_accumulates_like_pytorch():
    x = gk.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x**2).sum().backward()
    assert onp.array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    (x * 3.0).sum().backward()
    assert onp.array_equal(x.grad.numpy(), [5.0, 7.0, 9.0])
    x.grad = None
    (x * x * x).sum().backward()
    assert onp.array_equal(x.grad.numpy(), [3.0, 12.0, 27.0])


def test_mlp_layer_gradients_match_closed_form(rng):
    w = gk.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = gk.tensor(onp.zeros(2), requires_grad=True)
    x = rng.standard_normal((4, 3))
    loss = np.mean(np.tanh(x @ w + b) ** 2)
    loss.backward()
    h = onp.tanh(x @ w.numpy())
    dh = 2 * h * (1 - h**2) / h.size
    assert onp.allclose(w.grad.numpy(), x.T @ dh, rtol=1e-14)
    assert onp.allclose(b.grad.numpy(), dh.sum(0), rtol=1e-14)
    assert loss.item() == pytest.approx(onp.mean(h**2))


def test_methods_and_operators(rng):
    a = gk.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = (a.T @ a).reshape(-1).sum() + a.mean() - a.max() + (2.0 - a).abs().sum() / a.shape[0]
    y.backward()
    av = a.numpy()
    expected = gk.grad(lambda v: np.sum((v.T @ v).reshape(-1)) + np.mean(v) - np.max(v)
                       + np.sum(np.abs(2.0 - v)) / 2)(av)
    assert onp.allclose(a.grad.numpy(), expected, rtol=1e-14)
    assert a.requires_grad and a.is_leaf and not y.is_leaf
    assert a.dtype == onp.float64 and a.ndim == 2 and a.size == 6 and len(a) == 2


def test_numpy_functions_accept_tensors(rng):
    a = gk.tensor(rng.standard_normal(4), requires_grad=True)
    # Plain NumPy calls dispatch to gradkit instead of dropping the graph.
    y = onp.sum(onp.sin(a) * onp.ones(4))
    assert isinstance(y, gk.Tensor)
    y.backward()
    assert onp.allclose(a.grad.numpy(), onp.cos(a.numpy()))


def test_detach_and_no_grad():
    w = gk.tensor(2.0, requires_grad=True)
    with gk.no_grad():
        y = w * 3.0
        with gk.enable_grad():
            z = w * 4.0
    assert not y.requires_grad and z.requires_grad
    d = w.detach()
    assert not d.requires_grad and d.item() == 2.0
    (w * d).backward()
    assert w.grad.item() == 2.0


def test_functional_transforms_inside_no_grad():
    with gk.no_grad():
        assert gk.grad(lambda x: x**3)(2.0) == 12.0


def test_constant_tensors_flow_through_ops():
    c = gk.tensor([1.0, 2.0])
    out = np.exp(c) + 1.0
    assert isinstance(out, gk.Tensor) and not out.requires_grad
    assert onp.allclose(out.numpy(), onp.exp([1.0, 2.0]) + 1.0)


def test_backward_errors():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(gk.GradkitError, match="one element"):
        (x * 2.0).backward()
    (x * 2.0).backward(onp.array([1.0, 0.5]))
    assert onp.array_equal(x.grad.numpy(), [2.0, 1.0])
    with pytest.raises(gk.GradkitError, match="does not require grad"):
        gk.tensor(1.0).backward()
    with pytest.raises(gk.GradkitError, match="floating-point"):
        gk.tensor([1, 2], requires_grad=True)
    with pytest.raises(gk.GradkitError, match="item assignment"):
        x[0] = 3.0


def test_float32_tensor_grad_stays_float32():
    x = gk.tensor(onp.ones(3, dtype=onp.float32), requires_grad=True)
    (np.sigmoid(x) * 2.5).sum().backward()
    assert x.grad.dtype == onp.float32


def test_repr():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "Tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=multiply" in repr(x * 2.0)


def test_iteration_and_unpacking_keep_the_graph():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    a, b = x
    (a * b).backward()
    assert onp.array_equal(x.grad.numpy(), [2.0, 1.0])
    assert gk.grad(lambda v: sum(e**2 for e in v))(onp.array([1.0, 3.0])).tolist() == [2.0, 6.0]


def test_data_assignment_updates_a_leaf_in_place():
    w = gk.tensor(onp.ones(2, dtype=onp.float32), requires_grad=True)
    (w * 2.0).sum().backward()
    w.data = w.data - 0.5 * w.grad.numpy()
    assert w.data.dtype == onp.float32 and w.data.tolist() == [0.0, 0.0]
    try:
        w.data = onp.ones(3)
    except gk.GradkitError as e:
        assert "shape (3,)" in str(e)
    else:
        raise AssertionError("expected a shape error")


def test_requires_grad_in_place_and_refusals():
    t = gk.tensor([1.0, 2.0])
    assert t.requires_grad_() is t and t.requires_grad
    (t * t).sum().backward()
    onp.testing.assert_array_equal(t.grad.numpy(), [2.0, 4.0])
    assert not t.requires_grad_(False).requires_grad
    with pytest.raises(gk.GradkitError, match="only floating-point"):
        gk.tensor([1, 2]).requires_grad_()
    w = gk.tensor([1.0], requires_grad=True)
    with pytest.raises(gk.GradkitError, match="only leaf tensors"):
        (w * 2).requires_grad_(False)


def test_copy_clone_any_all_tolist():
    w = gk.tensor([1.0, -2.0], requires_grad=True)
    c = w.copy()
    assert c is not w and c.requires_grad and not c.is_leaf
    (c * c.clone()).sum().backward()
    onp.testing.assert_array_equal(w.grad.numpy(), [2.0, -4.0])
    assert bool((w > 0).any()) and not bool((w > 0).all())
    assert w.tolist() == [1.0, -2.0] and isinstance(w.tolist()[0], float)


def test_backward_retain_graph_inputs_and_create_graph():
    a = gk.tensor(2.0, requires_grad=True)
    b = gk.tensor(3.0, requires_grad=True)
    y = a * b
    y.backward(retain_graph=True)
    y.backward(retain_graph=False)    # gradkit keeps every graph: a second call accumulates
    assert a.grad.item() == 6.0 and b.grad.item() == 4.0
    a.zero_grad()
    b.zero_grad()
    y.backward(inputs=[a])
    assert a.grad.item() == 3.0 and b.grad is None
    with pytest.raises(gk.GradkitError, match="create_graph=True is not supported"):
        y.backward(create_graph=True)


def test_register_hook_on_leaves_and_intermediates():
    w = gk.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = w * 3
    h.register_hook(lambda g: seen.append(g.tolist()))             # observe
    handle = w.register_hook(lambda g: g * 10)                     # replace
    (h * h).sum().backward()
    assert seen == [[6.0, 12.0]]                                   # d/dh of sum(h^2) = 2h
    onp.testing.assert_array_equal(w.grad.numpy(), [180.0, 360.0])  # 2h * 3 * 10
    handle.remove()
    w.zero_grad()
    (w * 1.0).sum().backward()
    onp.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])
    with pytest.raises(gk.GradkitError, match="does not require grad"):
        gk.tensor([1.0]).register_hook(print)
    with pytest.raises(gk.GradkitError, match="returned shape"):
        v = gk.tensor([1.0, 2.0], requires_grad=True)
        v.register_hook(lambda g: onp.zeros(3))
        v.sum().backward()
