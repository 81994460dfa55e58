"""gradkit.nn: layers against direct definitions, gradients, losses, initialisers, modules."""

import math

import numpy as np
import pytest
import scipy.signal

import gradkit as gk
import gradkit.numpy as gnp
from gradkit import nn
from gradkit.nn import functional as F
from gradkit.nn import init

# -- references -------------------------------------------------------------------------------


def conv2d_reference(x, w, b, stride, padding, dilation):
    """Cross-correlation by scipy.signal.correlate, one (image, filter, channel) at a time."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    f, c, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    wd = np.zeros((f, c, dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    wd[:, :, ::dh, ::dw] = w  # a dilated kernel is the kernel with zeros between its taps
    out = np.array([[sum(scipy.signal.correlate(xp[i, ch], wd[j, ch], mode="valid")
                         for ch in range(c)) + (0.0 if b is None else b[j])
                     for j in range(f)] for i in range(len(x))])
    return out[:, :, ::sh, ::sw]


def pool_reference(x, reduce, k, s, p, d, pad_value):
    """Pooling by its definition: reduce each window, one output pixel at a time."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = k, s, p, d
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.empty(x.shape[:2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * sh: i * sh + dh * (kh - 1) + 1: dh,
                        j * sw: j * sw + dw * (kw - 1) + 1: dw]
            out[:, :, i, j] = reduce(window, axis=(2, 3))
    return out


def pair(v):
    return (v, v) if isinstance(v, int) else v


CONV_CASES = [  # (stride, padding, dilation, kernel, input H x W)
    (1, 0, 1, (3, 3), (7, 6)),
    (2, 1, 1, (3, 3), (8, 7)),
    (1, 2, 2, (3, 2), (7, 7)),
    ((2, 1), (1, 0), (1, 2), (2, 3), (9, 8)),
    (3, 1, 2, (3, 3), (10, 9)),
    (1, 0, 1, (1, 1), (4, 5)),
]


# -- convolution ------------------------------------------------------------------------------


@pytest.mark.parametrize("stride,padding,dilation,kernel,hw", CONV_CASES)
def test_conv2d_matches_scipy_correlate(rng, stride, padding, dilation, kernel, hw):
    x = rng.standard_normal((2, 3) + hw)
    w = rng.standard_normal((4, 3) + kernel)
    b = rng.standard_normal(4)
    got = F.conv2d(x, w, b, stride, padding, dilation)
    want = conv2d_reference(x, w, b, pair(stride), pair(padding), pair(dilation))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    no_bias = F.conv2d(x, w, None, stride, padding, dilation)
    np.testing.assert_allclose(no_bias, want - b[:, None, None], rtol=0, atol=1e-12)


@pytest.mark.parametrize("stride,padding,dilation,kernel,hw", CONV_CASES[:5])
def test_conv2d_second_order_gradients(rng, stride, padding, dilation, kernel, hw):
    x = rng.standard_normal((2, 2) + hw)
    w = rng.standard_normal((3, 2) + kernel)
    b = rng.standard_normal(3)
    gk.check_grads(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation), (x, w, b),
                   order=2)


def test_conv2d_same_padding_keeps_the_size(rng):
    x = rng.standard_normal((1, 2, 6, 5))
    for k, d in ((3, 1), (4, 1), (3, 2)):
        w = rng.standard_normal((3, 2, k, k))
        out = F.conv2d(x, w, padding="same", dilation=d)
        assert out.shape == (1, 3, 6, 5)
        total = d * (k - 1)
        xp = np.pad(x, ((0, 0), (0, 0), (total // 2, total - total // 2),
                        (total // 2, total - total // 2)))
        want = conv2d_reference(xp, w, None, (1, 1), (0, 0), (d, d))
        np.testing.assert_allclose(out, want, rtol=0, atol=1e-12)


def test_conv2d_layer_float32_forward_and_backward():
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1, rng=0)
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 9)).astype(np.float32)
    out = conv(x)
    assert out.shape == (2, 5, 5, 5) and out.dtype == np.float32
    want = conv2d_reference(x.astype(np.float64), conv.weight.numpy().astype(np.float64),
                            conv.bias.numpy().astype(np.float64), (2, 2), (1, 1), (1, 1))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)
    (out * out).sum().backward()
    assert conv.weight.grad.dtype == np.float32 and conv.bias.grad.dtype == np.float32


