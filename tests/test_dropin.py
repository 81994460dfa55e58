"""``import gradkit.numpy as np`` as a drop-in: ordinary NumPy programs, run unchanged.

Each program is written once against a module ``np`` and run twice: with NumPy itself
on plain arrays, and with ``gradkit.numpy`` under ``gradkit.grad``. The values must
agree, and the gradients must pass ``check_grads`` (finite differences, both modes).
"""

import numpy
import pytest

import gradkit as gk
import gradkit.numpy as gnp


def statistics(np, x):
    """Robust and classical summaries of a sample."""
    z = (x - np.mean(x)) / np.std(x, ddof=1)
    spread = np.percentile(x, 75) - np.percentile(x, 25)
    r = np.corrcoef(x, np.sin(x))[0, 1]
    return np.sum(np.tanh(z) ** 2) + np.median(x) + spread + r + np.average(x, weights=x ** 2)


def kalman_step(np, m, P):
    """One predict and update of a constant-velocity Kalman filter; the log-likelihood."""
    F = np.array([[1.0, 0.1], [0.0, 1.0]])
    H = np.array([[1.0, 0.0]])
    Q = 0.01 * np.eye(2)
    R = np.array([[0.25]])
    z = np.array([0.7])
    m = F @ m
    P = F @ P @ F.T + Q
    S = H @ P @ H.T + R
    K = np.linalg.solve(S, H @ P).T
    v = z - H @ m
    m = m + K @ v
    P = (np.eye(2) - K @ H) @ P
    loglik = -0.5 * (v @ np.linalg.solve(S, v) + np.log(np.linalg.det(S)) + np.log(2 * np.pi))
    return loglik + np.sum(m) + np.trace(P)


def polynomial_fit(np, y):
    """Least-squares cubic through noisy samples; the residual and the fit's slope at 0.5."""
    t = np.linspace(0.0, 1.0, y.shape[0])
    A = np.stack([t ** k for k in range(4)], axis=1)
    coef = np.linalg.solve(A.T @ A, A.T @ y)
    resid = y - A @ coef
    slope = np.polyval(np.flip(coef[1:] * np.arange(1, 4)), 0.5)
    return np.sum(resid ** 2) + slope


def soft_dtw(np, x, y, gamma=0.5):
    """Soft dynamic time warping (Cuturi and Blondel, 2017): one anti-diagonal per step."""
    D = (x[:, None] - y[None, :]) ** 2
    n, m = D.shape
    R = [[np.inf] * (m + 1) for _ in range(n + 1)]
    R[0][0] = 0.0
    for i in range(1, n + 1):          # a recursion over time steps
        for j in range(1, m + 1):
            prev = np.array([R[i - 1][j - 1], R[i - 1][j], R[i][j - 1]])
            R[i][j] = D[i - 1, j - 1] - gamma * np.logaddexp.reduce(-prev / gamma) \
                if np is numpy else D[i - 1, j - 1] - gamma * np.logsumexp(-prev / gamma)
    return R[n][m]


def leapfrog(np, q, p, k=1.5, dt=0.05, steps=40):
    """A chain of springs integrated by leapfrog; the final energy plus the centroid."""
    def force(q):
        stretch = np.diff(q, prepend=0.0)
        f = -k * stretch
        return f - np.append(f[1:], 0.0)

    for _ in range(steps):
        p = p + 0.5 * dt * force(q)
        q = q + dt * p
        p = p + 0.5 * dt * force(q)
    energy = 0.5 * np.sum(p ** 2) + 0.5 * k * np.sum(np.diff(q, prepend=0.0) ** 2)
    return energy + np.mean(q)


def gaussian_process(np, log_len, x):
    """The log marginal likelihood of a GP with an RBF kernel (Cholesky, triangular solves)."""
    y = np.sin(3 * x)
    d2 = (x[:, None] - x[None, :]) ** 2
    K = np.exp(-0.5 * d2 / np.exp(2 * log_len)) + 0.1 * np.eye(x.shape[0])
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return -0.5 * y @ alpha - np.sum(np.log(np.diag(L)))


def attention(np, Q, K, V):
    """Scaled dot-product attention with a stable softmax."""
    s = Q @ K.T / np.sqrt(Q.shape[1])
    s = s - np.max(s, axis=1, keepdims=True)
    w = np.exp(s) / np.sum(np.exp(s), axis=1, keepdims=True)
    return np.sum((w @ V) ** 2)


