"""The registry: every module of :mod:`gradkit.recipes` not starting with ``_`` is a recipe.

Adding a recipe is adding one module with ``Config``, ``SPEC`` and ``run``; the command
line, the scoreboard, the report and the contract test find it here.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

from ..errors import GradkitError
from ._rundir import RunDir
from ._spec import Spec

__all__ = ["names", "get", "run", "UnknownRecipe"]


class UnknownRecipe(GradkitError):
    """No recipe has that name."""


@functools.cache
def names() -> tuple[str, ...]:
    """The recipes' names, sorted.

    Examples
    --------
    >>> "mlp" in names() and "diagnosis" in names()
    True
    """
    package = Path(__file__).parent
    return tuple(sorted(m.name for m in pkgutil.iter_modules([str(package)])
                        if not m.ispkg and not m.name.startswith("_")))


@functools.cache
def get(name: str) -> ModuleType:
    """The recipe module ``name``, checked to hold ``Config``, ``SPEC`` and ``run``."""
    if name not in names():
        raise UnknownRecipe(f"unknown recipe '{name}' (known: {', '.join(names())})")
    module = importlib.import_module(f"{__package__}.{name}")
    spec = getattr(module, "SPEC", None)
    config = getattr(module, "Config", None)
    problems = []
    if not isinstance(spec, Spec) or spec.name != name:
        problems.append(f"SPEC must be a Spec named {name!r}")
    if config is None or not dataclasses.is_dataclass(config) or \
            not config.__dataclass_params__.frozen or not callable(getattr(config, "smoke", None)):
        problems.append("Config must be a frozen dataclass with a smoke() classmethod")
    if not callable(getattr(module, "run", None)):
        problems.append("run(cfg, rd) is missing")
    if problems:
        raise GradkitError(f"recipe module {module.__name__}: {'; '.join(problems)}")
    return module


def run(name: str, config=None, *, seed: int = 0, out=None, resume: bool = False,
        verbose: bool = True) -> dict:
    """Run recipe ``name`` and return its metrics (as written to ``metrics.json``).

    Parameters
    ----------
    name : str
        A name from :func:`names`.
    config : the recipe's Config, optional
        Default: ``Config()``, the settings that meet the recipe's goal. ``Config.smoke()``
        is a seconds-long run.
    seed : int, default 0
    out : path, optional
        Output folder, default ``runs/<name>``.
    resume : bool, default False
        Continue a killed run from its checkpoint (same seed and config).
    verbose : bool, default True
        Progress bars and a summary line.

    Returns
    -------
    dict
        The metrics (schema 2: ``value``, ``baseline_value``, ``goal_met``...).
    """
    module = get(name)
    spec: Spec = module.SPEC
    cfg = module.Config() if config is None else config
    if not isinstance(cfg, module.Config):
        raise GradkitError(f"run({name!r}): config must be a {module.__name__}.Config, got "
                           f"{type(cfg).__name__}")
    spec.check_requirements()
    rd = RunDir(spec, cfg, seed=seed, out=out, resume=resume, verbose=verbose)
    metrics = rd.write_metrics(module.run(cfg, rd))
    rd.say(summary_line(metrics))
    return metrics


def summary_line(m: dict) -> str:
    """One line: the recipe's figure beside its baseline and goal."""
    base = ("no baseline figure" if m["baseline_value"] is None
            else f"baseline {fmt(m['baseline_value'])}, {m['baseline_name']}, "
                 f"{m['baseline_source']}")
    goal = f"{'>=' if m['higher_is_better'] else '<='} {m['goal']:g}"
    met = "met" if m["goal_met"] else "NOT met"
    return (f"{m['recipe']}: {m['metric']} {fmt(m['value'])} (goal {goal}: {met}; {base}) "
            f"in {m['seconds']:.1f} s")


def fmt(v) -> str:
    """A figure for people: 4 decimals in [1e-3, 1e4), else 3 significant digits.

    Examples
    --------
    >>> fmt(0.98888), fmt(3.5e-16), fmt(0.0), fmt(None)
    ('0.9889', '3.50e-16', '0', '-')
    """
    if v is None:
        return "-"
    v = float(v)
    if v == 0:
        return "0"
    return f"{v:.4f}" if 1e-3 <= abs(v) < 1e4 else f"{v:.2e}"


def failure_text(exc: BaseException) -> str:
    """The cause of a failure, on one line (for the CLI and the scoreboard)."""
    if isinstance(exc, GradkitError):
        return " ".join(str(exc).split())
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        reason = f"{exc.strerror}: {where}" if where else exc.strerror
        return f"cannot read or write a file ({type(exc).__name__}: {reason})"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_all(*, seed: int = 0, out=None, resume: bool = False, verbose: bool = True,
            smoke: bool = False) -> dict[str, str]:
    """Run every recipe (``out/<name>``, default ``runs/<name>``); return the failures.

    A recipe that fails does not stop the others: its one-line cause is returned,
    keyed by name, and shown in the scoreboard. ``smoke=True`` runs ``Config.smoke()``.
    """
    root = Path("runs") if out is None else Path(out)
    failures = {}
    for name in names():
        try:
            module = get(name)
            cfg = module.Config.smoke() if smoke else module.Config()
            run(name, cfg, seed=seed, out=root / name, resume=resume, verbose=verbose)
        except Exception as e:  # one recipe's failure is reported, the others still run
            failures[name] = failure_text(e)
            if verbose:
                print(f"{name}: failed ({failures[name]})", flush=True)
    return failures