def test_conv2d_input_gradient_is_the_transposed_convolution(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    g = rng.standard_normal((2, 4, 4, 4))
    _, pullback = gk.vjp(lambda x: F.conv2d(x, w), x)
    (gx,) = pullback(g)
    # Full correlation of the cotangent with the flipped kernel, summed over filters.
    want = np.array([[sum(scipy.signal.convolve(g[i, j], w[j, c], mode="full")
                          for j in range(4)) for c in range(3)] for i in range(2)])
    np.testing.assert_allclose(gx, want, rtol=0, atol=1e-12)


def test_conv2d_errors_name_the_shapes(rng):
    x = rng.standard_normal((2, 3, 5, 5))
    with pytest.raises(gk.GradkitError, match=r"input has 3 channels.*expects 4"):
        F.conv2d(x, rng.standard_normal((2, 4, 3, 3)))
    with pytest.raises(gk.GradkitError, match=r"\(N, C, H, W\)"):
        F.conv2d(x[0], rng.standard_normal((2, 3, 3, 3)))
    with pytest.raises(gk.GradkitError, match="larger than the padded input"):
        F.conv2d(x, rng.standard_normal((2, 3, 7, 7)))
    with pytest.raises(gk.GradkitError, match=r"nn.Conv2d: stride must be an integer or a "
                                              r"pair of integers, each >= 1, got 0"):
        nn.Conv2d(3, 2, 3, stride=0)
    with pytest.raises(gk.GradkitError, match=r"stride must be 1 with padding='same', got "
                                              r"\(2, 2\)"):
        nn.Conv2d(3, 2, 3, stride=2, padding="same")


# -- pooling ----------------------------------------------------------------------------------

POOL_CASES = [  # (kernel, stride, padding, dilation, H x W)
    (2, None, 0, 1, (6, 6)),
    (2, None, 0, 1, (7, 5)),  # crops the odd row and column
    (3, 1, 1, 1, (5, 6)),
    (3, 2, 1, 1, (7, 7)),
    ((2, 3), (1, 2), (1, 1), 1, (6, 7)),
    (2, 1, 0, 2, (6, 6)),
]


def distinct_values(rng, shape):
    """Values 0.1 apart in random order: no ties, so max pooling is differentiable."""
    return rng.permutation(math.prod(shape)).reshape(shape) * 0.1


@pytest.mark.parametrize("kernel,stride,padding,dilation,hw", POOL_CASES)
def test_max_pool2d_matches_definition(rng, kernel, stride, padding, dilation, hw):
    x = rng.standard_normal((2, 3) + hw)
    got = F.max_pool2d(x, kernel, stride, padding, dilation)
    want = pool_reference(x, np.max, pair(kernel), pair(kernel if stride is None else stride),
                          pair(padding), pair(dilation), -np.inf)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kernel,stride,padding,dilation,hw", POOL_CASES)
def test_max_pool2d_second_order_gradients(rng, kernel, stride, padding, dilation, hw):
    x = distinct_values(rng, (2, 2) + hw)
    gk.check_grads(lambda x: F.max_pool2d(x, kernel, stride, padding, dilation), (x,), order=2)


@pytest.mark.parametrize("kernel,stride,padding,dilation,hw",
                         [c for c in POOL_CASES if c[3] == 1])
@pytest.mark.parametrize("include", [True, False])
def test_avg_pool2d_matches_definition(rng, kernel, stride, padding, dilation, hw, include):
    x = rng.standard_normal((2, 3) + hw)
    got = F.avg_pool2d(x, kernel, stride, padding, count_include_pad=include)
    k, s, p = pair(kernel), pair(kernel if stride is None else stride), pair(padding)
    if include:
        want = pool_reference(x, np.mean, k, s, p, (1, 1), 0.0)
    else:
        sums = pool_reference(x, np.sum, k, s, p, (1, 1), 0.0)
        counts = pool_reference(np.ones_like(x), np.sum, k, s, p, (1, 1), 0.0)
        want = sums / counts
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    gk.check_grads(lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad=include),
                   (x[:1, :2],), order=2)


