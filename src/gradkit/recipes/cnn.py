"""A convolutional network on handwritten digits.

scikit-learn's bundled digits (1797 images of 8x8 pixels), split 80/20 as in the
``mlp`` recipe (stratified, ``random_state=0``), are classified by a small CNN written
with :mod:`gradkit.nn`::

    RandomShift(1) - Conv 3x3 1->16 - ReLU - Conv 3x3 16->32 - ReLU - MaxPool 2
                   - Conv 3x3 32->64 - ReLU - global average pool - Linear 64->10

(``padding=1`` throughout), trained by :func:`gradkit.nn.fit` with
:class:`~gradkit.optim.AdamW` and a cosine schedule, each training image shifted by up
to one pixel at random. The baseline is the issue's small PyTorch CNN (0.9861 after 30
epochs on the same split; its architecture is not stated); ``SVC()`` on the same split
is measured live beside it, and so, when PyTorch is importable, is the same network
trained the same way in PyTorch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from .. import nn
from ..graph import no_grad
from ._rundir import RunDir
from ._spec import Spec, at_least, refuse
from .shared.augment import RandomShift
from .shared.data import DIGITS_SPLIT, Split, load_digits_split
from .shared.figures import new_figure, plot_curves, save_figure
from .shared.threads import single_blas_thread
from .shared.training import check_training, fit_classifier

__all__ = ["Config", "SPEC", "run", "build_cnn", "torch_same_recipe", "PUBLISHED_BASELINE"]

PUBLISHED_BASELINE = 0.9861
"""The issue's figure for a small PyTorch CNN on this split (its architecture unstated)."""

SPEC = Spec(
    name="cnn",
    summary="a small convolutional network on handwritten digits",
    metric="test_accuracy", higher_is_better=True, goal=0.986,
    baseline="small PyTorch CNN, 30 epochs (issue figure)", baseline_source="published",
    requires=("sklearn", "matplotlib", "tqdm"))


@dataclass(frozen=True)
class Config:
    """Settings of the cnn recipe: AdamW with a cosine schedule, batches of 32.

    Parameters
    ----------
    epochs : int, default 40
    channels : (int, int, int), default (16, 32, 64)
        Filters of the three 3x3 convolutions.
    max_shift : int, default 1
        Each training image is shifted by up to this many pixels (0: no augmentation).
    batch_size : int, default 32
    lr : float, default 3e-3
        Peak learning rate, decayed to 0 by a cosine schedule over the run.
    weight_decay : float, default 1e-2
    """

    epochs: int = 40
    channels: tuple[int, int, int] = (16, 32, 64)
    max_shift: int = 1
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-2

    def __post_init__(self) -> None:
        check_training(self)
        at_least(self, "max_shift", 0)
        if min(self.channels) < 1:
            raise refuse(self, "channels", "three positive counts")

    @classmethod
    def smoke(cls) -> Config:
        return cls(epochs=1)


def build_cnn(seed: int, channels: tuple[int, int, int] = (16, 32, 64),
              max_shift: int = 1) -> nn.Sequential:
    """The recipe's CNN for ``(N, 1, 8, 8)`` images, initialised from ``seed``.

    Parameters
    ----------
    seed : int
        Seeds the He-uniform initialisation (one generator, layer by layer).
    channels : (int, int, int), default (16, 32, 64)
        Filters of the three 3x3 convolutions.
    max_shift : int, default 1
        The random translation of training images (0 for none).

    Returns
    -------
    nn.Sequential

    Examples
    --------
    >>> import numpy as np
    >>> model = build_cnn(0)
    >>> model(np.zeros((2, 1, 8, 8), np.float32)).shape
    (2, 10)
    """
    rng = onp.random.default_rng(seed)
    c1, c2, c3 = channels
    return nn.Sequential(
        RandomShift(max_shift, (8, 8)),
        nn.Conv2d(1, c1, 3, padding=1, rng=rng), nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c2, c3, 3, padding=1, rng=rng), nn.ReLU(), nn.GlobalAvgPool2d(),
        nn.Linear(c3, 10, rng=rng))


