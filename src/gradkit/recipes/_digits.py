"""What the two digits recipes (``mlp``, ``cnn``) share: the split, augmentation, BLAS
threads, a progress bar and the learning-curve plot."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from .. import nn
from ..errors import GradkitError
from ..graph import Tensor
from ._run import RunDir, new_figure, save_figure

__all__ = ["DigitsSplit", "load_digits_split", "RandomShift", "single_blas_thread",
           "EpochBar", "check_config", "clear_fit_checkpoint", "plot_curves", "SPLIT"]

SPLIT = "stratified 80/20, train_test_split(test_size=0.2, stratify=y, random_state=0)"


@dataclass
class DigitsSplit:
    """The digits split: pixels scaled to [0, 1] (divided by 16), float32, labels int64."""

    X_train: onp.ndarray
    X_test: onp.ndarray
    y_train: onp.ndarray
    y_test: onp.ndarray


def load_digits_split() -> DigitsSplit:
    """scikit-learn's bundled digits (1797 images 8x8), split 80/20 as the issue's baselines.

    The split is fixed (``random_state=0``, stratified) whatever the recipe's seed, so
    that every model is compared on the same 360 held-out images. Pixels (0..16) are
    divided by 16, for gradkit's models and the scikit-learn baselines alike.

    Returns
    -------
    DigitsSplit
        ``X_*`` of shape ``(n, 64)``, float32 in [0, 1]; ``y_*`` int64 labels 0-9.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(onp.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y.astype(onp.int64), test_size=0.2,
                                              stratify=y, random_state=0)
    return DigitsSplit(X_tr, X_te, y_tr, y_te)


class RandomShift(nn.Module):
    """Translate each input image by up to ``max_shift`` pixels in training mode.

    Each image of the batch is moved by its own offsets ``(dy, dx)``, drawn uniformly
    from ``{-max_shift, ..., max_shift}``, the uncovered border filled with zeros; in
    evaluation mode the layer is the identity. Like :class:`~gradkit.nn.Dropout` it
    declares ``stochastic = True``, so :func:`gradkit.nn.fit` lends it its generator:
    the shifts are reproducible and their state is in fit's checkpoints.

    It acts on the input arrays (images of shape ``(N, H*W)`` or ``(N, 1, H, W)``) and
    is not differentiated: put it first.

    Parameters
    ----------
    max_shift : int, default 1
    image_shape : (int, int), default (8, 8)
    rng : numpy.random.Generator or int, optional

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) + 1
    >>> shift = RandomShift(1, (4, 4), rng=0)
    >>> y = shift(x)
    >>> y.shape, bool(np.all(shift.eval()(x) == x))
    ((1, 1, 4, 4), True)
    """

    stochastic = True

    def __init__(self, max_shift: int = 1, image_shape: tuple[int, int] = (8, 8), *,
                 rng=None) -> None:
        super().__init__()
        if int(max_shift) < 0:
            raise GradkitError(f"RandomShift: max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)
        self.image_shape = (int(image_shape[0]), int(image_shape[1]))
        self.rng = nn.init.as_generator(rng)

    def forward(self, x):
        if isinstance(x, Tensor):
            raise GradkitError("RandomShift: takes the input arrays, not a Tensor (it is "
                               "not differentiated; put it first)")
        if not self.training or self.max_shift == 0:
            return x
        x = onp.asarray(x)
        h, w = self.image_shape
        s, n = self.max_shift, len(x)
        if x.size != n * h * w:
            raise GradkitError(f"RandomShift: expected images of {h}x{w} pixels, got input "
                               f"shape {x.shape}")
        padded = onp.pad(x.reshape(n, h, w), ((0, 0), (s, s), (s, s)))
        windows = onp.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(1, 2))
        dy, dx = self.rng.integers(0, 2 * s + 1, size=(2, n))
        return windows[onp.arange(n), dy, dx].reshape(x.shape)

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}, image_shape={self.image_shape}"


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run BLAS on one thread inside the block (threadpoolctl, a scikit-learn dependency).

    The matrices of these recipes are small (batches of 32): with several BLAS threads
    on a busy 2-core machine, the digits MLP's training measured 60 times slower
    (90 s against 1.5 s) than on one.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn installs it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


class EpochBar(nn.Callback):
    """One tqdm progress bar over all of a :func:`~gradkit.nn.fit` run's steps."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar = None

    def on_train_begin(self, ctx: nn.FitContext) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=ctx.epochs * ctx.steps_per_epoch, initial=ctx.step,
                        desc=self.desc, unit="step", dynamic_ncols=True)

    def on_step_end(self, ctx: nn.FitContext) -> None:
        self.bar.update(1)

    def on_epoch_end(self, ctx: nn.FitContext) -> None:
        shown = {"epoch": f"{ctx.epoch}/{ctx.epochs}", "loss": f"{ctx.logs['loss']:.4f}"}
        if "val_metric" in ctx.logs:
            shown["test_acc"] = f"{ctx.logs['val_metric']:.4f}"
        self.bar.set_postfix(shown)

    def on_train_end(self, ctx: nn.FitContext) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def check_config(run: RunDir, config: dict) -> None:
    """Record the run's settings as a stage; on resume, refuse different settings."""
    _, found = run.stage("config", lambda: ({}, config))
    if found != config:
        changed = {k: (found.get(k), v) for k, v in config.items() if found.get(k) != v}
        raise GradkitError(f"cannot resume {run.path}: it was started with different "
                           f"settings (was, now): {changed}; rerun without --resume, or with "
                           f"the original settings")


def clear_fit_checkpoint(directory: Path) -> None:
    """Remove a training checkpoint left by an earlier run (a fresh run must not resume)."""
    for name in ("checkpoint.json", "checkpoint.npz", "checkpoint.prev.npz"):
        (directory / name).unlink(missing_ok=True)  # the JSON (the commit) first


def plot_curves(history: list[dict], title: str, path: Path,
                loss_label: str = "cross-entropy") -> None:
    """Training and held-out loss and accuracy, per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(9.6, 3.8))
    ax1.semilogy(epochs, [h["loss"] for h in history], label="training (mean over the epoch)")
    ax1.semilogy(epochs, [h["val_loss"] for h in history], label="held-out")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel(loss_label)
    ax1.legend()
    ax2.plot(epochs, [h["metric"] for h in history], label="training (as trained, mean)")
    ax2.plot(epochs, [h["val_metric"] for h in history], label="held-out")
    ax2.set_ylim(0.85, 1.0)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.legend(loc="lower right")
    fig.suptitle(title)
    save_figure(fig, path)