def test_max_pool_shares_the_gradient_between_ties():
    x = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    g = gk.grad(lambda x: gnp.sum(F.max_pool2d(x, 2)))(x)
    np.testing.assert_array_equal(g, [[[[1 / 3, 1 / 3], [0.0, 1 / 3]]]])


def test_pooling_layers_and_errors(rng):
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    assert nn.MaxPool2d(2)(x).dtype == np.float32
    assert nn.AvgPool2d(3, 1, 1)(x).shape == (1, 2, 5, 5)
    np.testing.assert_allclose(nn.GlobalAvgPool2d()(x), x.mean(axis=(2, 3)), rtol=1e-6)
    with pytest.raises(gk.GradkitError, match="at most half"):
        F.max_pool2d(x, 2, padding=2)


# -- normalisation, dropout, embedding --------------------------------------------------------


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (16, 3)), (nn.BatchNorm1d, (8, 3, 5)),
                                       (nn.BatchNorm2d, (4, 3, 5, 6))])
def test_batchnorm_training_and_eval_statistics(rng, cls, shape):
    bn = cls(3, momentum=0.25, dtype=np.float64)
    axes = (0,) + tuple(range(2, len(shape)))
    x = rng.standard_normal(shape) * 3.0 + 2.0
    y = bn(x).numpy()
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=axes), 1.0, rtol=1e-4)  # eps = 1e-5
    n = x.size // 3
    np.testing.assert_allclose(bn.running_mean, 0.25 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.75 + 0.25 * x.var(axis=axes) * n / (n - 1),
                               rtol=1e-12)
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    stat = (1, 3) + (1,) * (len(shape) - 2)
    want = (x - bn.running_mean.reshape(stat)) / np.sqrt(bn.running_var.reshape(stat) + 1e-5)
    np.testing.assert_allclose(bn(x).numpy(), want, rtol=1e-12)
    before = bn.running_mean.copy()
    bn(x)
    np.testing.assert_array_equal(bn.running_mean, before)  # eval leaves the stats alone


def test_batchnorm_gradients_and_affine_parameters(rng):
    bn = nn.BatchNorm2d(2, dtype=np.float64)
    x = rng.standard_normal((3, 2, 2, 2))
    params = {"weight": rng.standard_normal(2), "bias": rng.standard_normal(2)}
    gk.check_grads(lambda x, p: nn.functional_call(bn, p, x), (x, params), order=2)
    g = gk.grad(lambda x: gnp.sum(bn(x)))(x)  # a normalised batch does not move with a shift
    # the gradient depends on bn's parameters, which require grad: an eager tensor that,
    # as in PyTorch, must be detached before NumPy reads it
    assert g.requires_grad
    np.testing.assert_allclose(g.detach(), 0.0, atol=1e-12)


def test_batchnorm_momentum_none_is_a_cumulative_average(rng):
    bn = nn.BatchNorm1d(2, momentum=None, dtype=np.float64)
    batches = [rng.standard_normal((10, 2)) + i for i in range(3)]
    for b in batches:
        bn(b)
    np.testing.assert_allclose(bn.running_mean, np.mean([b.mean(0) for b in batches], 0),
                               rtol=1e-12)


