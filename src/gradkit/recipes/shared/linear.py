"""Logistic regression as scikit-learn defines it, fitted by gradkit's L-BFGS, on dense or
sparse features (the diagnosis and sentiment recipes)."""

from __future__ import annotations

import numpy as onp

from ... import numpy as gnp
from ...custom import custom_vjp, stop_gradient
from ...optim import LBFGS
from ...transforms import value_and_grad

__all__ = ["Sparse", "objective", "fit_logistic"]


class Sparse:
    """A constant SciPy sparse matrix that multiplies gradkit arrays: ``S @ w`` has the
    vector-Jacobian rule ``g -> S.T @ g``, itself a ``Sparse`` product, so derivatives of
    any order flow through it. Only the dense side is differentiated.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, gradkit as gk
    >>> S = Sparse(sp.csr_matrix(np.array([[1.0, 0.0], [2.0, 3.0]])))
    >>> gk.grad(lambda w: (S @ w).sum())(np.ones(2))
    array([3., 3.])
    """

    def __init__(self, matrix, transpose: Sparse | None = None):
        self.matrix = matrix.tocsr()
        self.shape = self.matrix.shape
        self._transpose = transpose

        @custom_vjp
        def product(w):
            return self.matrix @ w

        # Under nested traces fwd's output is recomputed by recursion; only its value here.
        product.defvjp(lambda w: (self.matrix @ stop_gradient(w), None),
                       lambda _, g: (self.T @ g,))
        self._product = product

    @property
    def T(self) -> Sparse:  # noqa: N802 - NumPy's name
        if self._transpose is None:
            self._transpose = Sparse(self.matrix.T, transpose=self)
        return self._transpose

    def __matmul__(self, w):
        return self._product(w)


def objective(params: dict, X, s, C: float):
    """Mean logistic loss plus scikit-learn's L2 penalty, scaled the same way
    (``s`` the labels as -1/+1; the intercept is not penalised)."""
    z = X @ params["w"] + params["b"]
    n = X.shape[0]
    return gnp.mean(gnp.softplus(-s * z)) + gnp.sum(params["w"] ** 2) / (2.0 * C * n)


def fit_logistic(X, y, C: float, *, tol: float = 1e-6, callback=None):
    """scikit-learn's ``LogisticRegression(C=C)`` fitted by gradkit's L-BFGS with
    scikit-learn's stopping rules (gtol ``tol``, ftol 64 machine epsilons).

    ``X`` dense or SciPy sparse, ``y`` in {0, 1}. Returns the ``OptimizeResult``, whose
    ``x`` holds ``w`` and ``b``.
    """
    import scipy.sparse

    Xo = Sparse(X) if scipy.sparse.issparse(X) else onp.asarray(X, dtype=onp.float64)
    s = onp.where(onp.asarray(y) == 1, 1.0, -1.0)
    vg = value_and_grad(objective)
    opt = LBFGS(gtol=tol, ftol=64 * onp.finfo(float).eps)
    x0 = {"w": onp.zeros(Xo.shape[1]), "b": onp.zeros(())}
    return opt.minimize(lambda p: vg(p, Xo, s, C), x0, jac=True, callback=callback)
