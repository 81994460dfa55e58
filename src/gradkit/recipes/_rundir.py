"""A recipe's output folder: settings, stage checkpoints, plots and ``metrics.json``."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..backend import xp
from ..errors import GradkitError, NaNError
from ..nn.checkpoint import load_checkpoint, save_checkpoint
from ._spec import Spec, config_dict

__all__ = ["RunDir", "SCHEMA", "SCHEMA_KEYS", "write_text_atomic"]

SCHEMA = 2
SCHEMA_KEYS = ("schema", "recipe", "seed", "config", "metric", "value", "higher_is_better",
               "goal", "baseline_name", "baseline_value", "baseline_source", "seconds")
"""The top-level keys every recipe's ``metrics.json`` starts with, in this order."""


class RunDir:
    """A recipe's output folder and the checkpoint of its finished stages.

    A recipe is a sequence of deterministic stages (fit the baseline, train the model,
    draw the figures). Each finished stage's arrays and numbers are checkpointed
    atomically (npz + JSON, never pickle), so a run killed at any moment and started
    again with ``resume=True`` skips what is done and ends with the same metrics. The
    seed and config are the first thing saved; resuming with different ones is refused.

    Parameters
    ----------
    spec : Spec
    config : the recipe's Config
    seed : int, default 0
    out : path, optional
        The folder (default ``runs/<name>``), created if missing.
    resume : bool, default False
        Continue from the folder's checkpoint. Without it, any checkpoint there (stages,
        and a training loop's) is removed first: a fresh run never resumes by accident.
    verbose : bool, default True
        Whether :meth:`say` prints and progress bars are shown.
    """

    def __init__(self, spec: Spec, config, *, seed: int = 0, out=None, resume: bool = False,
                 verbose: bool = True) -> None:
        self.spec = spec
        self.name = spec.name
        self.config = config
        self.seed = int(seed)
        self.verbose = verbose
        self.path = Path(out) if out is not None else Path("runs") / spec.name
        self.path.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()
        settings = {"seed": self.seed, "config": config_dict(config)}
        found = load_checkpoint(self.checkpoint_dir, "stages") if resume else None
        if found is not None:
            _check_same_settings(self.path, found[1].get("settings", {}), settings)
            self.arrays, self.meta = found
        else:
            self._clear()
            self.arrays = {}
            self.meta = {"recipe": spec.name, "settings": settings, "stages": {}}
            save_checkpoint(self.checkpoint_dir, self.arrays, self.meta, name="stages")
        self.resume = found is not None
        (self.path / "metrics.json").unlink(missing_ok=True)  # never left looking current

    @property
    def checkpoint_dir(self) -> Path:
        """Where stages (``stages.*``) and a training loop's checkpoint live."""
        return self.path / "checkpoint"

    def _clear(self) -> None:
        if self.checkpoint_dir.is_dir():
            # The JSON files (the commits) first, so a crash here leaves nothing loadable.
            for f in sorted(self.checkpoint_dir.iterdir(), key=lambda p: p.suffix != ".json"):
                if f.is_file():
                    f.unlink()

    def stage(self, key: str, compute: Callable[[], tuple[dict, dict]]) -> tuple[dict, dict]:
        """The arrays and numbers of stage ``key``: from the checkpoint, or computed now.

        ``compute()`` returns ``(arrays, values)``: a dict of arrays (saved in npz) and a
        dict of JSON-ready numbers and strings.
        """
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

    def figure_path(self, stem: str) -> Path:
        return self.path / f"{stem}.png"

    def say(self, text: str) -> None:
        """Print ``text`` when the run is verbose."""
        if self.verbose:
            print(text, flush=True)

    def write_metrics(self, result: dict) -> dict:
        """Write ``metrics.json`` (schema 2) from a recipe's result; return what was written.

        ``result`` holds ``value`` (the primary metric's figure), ``baseline_value``,
        optionally ``baseline_name`` (default: the spec's), then recipe-specific keys.
        """
        result = dict(result)
        value = _number(result.pop("value"), f"{self.name}: the primary metric "
                                             f"{self.spec.metric!r}")
        baseline = result.pop("baseline_value")
        if isinstance(self.spec.goal, str):  # measured in the run
            if "goal" not in result:
                raise GradkitError(f"{self.name}: its goal is measured in the run "
                                   f"({self.spec.goal}), but run() returned no 'goal'")
            goal = _number(result.pop("goal"), f"{self.name}: the goal")
        else:
            goal = self.spec.goal
        metrics = {
            "schema": SCHEMA, "recipe": self.name, "seed": self.seed,
            "config": config_dict(self.config), "metric": self.spec.metric, "value": value,
            "higher_is_better": self.spec.higher_is_better, "goal": goal,
            "baseline_name": result.pop("baseline_name", self.spec.baseline),
            "baseline_value": None if baseline is None else _number(
                baseline, f"{self.name}: the baseline's figure"),
            "baseline_source": self.spec.baseline_source,
            "seconds": round(time.perf_counter() - self.started, 3),
            "goal_met": self.spec.goal_met(value, goal),
        }
        clash = sorted(set(result) & set(metrics))
        if clash:
            raise GradkitError(f"{self.name}: recipe keys {clash} clash with the schema's")
        metrics.update(result)
        try:
            text = json.dumps(metrics, indent=2, allow_nan=False, default=_plain) + "\n"
        except ValueError as e:
            raise NaNError(f"{self.name}: a metric is NaN or infinite ({e})") from None
        write_text_atomic(self.path / "metrics.json", text)
        return json.loads(text)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these files are for everyone to read
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _number(value, what: str) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise NaNError(f"{what} is {v}")
    return v


def _plain(value):
    """JSON for NumPy scalars and arrays."""
    if isinstance(value, xp.generic):
        return value.item()
    if isinstance(value, xp.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _check_same_settings(path: Path, was: dict, now: dict) -> None:
    if was == now:
        return
    changed = {}
    if was.get("seed") != now["seed"]:
        changed["seed"] = (was.get("seed"), now["seed"])
    old = was.get("config", {})
    for k, v in now["config"].items():
        if old.get(k) != v:
            changed[k] = (old.get(k), v)
    raise GradkitError(f"cannot resume {path}: it was started with different settings "
                       f"(was, now): {changed}; rerun without --resume, or with the original "
                       f"settings")
