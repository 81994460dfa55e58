"""Backpropagation: a multilayer perceptron on handwritten digits.

scikit-learn's bundled digits (1797 images of 8x8 pixels, ten classes) are split 80/20
(stratified, ``random_state=0``, the split of the issue's baselines) and classified by
a 64-256-128-10 ReLU network with dropout, trained by gradkit's backpropagation and
:class:`~gradkit.optim.AdamW` with a cosine schedule through :func:`gradkit.nn.fit`.
The baseline is ``sklearn.neural_network.MLPClassifier(hidden_layer_sizes=(128,))``
fitted on the same split (0.9750); ``SVC()`` is reported beside it (0.9833).

The recipe also looks inside one backward pass: the norm of each layer's gradient at
initialisation and after training, and a check of each layer's backpropagated gradient
against finite differences (gradkit.numeric) in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from .. import nn
from ..numeric import derivative
from ..transforms import grad
from ._rundir import RunDir
from ._spec import Spec, in_range, refuse
from .shared.data import DIGITS_SPLIT, load_digits_split
from .shared.figures import new_figure, plot_curves, save_figure
from .shared.threads import single_blas_thread
from .shared.training import check_training, fit_classifier

__all__ = ["Config", "SPEC", "run", "build_mlp", "gradient_norms", "backprop_check"]

SPEC = Spec(
    name="mlp",
    summary="backpropagation: a 64-256-128-10 MLP on handwritten digits",
    metric="test_accuracy", higher_is_better=True, goal=0.975,
    baseline="sklearn MLPClassifier(hidden_layer_sizes=(128,), random_state=0)",
    baseline_source="measured", requires=("sklearn", "matplotlib", "tqdm"))


@dataclass(frozen=True)
class Config:
    """Settings of the mlp recipe: AdamW with a cosine schedule, batches of 32.

    Parameters
    ----------
    epochs : int, default 60
    hidden : tuple of int, default (256, 128)
        Widths of the hidden ReLU layers.
    dropout : float, default 0.3
    label_smoothing : float, default 0.1
    batch_size : int, default 32
    lr : float, default 2e-3
        Peak learning rate, decayed to 0 by a cosine schedule over the run.
    weight_decay : float, default 1e-2
    """

    epochs: int = 60
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.3
    label_smoothing: float = 0.1
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-2

    def __post_init__(self) -> None:
        check_training(self)
        in_range(self, "dropout", 0, 0.99)
        in_range(self, "label_smoothing", 0, 1)
        if not self.hidden or min(self.hidden) < 1:
            raise refuse(self, "hidden", "one or more positive widths")

    @classmethod
    def smoke(cls) -> Config:
        return cls(epochs=2)


def build_mlp(seed: int, hidden: tuple[int, ...] = (256, 128), dropout: float = 0.3,
              dtype=onp.float32) -> nn.Sequential:
    """``Linear-ReLU-Dropout`` per hidden layer, then ``Linear`` to the 10 classes.

    Parameters
    ----------
    seed : int
        Seeds the He-uniform initialisation of every layer (one generator, in order).
    hidden : tuple of int, default (256, 128)
    dropout : float, default 0.3
    dtype : default float32

    Returns
    -------
    nn.Sequential

    Examples
    --------
    >>> import numpy as np
    >>> model = build_mlp(0)
    >>> model(np.zeros((2, 64), np.float32)).shape
    (2, 10)
    """
    rng = onp.random.default_rng(seed)
    layers: list[nn.Module] = []
    width = 64
    for h in hidden:
        layers += [nn.Linear(width, h, rng=rng, dtype=dtype), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, 10, rng=rng, dtype=dtype))
    return nn.Sequential(*layers)


def gradient_norms(model: nn.Module, loss_fn: Callable, X, y) -> dict[str, float]:
    """The 2-norm of each parameter's gradient after one backward pass over ``(X, y)``.

    The model runs in evaluation mode (no dropout), so the pass is deterministic; its
    parameters and training mode are left as they were, their ``.grad`` cleared.

    Returns
    -------
    dict of str to float
        Parameter name (``"0.weight"``...) to the norm of its gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> norms = gradient_norms(build_mlp(0), nn.cross_entropy, np.ones((4, 64), np.float32),
    ...                        np.arange(4))
    >>> list(norms)[:2], all(v > 0 for v in norms.values())
    (['0.weight', '0.bias'], True)
    """
    was_training = model.training
    model.eval()
    try:
        model.zero_grad()
        loss_fn(model(X), y).backward()
        norms = {name: float(onp.linalg.norm(onp.asarray(p.grad, dtype=onp.float64)))
                 for name, p in model.named_parameters()}
    finally:
        model.zero_grad()
        model.train(was_training)
    return norms


def backprop_check(model: nn.Module, loss_fn: Callable, X, y,
                   seed: int = 0) -> dict[str, float]:
    """Each weight matrix's backpropagated gradient against finite differences, in float64.

    For each layer's weight ``W``, a random unit direction ``V`` (seeded) is drawn; the
    directional derivative ``<dL/dW, V>`` from gradkit's reverse mode is compared with
    the derivative of ``t -> L(W + t V)`` by :func:`gradkit.numeric.derivative`
    (central differences with Richardson extrapolation), the model evaluated in
    float64, evaluation mode.

    Returns
    -------
    dict of str to float
        Weight name to ``|backprop - numeric| / |numeric|``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> X, y = np.random.default_rng(0).random((8, 64)), np.arange(8)
    >>> rel = backprop_check(build_mlp(0, dropout=0.0), nn.cross_entropy, X, y)
    >>> max(rel.values()) < 1e-8
    True
    """
    X = onp.asarray(X, dtype=onp.float64)
    params = {k: onp.asarray(v, dtype=onp.float64) for k, v in model.state_dict().items()}
    was_training = model.training
    model.eval()
    rng = onp.random.default_rng(seed)

    def loss(p):
        return loss_fn(nn.functional_call(model, p, X), y)

    try:
        g = grad(loss)(params)
        result = {}
        for name in params:
            if not name.endswith("weight"):
                continue
            v = rng.standard_normal(params[name].shape)
            v /= onp.linalg.norm(v)

            def along(t, name=name, v=v):
                return float(loss(dict(params, **{name: params[name] + t * v})))

            numeric = float(derivative(along, 0.0, vectorized=False).df)
            backprop = float(onp.sum(onp.asarray(g[name]) * v))
            result[name] = abs(backprop - numeric) / max(abs(numeric), 1e-300)
    finally:
        model.train(was_training)
    return result


def _layer_labels(model: nn.Sequential) -> dict[str, str]:
    labels, k = {}, 0
    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            k += 1
            shape = f"{layer.in_features}->{layer.out_features}"
            labels[f"{i}.weight"] = f"L{k} W ({shape})"
            labels[f"{i}.bias"] = f"L{k} b"
    return labels


def _plot_gradients(labels: dict[str, str], init: dict, trained: dict, path: Path) -> None:
    names = list(labels)
    x = onp.arange(len(names))
    fig, ax = new_figure(figsize=(7.6, 4.0))
    ax.bar(x - 0.2, [init[n] for n in names], 0.4, label="at initialisation")
    ax.bar(x + 0.2, [trained[n] for n in names], 0.4, label="after training")
    ax.set_yscale("log")
    ax.set_xticks(x, [labels[n] for n in names], rotation=20)
    ax.set_ylabel("||dL/dparam||_2")
    ax.set_title("Digits MLP: gradient norm per layer, one backward pass (training set)")
    ax.legend()
    save_figure(fig, path)


def run(cfg: Config, rd: RunDir) -> dict:
    """Train the digits MLP with backpropagation; compare with ``MLPClassifier``.

    The seed sets the initial weights, the shuffling and dropout; the split stays fixed
    (``random_state=0``) so that the baselines compare on the same images. Figures:
    ``curves.png``, ``gradients.png``.
    """
    data = load_digits_split()

    def loss(out, y):
        return nn.cross_entropy(out, y, label_smoothing=cfg.label_smoothing)

    with single_blas_thread():
        _, base = rd.stage("baseline", lambda: _baselines(data))
        model = build_mlp(rd.seed, cfg.hidden, cfg.dropout)
        labels = _layer_labels(model)

        def at_init():
            return {}, {"norms": gradient_norms(model, loss, data.X_train, data.y_train),
                        "check": backprop_check(model, loss, data.X_train, data.y_train,
                                                rd.seed)}

        _, init = rd.stage("gradients-init", at_init)
        history, test = fit_classifier(rd, model, loss, (data.X_train, data.y_train),
                                       (data.X_test, data.y_test), cfg)
        trained = gradient_norms(model, loss, data.X_train, data.y_train)

    widths = "-".join(str(w) for w in (64, *cfg.hidden, 10))
    plot_curves(history, f"Digits MLP {widths}: learning curves", rd.figure_path("curves"),
                loss_label=f"cross-entropy (label smoothing {cfg.label_smoothing:g})")
    _plot_gradients(labels, init["norms"], trained, rd.figure_path("gradients"))
    rd.say(f"  SVC {base['svc_accuracy']:.4f}; backprop within "
           f"{max(init['check'].values()):.0e} of finite differences")
    return {
        "value": test["metric"],
        "baseline_value": base["accuracy"],
        "test_accuracy": test["metric"],
        "test_loss": test["loss"],
        "baseline_iterations": base["iterations"],
        "svc_accuracy": base["svc_accuracy"],
        "final_loss": history[-1]["loss"],
        "epochs": cfg.epochs,
        "split": DIGITS_SPLIT,
        "model": f"{widths} ReLU MLP, dropout {cfg.dropout:g}",
        "parameters": int(sum(onp.prod(p.shape) for p in model.parameters())),
        "grad_norms": {labels[k]: {"init": init["norms"][k], "trained": trained[k]}
                       for k in labels},
        "backprop_vs_numeric": {labels[k]: v for k, v in init["check"].items()},
        "history": {"loss": [h["loss"] for h in history],
                    "test_accuracy": [h["val_metric"] for h in history]},
    }


def _baselines(data) -> tuple[dict, dict]:
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    clf = MLPClassifier(hidden_layer_sizes=(128,), random_state=0, max_iter=1000)
    clf.fit(data.X_train, data.y_train)
    svc = SVC().fit(data.X_train, data.y_train)
    return {}, {"accuracy": float(clf.score(data.X_test, data.y_test)),
                "iterations": int(clf.n_iter_),
                "svc_accuracy": float(svc.score(data.X_test, data.y_test))}