def test_batchnorm_errors():
    with pytest.raises(gk.GradkitError, match="C = 3"):
        nn.BatchNorm2d(3)(np.zeros((2, 4, 2, 2), np.float32))
    with pytest.raises(gk.GradkitError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(np.zeros((1, 3), np.float32))


def test_dropout_scaling_mask_and_eval_identity():
    drop = nn.Dropout(0.3, rng=0)
    x = np.ones((200, 500), np.float32)
    y = drop(x)
    assert y.dtype == np.float32
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(float(y.mean()) - 1.0) < 0.01  # expectation preserved
    g = gk.grad(lambda x: gnp.sum(nn.Dropout(0.3, rng=5)(x)))(x)
    np.testing.assert_array_equal(g, nn.Dropout(0.3, rng=5)(x))  # the gradient is the mask
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x), 0.0)
    a, b = nn.Dropout(0.5, rng=3)(x), nn.Dropout(0.5, rng=3)(x)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(gk.GradkitError, match=r"nn.Dropout: p must be a number in \[0, 1\], "
                                              r"got 1.5"):
        nn.Dropout(1.5)


def test_embedding_lookup_and_accumulated_gradient():
    emb = nn.Embedding(5, 3, rng=0)
    idx = np.array([[1, 1], [4, 0]])
    out = emb(idx)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [1, 2, 0, 0, 1])
    with pytest.raises(gk.GradkitError, match="indices must be an integer array, got .*float64"):
        emb(np.array([0.5]))
    with pytest.raises(gk.GradkitError, match=r"in \[0, 5\)"):
        emb(np.array([5]))


# -- activations and linear -------------------------------------------------------------------


@pytest.mark.parametrize("layer,reference", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0)))),
    (nn.GELU(), lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    (nn.LogSoftmax(), lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True))),
    (nn.Identity(), lambda x: x),
])
def test_activations(rng, layer, reference):
    x = rng.standard_normal((3, 4)) + 0.05  # away from the kinks at 0
    np.testing.assert_allclose(layer(x), reference(x), rtol=1e-12, atol=1e-15)
    gk.check_grads(layer, (x,), order=2)
    x32 = x.astype(np.float32)
    assert np.asarray(layer(x32)).dtype == np.float32


def test_activations_are_stable_at_extremes():
    x = np.array([-1000.0, 1000.0])
    for layer in (nn.ELU(), nn.GELU(), nn.SiLU(), nn.Sigmoid(), nn.Softplus()):
        y = np.asarray(layer(x))
        assert np.isfinite(y).all()
        assert np.isfinite(gk.elementwise_grad(layer)(x)).all()


def test_linear_matches_numpy_and_flatten(rng):
    lin = nn.Linear(6, 4, rng=0, dtype=np.float64)
    x = rng.standard_normal((2, 3, 6))
    np.testing.assert_allclose(lin(x).numpy(), x @ lin.weight.numpy().T + lin.bias.numpy(),
                               rtol=1e-14)
    assert nn.Linear(6, 4, bias=False).bias is None
    with pytest.raises(gk.GradkitError, match="expects 6"):
        lin(np.zeros((2, 5)))
    assert nn.Flatten()(np.zeros((2, 3, 4, 5))).shape == (2, 60)
    assert nn.Flatten(0, 1)(np.zeros((2, 3, 4))).shape == (6, 4)


# -- losses -----------------------------------------------------------------------------------


def test_mse_closed_form_and_reductions(rng):
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert float(nn.mse(a, b)) == pytest.approx(np.mean((a - b) ** 2), rel=1e-15)
    assert float(nn.mse(a, b, "sum")) == pytest.approx(np.sum((a - b) ** 2), rel=1e-15)
    assert nn.mse(a, b, "none").shape == (4, 3)
    np.testing.assert_allclose(gk.grad(nn.mse)(a, b), 2 * (a - b) / a.size, rtol=1e-14)
    with pytest.raises(gk.GradkitError, match="shape"):
        nn.mse(a, b[:2])
    with pytest.raises(gk.GradkitError, match="reduction"):
        nn.mse(a, b, "avg")


