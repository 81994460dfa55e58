"""What a recipe declares: its :class:`Spec`, and how its ``Config`` is overridden.

A recipe module holds a frozen dataclass ``Config`` (defaults that meet the goal, and a
``Config.smoke()`` for a seconds-long run), a ``SPEC`` and ``run(cfg, rd) -> dict``.
``--set key=value`` on the command line becomes a new ``Config`` through
:func:`override`, which converts each value to the field's declared type.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import types
import typing
from dataclasses import dataclass

from ..errors import GradkitError
from ..validation import check_int, check_real, invalid

__all__ = ["Spec", "ConfigError", "MissingDependency", "override", "config_dict",
           "at_least", "positive", "in_range", "refuse"]

# Import name -> the name pip knows it by, for the message about a missing extra.
_PIP_NAMES = {"sklearn": "scikit-learn", "PIL": "Pillow", "skfmm": "scikit-fmm"}


class ConfigError(GradkitError):
    """A recipe setting is unknown or has a value of the wrong type or range."""


class MissingDependency(GradkitError):
    """A recipe needs an optional package that is not installed."""


@dataclass(frozen=True)
class Spec:
    """What a recipe measures and against what.

    Parameters
    ----------
    name : str
        The ``gradkit run NAME`` name (the module's name).
    summary : str
        One line for ``gradkit list``.
    metric : str
        The primary metric's name; ``metrics.json`` holds its figure as ``value``.
    higher_is_better : bool
    goal : float or str
        The figure to reach: at least ``goal`` (higher is better) or at most ``goal``.
        A string names a figure measured in each run instead (the seasonal-naive
        forecast's error, say): ``run`` then returns it as ``"goal"``.
    baseline : str
        The baseline a practitioner would use, named.
    baseline_source : {"measured", "published"}
        ``"measured"``: recomputed in every run; ``"published"``: a quoted figure.
    requires : tuple of str
        Import names of the optional packages the recipe needs.
    timing_keys : tuple of str
        Keys of ``metrics.json`` that measure time or speed; every other key is
        deterministic for a given seed and config.
    extra : str
        The pip extra that installs ``requires``.

    Examples
    --------
    >>> spec = Spec("toy", "a toy", "error", False, 1e-12, "exact", "measured", requires=())
    >>> spec.goal_met(3e-13), spec.goal_met(2e-12), spec.goal_text()
    (True, False, '<= 1e-12')
    """

    name: str
    summary: str
    metric: str
    higher_is_better: bool
    goal: float | str
    baseline: str
    baseline_source: str
    requires: tuple[str, ...] = ("sklearn", "matplotlib")
    timing_keys: tuple[str, ...] = ("seconds",)
    extra: str = "recipes"

    def __post_init__(self) -> None:
        if self.baseline_source not in ("measured", "published"):
            raise GradkitError(f"Spec {self.name!r}: baseline_source must be 'measured' or "
                               f"'published', got {self.baseline_source!r}")
        if "seconds" not in self.timing_keys:
            raise GradkitError(f"Spec {self.name!r}: timing_keys must include 'seconds'")

    def goal_met(self, value, goal: float | None = None) -> bool:
        """Whether ``value`` reaches the goal (the spec's, or ``goal`` measured in a run).

        A missing or NaN value or goal does not.
        """
        goal = self.goal if goal is None else goal
        if value is None or isinstance(goal, str) or not (math.isfinite(value)
                                                          and math.isfinite(goal)):
            return False
        return value >= goal if self.higher_is_better else value <= goal

    def goal_text(self, goal: float | str | None = None) -> str:
        """``">= 0.975"``, or the measured goal's description."""
        goal = self.goal if goal is None else goal
        shown = goal if isinstance(goal, str) else f"{goal:g}"
        return f"{'>=' if self.higher_is_better else '<='} {shown}"

    def missing(self) -> list[str]:
        """The required packages that cannot be imported here."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def check_requirements(self) -> None:
        """Raise :class:`MissingDependency` naming the missing packages and the pip command."""
        missing = self.missing()
        if missing:
            names = ", ".join(_PIP_NAMES.get(m, m) for m in missing)
            raise MissingDependency(f"recipe {self.name} needs {names}, not installed here: "
                                    f"pip install 'gradkit[{self.extra}]'")


def config_dict(cfg) -> dict:
    """A Config as JSON-ready data: tuples become lists."""
    return {f.name: _jsonable(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}


def _jsonable(v):
    return [_jsonable(x) for x in v] if isinstance(v, tuple | list) else v


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(text: str, tp, field: str):
    """``text`` as a value of type ``tp``, or ValueError."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and text.strip().lower() in ("none", "null", ""):
            return None
        errors = []
        for arm in args:
            if arm is type(None):
                continue
            try:
                return _convert(text, arm, field)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError("; ".join(errors))
    if origin is typing.Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise ValueError(f"one of {', '.join(map(str, args))}")
    if origin is tuple:
        parts = [p for p in text.split(",") if p.strip()]
        item = args[0] if args else str
        if len(args) == 2 and args[1] is Ellipsis or len(args) <= 1:
            return tuple(_convert(p.strip(), item, field) for p in parts)
        if len(parts) != len(args):
            raise ValueError(f"{len(args)} comma-separated values")
        return tuple(_convert(p.strip(), a, field) for p, a in zip(parts, args))
    if tp is bool:
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ValueError("true or false")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError("an integer") from None
    if tp is float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError("a number") from None
        if not math.isfinite(value):
            raise ValueError("a finite number")
        return value
    if tp is str:
        return text
    raise ValueError(f"a {_type_name(tp)} (not settable from the command line)")


def override(cfg, assignments: list[str], recipe: str):
    """A copy of ``cfg`` with ``key=value`` assignments applied, each converted and checked.

    Parameters
    ----------
    cfg : a recipe's Config instance
    assignments : list of str
        ``"key=value"`` items; tuples are written comma-separated (``hidden=256,128``),
        an optional value as ``none``.
    recipe : str
        The recipe's name, for messages.

    Raises
    ------
    ConfigError
        An item without ``=``, an unknown key (the valid ones are named), a value of the
        wrong type, or one the Config refuses.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Config:
    ...     epochs: int = 3
    ...     hidden: tuple[int, ...] = (8,)
    >>> override(Config(), ["epochs=5", "hidden=16,4"], "toy")
    Config(epochs=5, hidden=(16, 4))
    >>> override(Config(), ["lr=1"], "toy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gradkit.recipes._spec.ConfigError: --set lr=1: toy has no setting 'lr' (its settings: ...)
    """
    hints = typing.get_type_hints(type(cfg))
    fields = [f.name for f in dataclasses.fields(cfg)]
    changes = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError(f"--set {item}: expected key=value (settings of {recipe}: "
                              f"{', '.join(fields)})")
        if key not in fields:
            raise ConfigError(f"--set {item}: {recipe} has no setting {key!r} (its settings: "
                              f"{', '.join(fields)})")
        try:
            changes[key] = _convert(text, hints[key], key)
        except ValueError as e:
            raise ConfigError(f"--set {item}: {key} must be {e}, got {text!r}") from None
    try:
        return dataclasses.replace(cfg, **changes)
    except ConfigError as e:
        raise ConfigError(f"--set: {e}") from None


def _call(cfg) -> str:
    """The public name of a recipe's Config, for messages: ``recipes.mlp.Config``."""
    return f"{type(cfg).__module__.removeprefix('gradkit.')}.{type(cfg).__qualname__}"


def refuse(cfg, name: str, requirement: str) -> ConfigError:
    """The error for field ``name`` of ``cfg``, in gradkit's one message convention."""
    return invalid(_call(cfg), name, requirement, getattr(cfg, name), error=ConfigError)


def at_least(cfg, name: str, low: float) -> None:
    """Refuse ``cfg.name < low`` (an integer field must hold an integer)."""
    value = getattr(cfg, name)
    if isinstance(value, int) and not isinstance(value, bool):
        check_int(value, name, _call(cfg), low=int(low), error=ConfigError)
    else:
        check_real(value, name, _call(cfg), low=low, error=ConfigError)


def positive(cfg, name: str) -> None:
    """Refuse ``cfg.name <= 0``."""
    check_real(getattr(cfg, name), name, _call(cfg), low=0.0, low_open=True, error=ConfigError)


def in_range(cfg, name: str, low: float, high: float) -> None:
    """Refuse ``cfg.name`` outside ``[low, high]``."""
    check_real(getattr(cfg, name), name, _call(cfg), low=low, high=high, error=ConfigError)
