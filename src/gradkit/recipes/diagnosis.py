"""Gradient descent on medical data: L2-regularised logistic regression for diagnosis.

The Wisconsin breast-cancer data set (569 tumours, 30 features from images of a fine
needle aspirate, scikit-learn's bundled copy) is split as scikit-learn users split it,
standardised on the training part, and fitted by minimising the same objective as
``sklearn.linear_model.LogisticRegression(C=1)``::

    J(w, b) = mean_i log(1 + exp(-s_i (x_i . w + b))) + ||w||^2 / (2 C n),  s_i = +-1

with gradkit's gradient descent, momentum, Adam and L-BFGS, the gradient coming from
gradkit's reverse mode. L-BFGS reaches scikit-learn's coefficients (to 1e-4 relative)
in no more iterations than scikit-learn's own L-BFGS, so the held-out accuracy is its
0.9591.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as onp

from ..optim import LBFGS, SGD, Adam
from ..transforms import grad, value_and_grad
from ._rundir import RunDir
from ._spec import Spec, at_least, positive
from .shared.data import load_breast_cancer_split
from .shared.figures import new_figure, save_figure
from .shared.linear import fit_logistic, objective

__all__ = ["Config", "SPEC", "run", "textbook_descent", "objective"]

SPEC = Spec(
    name="diagnosis",
    summary="L2 logistic regression on breast-cancer data by gradient descent, Adam, L-BFGS",
    metric="test_accuracy", higher_is_better=True, goal=0.959,
    baseline="sklearn LogisticRegression(C=1, lbfgs, tol=1e-10)", baseline_source="measured")


@dataclass(frozen=True)
class Config:
    """Settings of the diagnosis recipe.

    Parameters
    ----------
    epochs : int, default 300
        Full-batch iterations of gradient descent, momentum and Adam for the loss plot.
        L-BFGS runs to its tolerance.
    C : float, default 1.0
        Inverse regularisation strength, as in scikit-learn.
    """

    epochs: int = 300
    C: float = 1.0

    def __post_init__(self) -> None:
        at_least(self, "epochs", 1)
        positive(self, "C")

    @classmethod
    def smoke(cls) -> Config:
        return cls(epochs=20)


def _accuracy(params: dict, X, y) -> float:
    return float(onp.mean(((X @ params["w"] + params["b"]) > 0) == (y == 1)))


def _first_order(opt, X, s, C, iterations: int) -> tuple[dict, onp.ndarray]:
    vg = value_and_grad(objective)
    params = {"w": onp.zeros(X.shape[1]), "b": onp.zeros(())}
    state = opt.init(params)
    losses = onp.empty(iterations + 1)
    for k in range(iterations):
        losses[k], g = vg(params, X, s, C)
        params, state = opt.update(g, state, params)
    losses[iterations] = objective(params, X, s, C)
    return params, losses


def textbook_descent(lr: float = 0.01, plain_steps: int = 100, tol: float = 1e-8) -> dict:
    """f(x) = x^2 + 2x + 1 from x = 0: the textbook loop, then gradkit to convergence.

    Returns
    -------
    dict
        ``plain_x`` after ``plain_steps`` steps of the usual snippet, the number of
        gradkit GD steps and L-BFGS iterations to reach ``|x + 1| <= tol``, and where
        each ended.

    Examples
    --------
    >>> r = textbook_descent()
    >>> round(r["plain_x"], 3), r["gd_error"] <= 1e-8, r["lbfgs_iterations"] <= 5
    (-0.867, True, True)
    """

    def f(x):
        return x**2 + 2 * x + 1

    x = 0.0
    for _ in range(plain_steps):  # the snippet every tutorial shows
        x -= lr * (2 * x + 2)
    plain_x = x
    opt = SGD(lr=lr)
    xk = onp.zeros(())
    state = opt.init(xk)
    df = grad(f)
    steps = 0
    while abs(xk + 1.0) > tol:
        xk, state = opt.update(df(xk), state, xk)
        steps += 1
    res = LBFGS(gtol=tol).minimize(f, onp.zeros(()))
    return {"plain_x": plain_x, "plain_steps": plain_steps, "gd_steps": steps,
            "gd_x": float(xk), "gd_error": float(abs(xk + 1.0)),
            "lbfgs_iterations": int(res.nit), "lbfgs_x": float(res.x),
            "lbfgs_error": float(abs(res.x + 1.0))}


def run(cfg: Config, rd: RunDir) -> dict:
    """Fit the diagnosis model with gradkit's optimisers and compare with scikit-learn.

    The split's ``random_state`` is the run's seed. Figures: ``loss.png``.
    """
    from sklearn.linear_model import LogisticRegression

    iterations, C = cfg.epochs, cfg.C
    data = load_breast_cancer_split(rd.seed)
    X, Xt = data.X_train, data.X_test
    s = 2.0 * data.y_train - 1.0

    def baseline():
        model = LogisticRegression(C=C, solver="lbfgs", tol=1e-10, max_iter=10_000)
        model.fit(X, data.y_train)
        return ({"w": model.coef_[0], "b": model.intercept_},
                {"accuracy": float(model.score(Xt, data.y_test)),
                 "iterations": int(model.n_iter_[0])})

    def lbfgs():
        trace = []
        res = fit_logistic(X, data.y_train, C, tol=1e-10,
                           callback=lambda p: trace.append(objective(p, X, s, C)))
        losses = onp.array([objective({"w": onp.zeros(X.shape[1]), "b": onp.zeros(())},
                                      X, s, C)] + trace)
        return ({"w": res.x["w"], "b": onp.asarray(res.x["b"]), "losses": losses},
                {"iterations": int(res.nit), "evaluations": int(res.nfev),
                 "success": bool(res.success), "loss": float(res.fun)})

    (sk, sk_info) = rd.stage("baseline", baseline)
    (lb, lb_info) = rd.stage("lbfgs", lbfgs)
    # Step size 1/L, L the Lipschitz constant of the gradient of J.
    lipschitz = onp.linalg.eigvalsh(X.T @ X)[-1] / (4 * len(X)) + 1 / (C * len(X))
    curves = {"lbfgs": lb["losses"]}
    for name, opt in (("gd", SGD(lr=1 / lipschitz)),
                      ("momentum", SGD(lr=1 / lipschitz, momentum=0.9)),
                      ("adam", Adam(lr=0.05))):
        def compute(opt=opt):
            return {"losses": _first_order(opt, X, s, C, iterations)[1]}, {}

        arrays, _ = rd.stage(f"{name}-{iterations}", compute)
        curves[name] = arrays["losses"]
    _, textbook = rd.stage("textbook", lambda: ({}, textbook_descent()))

    ours = {"w": lb["w"], "b": lb["b"]}
    coef_ref = onp.concatenate([sk["w"], sk["b"]])
    coef = onp.concatenate([lb["w"], onp.reshape(lb["b"], -1)])
    rel = float(onp.max(onp.abs(coef - coef_ref)) / onp.max(onp.abs(coef_ref)))
    best = lb_info["loss"]
    fig, ax = new_figure(figsize=(6.4, 4.2))
    labels = {"gd": "gradient descent (1/L)", "momentum": "momentum 0.9",
              "adam": "Adam (lr 0.05)", "lbfgs": "L-BFGS"}
    for name in ("gd", "momentum", "adam", "lbfgs"):
        gap = onp.maximum(curves[name] - best, 1e-16)
        ax.semilogy(onp.arange(len(gap)), gap, label=labels[name])
    ax.set_xlabel("iteration")
    ax.set_ylabel("J(w) - J(w*)")
    ax.set_title("Breast-cancer logistic regression: loss gap by optimiser")
    ax.legend()
    save_figure(fig, rd.figure_path("loss"))

    rd.say(f"  L-BFGS {lb_info['iterations']} iterations vs scikit-learn's "
           f"{sk_info['iterations']}; coefficients within {rel:.1e} relative")
    rd.say(f"  textbook: x^2+2x+1 from 0, lr 0.01: {textbook['plain_steps']} plain steps "
           f"stop at {textbook['plain_x']:.3f}; gradkit GD reaches -1 within 1e-8 in "
           f"{textbook['gd_steps']} steps, L-BFGS in {textbook['lbfgs_iterations']}")
    accuracy = _accuracy(ours, Xt, data.y_test)
    return {
        "value": accuracy,
        "baseline_value": sk_info["accuracy"],
        "test_accuracy": accuracy,
        "final_loss": best,
        "epochs": iterations,
        "lbfgs_iterations": lb_info["iterations"],
        "baseline_iterations": sk_info["iterations"],
        "coef_max_rel_diff": rel,
        "final_gap": {k: float(curves[k][-1] - best) for k in ("gd", "momentum", "adam")},
        "textbook": textbook,
    }