def torch_same_recipe(data: Split, cfg: Config, seed: int = 0) -> tuple[str, float]:
    """The recipe's network and training, written in PyTorch, on the same split.

    The same layers with the same initial weights (gradkit's, for ``seed``), the same
    batches and the same random one-pixel shifts (drawn from one generator in fit's
    order), AdamW (3e-3, weight decay 1e-2) with PyTorch's ``CosineAnnealingLR`` stepped
    per batch, one thread: only the arithmetic differs. Run when PyTorch is importable
    (it is not a dependency of gradkit).

    Returns
    -------
    (str, float)
        A description and the held-out accuracy.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tnn = torch.nn
        c1, c2, c3 = cfg.channels
        net = tnn.Sequential(
            tnn.Conv2d(1, c1, 3, padding=1), tnn.ReLU(), tnn.Conv2d(c1, c2, 3, padding=1),
            tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(c2, c3, 3, padding=1), tnn.ReLU(),
            tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(c3, 10))
        with torch.no_grad():
            for p, (_, q) in zip(net.parameters(),
                                 build_cnn(seed, cfg.channels).named_parameters(), strict=True):
                p.copy_(torch.from_numpy(onp.asarray(q.data)))
        steps = cfg.epochs * math.ceil(len(data.X_train) / cfg.batch_size)
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        rng = onp.random.default_rng(seed)
        shift = RandomShift(cfg.max_shift, (8, 8), rng=rng)
        X = data.X_train.reshape(-1, 1, 8, 8)
        y = torch.from_numpy(data.y_train)
        for _ in range(cfg.epochs):
            order = rng.permutation(len(X))
            for i in range(0, len(X), cfg.batch_size):
                idx = order[i:i + cfg.batch_size]
                xb = torch.from_numpy(onp.ascontiguousarray(shift(X[idx])))
                opt.zero_grad()
                tnn.functional.cross_entropy(net(xb), y[idx]).backward()
                opt.step()
                sched.step()
        with torch.no_grad():
            pred = net(torch.from_numpy(data.X_test.reshape(-1, 1, 8, 8))).argmax(1).numpy()
    finally:
        torch.set_num_threads(threads)
    name = (f"the same network, initial weights, batches and training in PyTorch "
            f"{torch.__version__} ({cfg.epochs} epochs, seed {seed})")
    return name, float(onp.mean(pred == data.y_test))


def _plot_filters(model: nn.Sequential, image: onp.ndarray, label: int, path: Path) -> None:
    """The first layer's 3x3 filters, and their ReLU responses to one held-out digit."""
    conv = model[1]
    w = onp.asarray(conv.weight.data)[:, 0]  # (16, 3, 3)
    with no_grad():
        maps = onp.asarray(model[2](conv(image[None, None])))[0]  # (16, 8, 8)
    n = len(w)
    cols = 8
    rows = math.ceil(n / cols)
    fig, axes = new_figure(2 * rows + 1, cols, figsize=(cols * 1.0, (2 * rows + 1) * 1.05))
    lim = float(onp.abs(w).max())
    for ax in axes.ravel():
        ax.set_axis_off()
    for k in range(n):
        ax = axes[k // cols, k % cols]
        ax.imshow(w[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"filter {k}", fontsize=7)
    ax = axes[rows, 0]
    ax.imshow(image, cmap="gray_r")
    ax.set_title(f"input: {label}", fontsize=7)
    for k in range(n):
        ax = axes[rows + 1 + k // cols, k % cols]
        ax.imshow(maps[k], cmap="magma")
        ax.set_title(f"response {k}", fontsize=7)
    fig.suptitle("Digits CNN: learned first-layer filters (red +, blue -) and their "
                 "responses", fontsize=9)
    save_figure(fig, path)


def run(cfg: Config, rd: RunDir) -> dict:
    """Train the digits CNN; compare with the issue's small PyTorch CNN and an SVC.

    The seed sets the initial weights, the shuffling and the shifts; the split stays
    fixed (``random_state=0``). When PyTorch is importable, the same network trained the
    same way in PyTorch is measured beside it. Figures: ``curves.png``, ``filters.png``.
    """
    data = load_digits_split()
    X_train = data.X_train.reshape(-1, 1, 8, 8)
    X_test = data.X_test.reshape(-1, 1, 8, 8)
    with single_blas_thread():
        def baselines():
            from sklearn.svm import SVC

            svc = SVC().fit(data.X_train, data.y_train)
            values = {"svc_accuracy": float(svc.score(data.X_test, data.y_test))}
            try:
                values["torch_name"], values["torch_accuracy"] = torch_same_recipe(
                    data, cfg, rd.seed)
            except ImportError:  # PyTorch is optional: the figure is the baseline
                pass
            return {}, values

        _, base = rd.stage("baseline", baselines)
        model = build_cnn(rd.seed, cfg.channels, cfg.max_shift)
        history, test = fit_classifier(rd, model, nn.cross_entropy, (X_train, data.y_train),
                                       (X_test, data.y_test), cfg)

    plot_curves(history, "Digits CNN: learning curves", rd.figure_path("curves"))
    _plot_filters(model, data.X_test[0].reshape(8, 8), int(data.y_test[0]),
                  rd.figure_path("filters"))
    same = (f"; this recipe in PyTorch {base['torch_accuracy']:.4f}"
            if "torch_accuracy" in base else "")
    rd.say(f"  SVC {base['svc_accuracy']:.4f}{same}")
    c1, c2, c3 = cfg.channels
    return {
        "value": test["metric"],
        "baseline_value": PUBLISHED_BASELINE,
        "test_accuracy": test["metric"],
        "test_loss": test["loss"],
        "svc_accuracy": base["svc_accuracy"],
        **{k: base[k] for k in ("torch_name", "torch_accuracy") if k in base},
        "final_loss": history[-1]["loss"],
        "epochs": cfg.epochs,
        "split": DIGITS_SPLIT,
        "model": f"shift({cfg.max_shift}) conv3x3({c1})-conv3x3({c2})-maxpool2-conv3x3({c3})-"
                 f"avgpool-linear(10)",
        "parameters": int(sum(onp.prod(p.shape) for p in model.parameters())),
        "history": {"loss": [h["loss"] for h in history],
                    "test_accuracy": [h["val_metric"] for h in history]},
    }