def test_binary_cross_entropy_closed_form_and_gradient(rng):
    z, y = rng.standard_normal(6) * 3, rng.uniform(size=6)
    s = 1 / (1 + np.exp(-z))
    want = -(y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(nn.binary_cross_entropy_with_logits(z, y, "none"), want,
                               rtol=1e-12)
    np.testing.assert_allclose(gk.grad(nn.binary_cross_entropy_with_logits)(z, y),
                               (s - y) / 6, rtol=1e-12)
    w = 2.5
    weighted = -(w * y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(
        nn.binary_cross_entropy_with_logits(z, y, "none", pos_weight=w), weighted, rtol=1e-12)
    gk.check_grads(lambda z: nn.binary_cross_entropy_with_logits(z, y), (z,), order=2)


def test_binary_cross_entropy_is_exact_at_extreme_logits():
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(nn.binary_cross_entropy_with_logits(z, y, "none"),
                                  [0.0, 0.0, 1000.0, 1000.0])
    np.testing.assert_array_equal(gk.grad(nn.binary_cross_entropy_with_logits)(z, y),
                                  np.array([0.0, 0.0, 1.0, -1.0]) / 4)


def test_cross_entropy_closed_form_labels_and_probabilities(rng):
    z = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    want = -logp[np.arange(5), labels]
    np.testing.assert_allclose(nn.cross_entropy(z, labels, "none"), want, rtol=1e-14)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(nn.cross_entropy(z, onehot, "none"), want, rtol=1e-14)
    softmax = np.exp(logp)
    np.testing.assert_allclose(gk.grad(nn.cross_entropy)(z, labels), (softmax - onehot) / 5,
                               rtol=1e-13)
    smooth = 0.1
    target = onehot * (1 - smooth) + smooth / 4
    np.testing.assert_allclose(nn.cross_entropy(z, labels, label_smoothing=smooth),
                               np.mean(-(target * logp).sum(1)), rtol=1e-14)
    # class axis 1, as PyTorch, for (N, K, L) logits
    z3 = rng.standard_normal((2, 4, 3))
    lab3 = np.array([[0, 1, 3], [2, 2, 0]])
    np.testing.assert_allclose(nn.cross_entropy(z3, lab3, axis=1),
                               nn.cross_entropy(np.moveaxis(z3, 1, -1), lab3), rtol=1e-14)
    gk.check_grads(lambda z: nn.cross_entropy(z, labels), (z,), order=2)


def test_cross_entropy_is_stable_at_extreme_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])
    loss = nn.cross_entropy(z, np.array([1, 0]), "none")
    np.testing.assert_array_equal(loss, [2000.0, 2000.0 + np.log(2.0)])
    g = gk.grad(nn.cross_entropy)(z, np.array([1, 0]))
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g, np.array([[1, -1, 0], [-1, 0.5, 0.5]]) / 2, atol=1e-15)
    z32 = z.astype(np.float32)
    assert nn.cross_entropy(z32, np.array([1, 0])).dtype == np.float32


def test_cross_entropy_errors():
    z = np.zeros((2, 3))
    with pytest.raises(gk.GradkitError, match=r"labels must be in \[0, 3\)"):
        nn.cross_entropy(z, np.array([0, 3]))
    with pytest.raises(gk.GradkitError, match="integer labels of shape"):
        nn.cross_entropy(z, np.array([0.0, 1.0]))


