"""Figure helpers: off-screen matplotlib figures, saved alike, and learning curves."""

from __future__ import annotations

from pathlib import Path

__all__ = ["new_figure", "save_figure", "plot_curves"]


def new_figure(*args, **kwargs):
    """``plt.subplots(*args, **kwargs)`` drawn off-screen (no display is needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save_figure(fig, path: Path, dpi: int = 110) -> None:
    """Save ``fig`` as a PNG and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_curves(history: list[dict], title: str, path: Path,
                loss_label: str = "cross-entropy") -> None:
    """Training and held-out loss and accuracy, per epoch (a training loop's history)."""
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