def signal_energy(np, x):
    """Smoothing, differences and an integral of a sampled signal."""
    smooth = np.convolve(x, np.array([0.25, 0.5, 0.25]), mode="same")
    slope = np.gradient(smooth, 0.1)
    t = np.linspace(0.0, 1.0, x.shape[0])
    resampled = np.interp(np.array([0.15, 0.5, 0.85]), t, smooth)
    return np.trapezoid(slope ** 2, dx=0.1) + np.sum(resampled) + np.sum(np.cumprod(1 + 0.1 * x))


def logistic_regression(np, w, X, y):
    """Mean log-loss with an L2 penalty, written with logaddexp."""
    z = X @ w
    return np.mean(np.logaddexp(0.0, -z * (2 * y - 1))) + 0.01 * np.dot(w, w)


def mixture_loglik(np, mu, x):
    """Log-likelihood of a two-component Gaussian mixture (log-sum-exp by hand)."""
    d = -0.5 * (x[:, None] - mu[None, :]) ** 2 - 0.5 * np.log(2 * np.pi) + np.log(0.5)
    m = np.max(d, axis=1, keepdims=True)
    return np.sum(m[:, 0] + np.log(np.sum(np.exp(d - m), axis=1)))


def portfolio(np, r):
    """Compounded returns, drawdowns, the covariance's quadratic form, a clipped tail."""
    growth = np.cumprod(1.0 + r)
    dd = 1.0 - growth / np.maximum(growth, np.max(growth))
    C = np.cov(np.stack([r, r ** 2, np.roll(r, 1)]))
    w = np.array([0.5, 0.3, 0.2])
    return np.sum(dd) + w @ C @ w + np.sum(np.clip(r, -0.05, 0.05)) + np.ptp(r)


def image_gradient(np, img):
    """Finite-difference image gradients, an edge energy, rotations and padding."""
    gy, gx = np.gradient(img)
    mag = np.sqrt(gx ** 2 + gy ** 2 + 1e-3)
    padded = np.pad(np.rot90(img), 1, mode="edge")
    corner = img[:2, :2]
    return np.sum(mag) + np.mean(np.fliplr(padded) * padded) + np.sum(np.kron(corner, corner))


PROGRAMS = {
    "statistics": (statistics, lambda rng: (rng.standard_normal(9),)),
    "kalman_step": (kalman_step, lambda rng: (rng.standard_normal(2),
                                          numpy.array([[1.0, 0.2], [0.2, 0.5]]))),
    "polynomial_fit": (polynomial_fit, lambda rng: (rng.standard_normal(8),)),
    "soft_dtw": (soft_dtw, lambda rng: (rng.standard_normal(4), rng.standard_normal(5))),
    "leapfrog": (leapfrog, lambda rng: tuple(rng.standard_normal((2, 5)) * 0.3)),
    "gaussian_process": (gaussian_process, lambda rng: (numpy.log(0.3), numpy.linspace(0, 1, 6))),
    "attention": (attention, lambda rng: tuple(rng.standard_normal((4, 3)) for _ in range(3))),
    "signal_energy": (signal_energy, lambda rng: (rng.standard_normal(12),)),
    "logistic_regression": (logistic_regression, lambda rng: (
        rng.standard_normal(3), rng.standard_normal((10, 3)), (rng.random(10) > 0.5) * 1.0)),
    "mixture_loglik": (mixture_loglik, lambda rng: (numpy.array([-1.0, 1.2]),
                                                rng.standard_normal(7))),
    "portfolio": (portfolio, lambda rng: (rng.standard_normal(10) * 0.03,)),
    "image_gradient": (image_gradient, lambda rng: (rng.standard_normal((5, 6)),)),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_numpy_program_runs_unchanged(name):
    prog, make_args = PROGRAMS[name]
    args = make_args(numpy.random.default_rng(sorted(PROGRAMS).index(name)))
    want = prog(numpy, *args)
    # the same program on gradkit.numpy: the same value, plain and under a transform
    numpy.testing.assert_allclose(prog(gnp, *args), want, rtol=1e-12)
    argnums = tuple(range(len(args)))
    value, _ = gk.value_and_grad(lambda *a: prog(gnp, *a), argnums=argnums)(*args)
    numpy.testing.assert_allclose(value, want, rtol=1e-12)
    gk.check_grads(lambda *a: prog(gnp, *a), args, order=1, modes=("rev", "fwd"))