def test_accuracy():
    z = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert nn.accuracy(z, np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert nn.accuracy(z, np.eye(2)[[1, 0, 1]]) == 1.0


# -- initialisers -----------------------------------------------------------------------------


@pytest.mark.parametrize("name,shape,std", [
    ("he_normal", (400, 300), math.sqrt(2 / 300)),
    ("he_uniform", (400, 300), math.sqrt(6 / 300) / math.sqrt(3)),
    ("glorot_normal", (64, 32, 3, 3), math.sqrt(2 / (32 * 9 + 64 * 9))),
    ("glorot_uniform", (300, 500), math.sqrt(6 / 800) / math.sqrt(3)),
])
def test_initialiser_statistics(name, shape, std):
    w = init.get(name)(shape, np.random.default_rng(0))
    assert w.shape == shape and w.dtype == np.float32
    assert abs(float(w.mean())) < 0.02 * std * 10
    assert float(w.std()) == pytest.approx(std, rel=0.02)
    if name.endswith("uniform"):
        assert float(np.abs(w).max()) <= std * math.sqrt(3) * (1 + 1e-6)
        assert float(np.abs(w).max()) > 0.99 * std * math.sqrt(3)


def test_initialisers_are_seeded_and_typed():
    a = init.he_normal((3, 4), np.random.default_rng(7))
    b = init.he_normal((3, 4), 7)
    np.testing.assert_array_equal(a, b)
    assert init.glorot_uniform((3, 4), 0, dtype=np.float64).dtype == np.float64
    assert init.fans((10, 20)) == (20, 10)
    assert init.fans((8, 4, 3, 5)) == (60, 120)
    assert init.kaiming_normal is init.he_normal and init.xavier_uniform is init.glorot_uniform
    with pytest.raises(gk.GradkitError, match="nn.init.get: init must be a callable or one of "
                                              ".*got 'lecun'"):
        init.get("lecun")
    with pytest.raises(gk.GradkitError, match="floating-point"):
        init.he_normal((2, 2), 0, dtype=np.int32)
    with pytest.raises(gk.GradkitError, match="Generator"):
        init.he_normal((2, 2), "seed")
    np.testing.assert_array_equal(nn.Linear(4, 3, rng=1).weight.numpy(),
                                  init.he_uniform((3, 4), 1))


# -- modules ----------------------------------------------------------------------------------


def small_cnn(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, rng=rng, dtype=dtype), nn.BatchNorm2d(4, dtype=dtype),
        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.2, rng=rng),
        nn.Linear(4 * 3 * 3, 5, rng=rng, dtype=dtype))


def test_parameters_names_order_and_state_dict():
    model = small_cnn()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "6.weight", "6.bias"]
    assert all(type(p) is gk.Tensor and p.requires_grad for p in model.parameters())
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                           "1.running_var", "1.num_batches_tracked", "6.weight", "6.bias"]
    state["0.weight"][...] = 0.0  # a copy: the model is untouched
    assert np.abs(model[0].weight.numpy()).sum() > 0
    assert model.num_parameters() == 4 * 2 * 9 + 4 + 4 + 4 + 36 * 5 + 5
    assert [name for name, _ in model.named_modules()][:3] == ["", "0", "1"]
    head = model[:3]
    assert isinstance(head, nn.Sequential) and len(head) == 3 and head[0] is model[0]


def test_state_dict_round_trip_gives_identical_outputs(rng):
    a, b = small_cnn(seed=0).eval(), small_cnn(seed=1).eval()
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    a(x)
    a.train()
    a(x)  # move the running statistics away from their initial values
    a.eval()
    assert not np.array_equal(a(x).numpy(), b(x).numpy())
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and va.dtype == vb.dtype
        np.testing.assert_array_equal(va, vb)


def test_load_state_dict_errors_change_nothing():
    model = small_cnn()
    before = model.state_dict()
    bad = dict(before)
    bad["0.weight"] = np.zeros((4, 2, 5, 5), np.float32)
    bad["extra"] = np.zeros(1)
    del bad["6.bias"]
    with pytest.raises(gk.GradkitError) as info:
        model.load_state_dict(bad)
    message = str(info.value)
    assert "missing keys ['6.bias']" in message and "unexpected keys ['extra']" in message
    assert "wrong shape for '0.weight': (4, 2, 5, 5) given" in message
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    partial = {"6.bias": np.ones(5)}
    model.load_state_dict(partial, strict=False)
    assert model[6].bias.dtype == np.float32
    np.testing.assert_array_equal(model[6].bias.numpy(), 1.0)


