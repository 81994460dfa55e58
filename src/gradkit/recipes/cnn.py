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

import json
import math
from pathlib import Path

import numpy as onp

from .. import nn
from ..graph import no_grad
from ..optim import AdamW, cosine
from ._digits import (
    SPLIT,
    DigitsSplit,
    EpochBar,
    RandomShift,
    check_config,
    clear_fit_checkpoint,
    load_digits_split,
    plot_curves,
    single_blas_thread,
)
from ._run import RunDir, new_figure, save_figure

__all__ = ["cnn", "build_cnn", "torch_same_recipe", "ISSUE_BASELINE"]

DEFAULT_EPOCHS = 40
CHANNELS = (16, 32, 64)
MAX_SHIFT = 1
BATCH_SIZE = 32
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-2

ISSUE_BASELINE = ("small PyTorch CNN, 30 epochs (issue figure)", 0.9861)
"""The issue's figure for a small PyTorch CNN on this split (its architecture unstated)."""


def build_cnn(seed: int, channels: tuple[int, int, int] = CHANNELS,
              max_shift: int = MAX_SHIFT) -> nn.Sequential:
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


def torch_same_recipe(data: DigitsSplit, epochs: int = DEFAULT_EPOCHS,
                      seed: int = 0) -> tuple[str, float]:
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
        c1, c2, c3 = CHANNELS
        net = tnn.Sequential(
            tnn.Conv2d(1, c1, 3, padding=1), tnn.ReLU(), tnn.Conv2d(c1, c2, 3, padding=1),
            tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(c2, c3, 3, padding=1), tnn.ReLU(),
            tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(c3, 10))
        with torch.no_grad():
            for p, (_, q) in zip(net.parameters(), build_cnn(seed).named_parameters(),
                                 strict=True):
                p.copy_(torch.from_numpy(onp.asarray(q.data)))
        steps = epochs * math.ceil(len(data.X_train) / BATCH_SIZE)
        opt = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        rng = onp.random.default_rng(seed)
        shift = RandomShift(MAX_SHIFT, (8, 8), rng=rng)
        X = data.X_train.reshape(-1, 1, 8, 8)
        y = torch.from_numpy(data.y_train)
        for _ in range(epochs):
            order = rng.permutation(len(X))
            for i in range(0, len(X), BATCH_SIZE):
                idx = order[i:i + BATCH_SIZE]
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
            f"{torch.__version__} ({epochs} epochs, seed {seed})")
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


def cnn(*, epochs: int | None = None, seed: int = 0, out=None, resume: bool = False,
        verbose: bool = True) -> dict:
    """Train the digits CNN; compare with the issue's small PyTorch CNN and an SVC.

    Parameters
    ----------
    epochs : int, optional
        Training epochs (default 40), batches of 32, AdamW (learning rate 3e-3 decayed
        to 0 by a cosine schedule over the run, weight decay 1e-2), cross-entropy, each
        training image shifted by up to one pixel.
    seed : int, default 0
        Seeds the initial weights, the shuffling and the shifts. The split stays fixed
        (``random_state=0``) so that the baselines compare on the same images.
    out : path, optional
        Output folder (default ``runs/cnn``): ``metrics.json``, ``curves.png``,
        ``filters.png``, ``checkpoint/`` (finished stages, and fit's per-epoch
        checkpoint).
    resume : bool, default False
        Continue a killed run from its checkpoints; the settings must be the same.
    verbose : bool, default True
        Show a progress bar and print a one-line summary.

    Returns
    -------
    dict
        The metrics, as written to ``metrics.json`` (``seconds`` included).
    """
    n_epochs = DEFAULT_EPOCHS if epochs is None else int(epochs)
    run = RunDir("cnn", out, resume)
    if not resume:
        clear_fit_checkpoint(run.checkpoint_dir)
    check_config(run, {"epochs": n_epochs, "seed": int(seed), "channels": list(CHANNELS),
                       "max_shift": MAX_SHIFT, "batch_size": BATCH_SIZE, "lr": LEARNING_RATE,
                       "weight_decay": WEIGHT_DECAY})
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
                    data, n_epochs, seed)
            except ImportError:  # PyTorch is optional: the issue's figure is the baseline
                pass
            return {}, values

        _, base = run.stage("baseline", baselines)
        model = build_cnn(seed)
        steps = n_epochs * math.ceil(len(X_train) / BATCH_SIZE)
        optimizer = AdamW(lr=cosine(LEARNING_RATE, steps), weight_decay=WEIGHT_DECAY)
        bar = EpochBar("cnn") if verbose else None
        try:
            history = nn.fit(model, nn.cross_entropy, optimizer, X_train, data.y_train,
                             epochs=n_epochs, batch_size=BATCH_SIZE, seed=seed,
                             validation=(X_test, data.y_test), metric=nn.accuracy,
                             callbacks=[bar] if bar else [], checkpoint_dir=run.checkpoint_dir,
                             resume=resume, progress=False)
        finally:
            if bar is not None:
                bar.close()
        test = nn.evaluate(model, nn.cross_entropy, X_test, data.y_test, metric=nn.accuracy)

    plot_curves(history, "Digits CNN: learning curves", run.figure_path("curves"))
    _plot_filters(model, data.X_test[0].reshape(8, 8), int(data.y_test[0]),
                  run.figure_path("filters"))
    metrics = {
        "test_accuracy": test["metric"],
        "test_loss": test["loss"],
        "baseline_name": ISSUE_BASELINE[0],
        "baseline_accuracy": ISSUE_BASELINE[1],
        "svc_accuracy": base["svc_accuracy"],
        **{k: base[k] for k in ("torch_name", "torch_accuracy") if k in base},
        "final_loss": history[-1]["loss"],
        "epochs": n_epochs,
        "seed": int(seed),
        "split": SPLIT,
        "model": "shift(1) conv3x3(16)-conv3x3(32)-maxpool2-conv3x3(64)-avgpool-linear(10)",
        "parameters": int(sum(onp.prod(p.shape) for p in model.parameters())),
        "history": {"loss": [h["loss"] for h in history],
                    "test_accuracy": [h["val_metric"] for h in history]},
    }
    metrics = json.loads(run.write_metrics(metrics).read_text(encoding="utf-8"))
    if verbose:
        same = (f"; this recipe in PyTorch {metrics['torch_accuracy']:.4f}"
                if "torch_accuracy" in metrics else "")
        print(f"cnn: test accuracy {metrics['test_accuracy']:.4f} (baseline "
              f"{metrics['baseline_accuracy']:.4f}, {metrics['baseline_name']}; SVC "
              f"{metrics['svc_accuracy']:.4f}{same}); {n_epochs} epochs")
    return metrics
