"""What every recipe shares: its output folder, metrics.json, stage checkpoints, plots."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..backend import xp
from ..errors import GradkitError, NaNError
from ..nn.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["RunDir", "REQUIRED_METRICS"]

REQUIRED_METRICS = ("test_accuracy", "baseline_name", "baseline_accuracy", "final_loss",
                    "epochs", "seconds")


class RunDir:
    """A recipe's output folder: metrics, plots and a checkpoint of finished stages.

    A recipe is a sequence of deterministic stages (fit the baseline, run one optimiser,
    ...). Each finished stage's arrays and numbers are checkpointed atomically (npz +
    JSON, never pickle), so a run killed mid-way and started again with ``resume=True``
    skips what is done and ends with the same metrics.
    """

    def __init__(self, name: str, out=None, resume: bool = False):
        self.name = name
        self.path = Path(out) if out is not None else Path("runs") / name
        self.path.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()
        self.arrays: dict = {}
        self.meta: dict = {"recipe": name, "stages": {}}
        if resume:
            found = load_checkpoint(self.path / "checkpoint", "stages")
            if found is not None:
                self.arrays, self.meta = found
        elif (self.path / "checkpoint").exists():
            for f in (self.path / "checkpoint").glob("stages.*"):
                f.unlink()

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoint"

    def stage(self, key: str, compute: Callable[[], tuple[dict, dict]]) -> tuple[dict, dict]:
        """The arrays and numbers of stage ``key``: from the checkpoint, or computed now."""
        if key in self.meta["stages"]:
            names = self.meta["stages"][key]["arrays"]
            return ({n: self.arrays[f"{key}/{n}"] for n in names},
                    self.meta["stages"][key]["values"])
        arrays, values = compute()
        for n, a in arrays.items():
            a = xp.asarray(a)
            if a.dtype.kind == "f" and not xp.isfinite(a).all():
                raise NaNError(f"{self.name}: stage '{key}' produced a non-finite {n!r}; the "
                               f"checkpoint keeps the stages before it")
            self.arrays[f"{key}/{n}"] = a
        self.meta["stages"][key] = {"arrays": list(arrays), "values": values}
        save_checkpoint(self.checkpoint_dir, self.arrays, self.meta, name="stages")
        return arrays, values

    def write_metrics(self, metrics: dict) -> Path:
        missing = [k for k in REQUIRED_METRICS if k not in metrics and k != "seconds"]
        if missing:
            raise GradkitError(f"{self.name}: metrics lack {missing}")
        metrics = dict(metrics, seconds=round(time.perf_counter() - self.started, 3))
        target = self.path / "metrics.json"
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".metrics.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=2, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; metrics are for everyone to read
        os.replace(tmp, target)
        return target

    def figure_path(self, stem: str) -> Path:
        return self.path / f"{stem}.png"


def new_figure(*args, **kwargs):
    """A matplotlib figure drawn off-screen (no display is needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