def test_train_eval_zero_grad_and_repr():
    model = small_cnn()
    assert all(m.training for m in model.modules())
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    x = np.ones((2, 2, 6, 6), np.float32)
    nn.cross_entropy(model(x), np.array([0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    text = repr(model)
    assert "(0): Conv2d(2, 4, kernel_size=(3, 3)" in text and "(5): Dropout(p=0.2)" in text


def test_functional_call_matches_eager_gradients_and_restores_parameters(rng):
    model = small_cnn(dtype=np.float64).eval()
    x = rng.standard_normal((3, 2, 6, 6))
    y = np.array([0, 4, 2])
    params = {k: v for k, v in model.state_dict().items() if k in dict(model.named_parameters())}
    loss, grads = gk.value_and_grad(
        lambda p: nn.cross_entropy(nn.functional_call(model, p, x), y))(params)
    eager = nn.cross_entropy(model(x), y)
    eager.backward()
    assert float(loss) == float(eager)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-13, atol=1e-15)
        assert type(p) is gk.Tensor  # restored
    with pytest.raises(gk.GradkitError, match="no parameter or buffer named 'nope'"):
        nn.functional_call(model, {"nope": np.zeros(1)}, x)
    with pytest.raises(gk.GradkitError):  # the forward fails: parameters are restored anyway
        nn.functional_call(model, {"0.weight": np.zeros((4, 3, 3, 3))}, x)
    assert model[0].weight.shape == (4, 2, 3, 3) and type(model[0].weight) is gk.Tensor


def test_custom_module_registration_and_shared_parameters():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3, rng=0)
            self.b = nn.Linear(3, 3, rng=1)
            self.b.weight = self.a.weight  # tied
            self.scale = nn.parameter(np.ones(1, np.float32))
            self.not_a_param = gk.tensor([1.0])  # no requires_grad: a plain attribute

        def forward(self, x):
            return self.b(self.a(x)) * self.scale

    m = Tied()
    assert [n for n, _ in m.named_parameters()] == ["scale", "a.weight", "a.bias", "b.bias"]
    x = np.ones((2, 3), np.float32)
    params = {k: p.numpy() for k, p in m.named_parameters()}
    grads = gk.grad(lambda p: nn.functional_call(m, p, x).sum())(params)
    m(x).sum().backward()
    np.testing.assert_allclose(grads["a.weight"], m.a.weight.grad.numpy(), rtol=1e-6)
    m.astype(np.float64)
    assert m.b.weight is m.a.weight and m.a.weight.dtype == np.float64
    m.astype(np.float32)
    m.scale = None
    assert [n for n, _ in m.named_parameters()][0] == "a.weight"
    with pytest.raises(gk.GradkitError, match="is a parameter"):
        m.a.weight = np.zeros((3, 3))

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.parameter(np.ones(1))

    with pytest.raises(gk.GradkitError, match="super"):
        Forgot()


def test_astype_converts_parameters_and_buffers(rng):
    model = small_cnn().astype(np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    out = model.eval()(rng.standard_normal((1, 2, 6, 6)))
    assert out.dtype == np.float64


def test_cnn_float32_gradients_stay_float32():
    model = small_cnn()
    x = np.random.default_rng(0).standard_normal((4, 2, 6, 6)).astype(np.float32)
    grads = gk.grad(lambda p: nn.cross_entropy(nn.functional_call(model, p, x),
                                               np.arange(4)))(dict(
        (k, p.numpy()) for k, p in model.named_parameters()))
    assert all(g.dtype == np.float32 for g in grads.values())


# -- the stride-1 convolution primitive pair (im2col forward, per-offset input gradient) --

def _conv_case(dtype=np.float64):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 5, 6, 3)).astype(dtype)
    w = rng.standard_normal((2 * 3 * 3, 4)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    return x, w, b


def test_conv_primitive_matches_im2col_and_checks_to_second_order():
    x, w, b = _conv_case()
    np.testing.assert_allclose(F._conv(x, w, b, 2, 3), F._im2col(x, 2, 3) @ w + b, rtol=1e-14)
    gk.check_grads(lambda x, w, b: F._conv(x, w, b, 2, 3), (x, w, b), order=2)


def test_conv_primitive_batched_jacobians_and_hessians_agree():
    x, w, b = _conv_case()

    def f(x, w):
        return gnp.sin(F._conv(x, w, b, 2, 3))

    for jr, jf in zip(gk.jacobian(f, argnums=(0, 1))(x, w),
                      gk.jacobian(f, argnums=(0, 1), mode="fwd")(x, w)):
        np.testing.assert_allclose(jr, jf, atol=1e-12)
    for arg in (0, 1):
        ours = gk.hessian(lambda *v: gnp.sum(gnp.tanh(F._conv(*v, b, 2, 3))), argnums=arg)(x, w)
        ref = gk.hessian(lambda *v: gnp.sum(gnp.tanh(F._im2col(v[0], 2, 3) @ v[1] + b)),
                         argnums=arg)(x, w)
        np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_conv_primitive_keeps_float32():
    x, w, b = _conv_case(np.float32)
    grads = gk.grad(lambda *v: gnp.sum(F._conv(*v, 2, 3) ** 2), argnums=(0, 1, 2))(x, w, b)
    assert [g.dtype for g in grads] == [np.float32] * 3


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0, 2.5])
def test_leaky_relu_values_derivatives_and_dtype(slope):
    from gradkit.nn.functional import leaky_relu

    x = np.array([-3.0, -0.5, 0.0, 0.25, 4.0])
    expected = np.where(x > 0, x, slope * x)
    np.testing.assert_array_equal(leaky_relu(x, slope), expected)
    np.testing.assert_array_equal(gk.elementwise_grad(lambda v: leaky_relu(v, slope))(x),
                                  np.where(x > 0, 1.0, slope))
    gk.check_grads(lambda v: gk.numpy.sum(leaky_relu(v, slope) ** 3), (x[x != 0],), order=2)
    x32 = x.astype(np.float32)
    assert leaky_relu(x32, slope).dtype == np.float32
    assert gk.grad(lambda v: gk.numpy.sum(leaky_relu(v, slope)))(x32).dtype == np.float32


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3, rng=0)
        self.b = nn.Linear(3, 3, rng=1)
        self.b.weight = self.a.weight


def test_load_state_dict_takes_a_shared_parameter_under_each_name():
    """PyTorch's state dicts list a tied weight under every name: such a dict loads (the
    names must agree), as does gradkit's own, which lists it once."""
    m = _Tied()
    assert list(m.state_dict()) == ["a.weight", "a.bias", "b.bias"]
    w = np.arange(9.0).reshape(3, 3)
    m.load_state_dict({"a.weight": w, "a.bias": np.ones(3), "b.weight": w,
                       "b.bias": np.zeros(3)})
    assert m.a.weight is m.b.weight and m.b.weight.numpy().tolist() == w.tolist()
    m.load_state_dict({"a.bias": np.ones(3), "b.weight": 2 * w, "b.bias": np.zeros(3)})
    assert m.a.weight.numpy().tolist() == (2 * w).tolist()
    with pytest.raises(gk.GradkitError, match="'a.weight' and 'b.weight' name one shared value"):
        m.load_state_dict({"a.weight": w, "a.bias": np.ones(3), "b.weight": w + 1,
                           "b.bias": np.zeros(3)})
    with pytest.raises(gk.GradkitError, match=r"missing keys \['a.weight'\]"):
        m.load_state_dict({"a.bias": np.ones(3), "b.bias": np.zeros(3)})


def test_converting_a_tensor_of_many_elements_names_the_call():
    x = gk.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"Tensor.item\(\) of a Tensor of shape \(2,\)"):
        x.item()
    with pytest.raises(TypeError, match=r"float\(\) of a Tensor of shape \(2,\)"):
        float(x)
