"""Precision farming: when to plant corn at Clemson, SC, and the US corn-yield trend.

**The planting day.** 91 years of NOAA daily temperatures at Clemson, SC (cleaned by
:mod:`gradkit.recipes.shared.weather`: gaps filled, implausible values flagged) give
each year's growing degree days (base 50 F, cap 86 F: the corn convention). The yield
proxy of planting on day ``d`` in year ``y`` is the GDD accumulated from ``d`` until the
first autumn frost (the first day after 1 July with a minimum <= 32 F), capped at the
crop's requirement ``R`` and divided by ``R``; zero if a killing frost (<= 28 F) falls in
the 10 days after planting. The decision maximises its mean over the years. That
objective is a step function of the day; a relaxation makes it smooth (the day
continuous, cumulative GDD interpolated linearly, sigmoids for the frost window and
softplus for the cap) and gradient ascent (gradkit's reverse mode and Adam) climbs it as
its sharpness is annealed. Exhaustive search over every day of the year checks the day
it lands on.

**The yield trend.** US corn yields 1866-2014 (USDA-NASS and FAOSTAT, via Our World in
Data) fitted with a continuous piecewise-linear trend whose breakpoint years are
continuous parameters: the slopes are profiled out by least squares (variable
projection), the breakpoints move by gradient (smooth softplus hinges, sharpened, then
L-BFGS on exact hinges), and an exhaustive search over a 0.01-year grid of breakpoints
checks the fit. Every segment spans at least ``min_segment_years`` (10): fitted on
1866-2004, that trend's forecast of 2005-2014 is compared with a straight line fitted from
1940. The unconstrained least squares (segments of at least one year, the shortest that
keeps every segment's line identifiable from yearly data) is fitted and checked the same
way and reported beside it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from .. import numpy as gnp
from ..optim import LBFGS, Adam, cosine
from ..transforms import grad
from ..validation import invalid
from ._rundir import RunDir
from ._spec import Spec, at_least, in_range, positive, refuse
from .shared import weather
from .shared.figures import new_figure, save_figure

__all__ = ["Config", "SPEC", "run", "Season", "season", "exact_objective",
           "relaxed_objective", "plant_by_ascent", "load_corn_yields", "fit_trend",
           "grid_search_trend", "trend_sse", "CORN_CSV"]

CORN_CSV = Path(__file__).parent / "data" / "crop_yield" / "us_corn_yield_t_per_ha_1866_2014.csv"
_WEATHER_YEARS = (1930, 2020)
_CORN_YEARS = (1866, 2014)
# A segment of at least a year holds a data year beyond its start (the data are yearly),
# which determines its line given the previous segment's; a shorter one can hold none, and
# two hinges that close approximate a jump: the least squares of the trend without a
# minimum segment length, as far as it is identifiable.
_IDENTIFIABLE_SEGMENT_YEARS = 1.0
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SPEC = Spec(
    name="farming",
    summary="Corn planting day at Clemson, SC by gradient ascent on a relaxed GDD yield "
            "proxy, equal to exhaustive search; US corn-yield trend breakpoints",
    metric="mean_yield_proxy", higher_is_better=True,
    goal="the exhaustive search's optimum (measured in the run)",
    baseline="exhaustive search over every day of the year",
    baseline_source="measured", requires=("matplotlib",),
    timing_keys=("seconds", "grid_seconds"))


@dataclass(frozen=True)
class Config:
    """Settings of the farming recipe.

    Parameters
    ----------
    base_f, cap_f : float, default 50 and 86
        Growing degree days: both daily temperatures clipped to ``[base_f, cap_f]``.
    requirement_gdd : float, default 3000
        The crop's requirement ``R``: the proxy is ``min(GDD, R) / R``.
    frost_f : float, default 32
        The first autumn frost (after 1 July) at or below this minimum ends the season.
    killing_frost_f : float, default 28
        A minimum at or below this within ``frost_window_days`` after planting kills the
        crop (proxy 0).
    frost_window_days : int, default 10
    first_year, last_year : int, default 1930 and 2020
        The seasons the decision averages over (the shipped series spans 1930-2020).
    max_interpolated_gap : int, default 7
        Gaps of at most this many days are interpolated, longer ones filled from the
        calendar day's climatology.
    sharpness : tuple of float
        The relaxation's sharpness in 1/day, annealed in this order; the GDD quantities
        use ``sharpness / gdd_per_day`` per GDD. From 1/day: smoother relaxations have a
        single maximum, where every start would meet and then follow the one basin.
    gdd_per_day : float, default 20
        The GDD of a midsummer day: converts the sharpness from days to GDD.
    steps : int, default 50
        Adam steps per sharpness (step size ``1 / sharpness`` days, cosine-decayed).
    starts : tuple of int
        Days of the year (1 = 1 January) the ascent starts from, one ascent each:
        default every 14 days from 1 February to 19 July. At the first sharpness the
        relaxation still has several maxima, and each start follows its own as the
        sharpness grows; the best day by the exact objective is kept.
    fit_until : int, default 2004
        The trend is fitted to 1866..fit_until and forecasts the years after it (to 2014).
    line_from : int, default 1940
        The straight-line baseline is fitted to line_from..fit_until.
    breakpoints : tuple of int, default (1, 2)
        Numbers of breakpoints fitted (each checked against the grid search).
    min_segment_years : float, default 10
        Every segment of the trend (the first and last too) spans at least this many
        years: shorter ones fit a few years' weather, not technology. At least 1 (a
        shorter segment can hold no data year); the run also fits and checks the trend
        with 1-year segments (the unconstrained least squares) and reports it beside.
    hinge_sharpness : tuple of float
        The smooth hinges' sharpness in 1/year, annealed before the exact hinges.
    trend_steps : int, default 50
        Adam steps per hinge sharpness (all starts at once).
    trend_start_spacing : float, default 10
        The starts of the breakpoint fit: every combination of breakpoint years this
        far apart, spanning the feasible range.
    polish : int, default 5
        Points polished by L-BFGS: the best by exact-hinge SSE among the starts and the
        ends of every Adam stage, at most one per cell of ``trend_start_spacing`` years
        (else one basin's points crowd out the others').
    polish_sharpness : tuple of float
        The polish's hinge sharpness (1/year), each by L-BFGS, before the exact hinges.
    grid_step : float, default 0.01
        The exhaustive search's grid of breakpoint years.
    coarse_step : float, default 0.1
        Two or more breakpoints: the whole coarse grid, then the ``grid_step`` grid
        within one coarse step of the best ``refine`` coarse points. ``0`` searches the
        full ``grid_step`` grid (about 20 s for two breakpoints).
    refine : int, default 20
    """

    base_f: float = 50.0
    cap_f: float = 86.0
    requirement_gdd: float = 3000.0
    frost_f: float = 32.0
    killing_frost_f: float = 28.0
    frost_window_days: int = 10
    first_year: int = 1930
    last_year: int = 2020
    max_interpolated_gap: int = 7
    sharpness: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    gdd_per_day: float = 20.0
    steps: int = 50
    starts: tuple[int, ...] = tuple(range(32, 201, 14))
    fit_until: int = 2004
    line_from: int = 1940
    breakpoints: tuple[int, ...] = (1, 2)
    min_segment_years: float = 10.0
    hinge_sharpness: tuple[float, ...] = (0.1, 0.5, 2.0, 10.0)
    trend_steps: int = 50
    trend_start_spacing: float = 10.0
    polish: int = 5
    polish_sharpness: tuple[float, ...] = (1e2, 1e4, 1e6)
    grid_step: float = 0.01
    coarse_step: float = 0.1
    refine: int = 20

    def __post_init__(self) -> None:
        in_range(self, "base_f", -40.0, 120.0)
        in_range(self, "cap_f", -40.0, 130.0)
        if not self.cap_f > self.base_f:
            raise refuse(self, "cap_f", f"above base_f={self.base_f!r}")
        positive(self, "requirement_gdd")
        in_range(self, "frost_f", -40.0, 60.0)
        in_range(self, "killing_frost_f", -40.0, 60.0)
        at_least(self, "frost_window_days", 1)
        at_least(self, "first_year", _WEATHER_YEARS[0])
        in_range(self, "last_year", self.first_year, _WEATHER_YEARS[1])
        at_least(self, "max_interpolated_gap", 1)
        _increasing(self, "sharpness")
        positive(self, "gdd_per_day")
        at_least(self, "steps", 1)
        if not self.starts or any(not 1 <= d <= 366 for d in self.starts):
            raise refuse(self, "starts", "one or more days of the year in 1..366")
        in_range(self, "fit_until", _CORN_YEARS[0] + 20, _CORN_YEARS[1] - 1)
        in_range(self, "line_from", _CORN_YEARS[0], self.fit_until - 2)
        if not self.breakpoints or any(not 1 <= k <= 3 for k in self.breakpoints):
            raise refuse(self, "breakpoints", "one or more of 1, 2, 3")
        in_range(self, "min_segment_years", _IDENTIFIABLE_SEGMENT_YEARS, 100.0)
        span = self.fit_until - _CORN_YEARS[0]
        if (max(self.breakpoints) + 1) * self.min_segment_years > span:
            raise refuse(self, "min_segment_years", f"at most {span} / (breakpoints + 1) "
                                                    f"(the fit spans {span} years)")
        _increasing(self, "hinge_sharpness")
        _increasing(self, "polish_sharpness")
        at_least(self, "trend_steps", 1)
        positive(self, "trend_start_spacing")
        at_least(self, "polish", 1)
        in_range(self, "grid_step", 0.001, 1.0)
        in_range(self, "coarse_step", 0.0, 10.0)
        if self.coarse_step and self.coarse_step < self.grid_step:
            raise refuse(self, "coarse_step", f"0 or at least grid_step={self.grid_step!r}")
        at_least(self, "refine", 1)

    @classmethod
    def smoke(cls) -> Config:
        return cls(sharpness=(1.0, 4.0, 16.0), steps=25, starts=(60, 91, 121, 152),
                   hinge_sharpness=(0.5, 5.0), trend_steps=20, trend_start_spacing=20.0,
                   polish=2, breakpoints=(1, 2), coarse_step=0.5, refine=5)


def _increasing(cfg, name: str) -> None:
    v = getattr(cfg, name)
    if not v or min(v) <= 0 or list(v) != sorted(set(v)):
        raise refuse(cfg, name, "one or more increasing positive numbers")


# -- the planting decision ---------------------------------------------------------------


@dataclass
class Season:
    """The arrays the planting objective needs, one row per year (days 0-based).

    Attributes
    ----------
    years : ndarray of int, shape (n,)
    cum_gdd : ndarray, shape (n, 367)
        ``cum_gdd[y, d]``: GDD of days ``0..d-1`` of year ``y`` (a common year's day 365
        adds nothing).
    frost_day : ndarray of int, shape (n,)
        The first autumn frost's day (365 or 366 when there is none).
    killing : ndarray of float, shape (n, 366)
        1 on the days with a killing frost.
    requirement, window, gdd_per_day : float, int, float
    """

    years: onp.ndarray
    cum_gdd: onp.ndarray
    frost_day: onp.ndarray
    killing: onp.ndarray
    requirement: float
    window: int
    gdd_per_day: float

    @property
    def frost_gdd(self) -> onp.ndarray:
        """Cumulative GDD at the first autumn frost, per year."""
        return self.cum_gdd[onp.arange(len(self.years)), self.frost_day]


def season(dates, tmin, tmax, cfg: Config) -> Season:
    """The planting objective's arrays from a complete daily calendar of cleaned values.

    Examples
    --------
    >>> dates = onp.arange(onp.datetime64("2001-01-01"), onp.datetime64("2002-01-01"))
    >>> warm = onp.full(365, 60.0)
    >>> s = season(dates, warm - 10, warm + 10, Config(first_year=2001, last_year=2001))
    >>> float(s.cum_gdd[0, 365]), int(s.frost_day[0]), int(s.killing.sum())
    (3650.0, 365, 0)
    """
    keep = (dates >= onp.datetime64(f"{cfg.first_year}-01-01")) & (
        dates < onp.datetime64(f"{cfg.last_year + 1}-01-01"))
    dates, tmin, tmax = dates[keep], tmin[keep], tmax[keep]
    gdd = weather.growing_degree_days(tmin, tmax, cfg.base_f, cfg.cap_f)
    years, daily = weather.day_of_year_table(dates, gdd, fill=0.0)
    _, low = weather.day_of_year_table(dates, tmin, fill=onp.inf)
    if len(years) != cfg.last_year - cfg.first_year + 1 or onp.isinf(low[:, :365]).any():
        raise invalid("recipes.farming.season", "dates", f"every day of "
                      f"{cfg.first_year}-{cfg.last_year}", got=f"{len(dates)} days")
    cum = onp.concatenate([onp.zeros((len(years), 1)), onp.cumsum(daily, axis=1)], axis=1)
    leap = onp.isfinite(low[:, 365]).astype(onp.int64)
    day = onp.arange(366)
    # "After 1 July": 1 July is day 181 of a common year, 182 of a leap year.
    autumn = (day > 181 + leap[:, None]) & (low <= cfg.frost_f)
    frost_day = onp.where(autumn.any(axis=1), autumn.argmax(axis=1), 365 + leap)
    killing = (low <= cfg.killing_frost_f).astype(float)
    return Season(years, cum, frost_day, killing, float(cfg.requirement_gdd),
                  int(cfg.frost_window_days), float(cfg.gdd_per_day))


def _parts(s: Season) -> tuple[onp.ndarray, onp.ndarray]:
    """Per year and planting day (0..365): GDD from planting to the first autumn frost,
    and whether a killing frost falls in the window after planting."""
    n = len(s.years)
    day = onp.arange(366)
    grown = onp.maximum(s.frost_gdd[:, None] - s.cum_gdd[:, day], 0.0)
    kills = onp.concatenate([s.killing, onp.zeros((n, s.window + 1))], axis=1)
    count = onp.concatenate([onp.zeros((n, 1)), onp.cumsum(kills, axis=1)], axis=1)
    killed = count[:, day + s.window + 1] - count[:, day + 1] > 0
    return grown, killed


def exact_objective(s: Season) -> onp.ndarray:
    """The mean yield proxy of planting on each day 0..365 (366 values).

    Examples
    --------
    >>> dates = onp.arange(onp.datetime64("2001-01-01"), onp.datetime64("2002-01-01"))
    >>> tmin = onp.where(onp.arange(365) == 100, 20.0, 50.0)  # one killing frost: day 100
    >>> s = season(dates, tmin, tmin + 20, Config(first_year=2001, last_year=2001))
    >>> j = exact_objective(s)
    >>> j[[89, 90, 99, 100]].round(4).tolist()  # killed if planted on days 90-99
    [0.9167, 0.0, 0.0, 0.88]
    """
    grown, killed = _parts(s)
    return onp.mean(onp.minimum(grown, s.requirement) / s.requirement * ~killed, axis=0)


def relaxed_objective(day, s: Season, sharpness: float):
    """The smooth relaxation of :func:`exact_objective` at continuous days ``day``.

    ``day`` (any shape, 0-based, differentiable) is continuous: cumulative GDD is
    interpolated linearly; the positive part and the cap of the GDD become softplus with
    sharpness ``sharpness / gdd_per_day`` per GDD; a killing-frost day ``t`` is in the
    window after planting with weight ``sigmoid(k (t - day - 1/4)) sigmoid(k (day + W +
    3/4 - t))``, and a year survives with probability ``prod_t (1 - weight_t)``. As the
    sharpness ``k`` grows it tends to the exact objective within a quarter day of a
    whole day; between two whole days the window covers both of theirs, so the limit is
    never above the better of the two (edges at a half day would count a frost at each
    end half, and make spurious maxima between days).

    Examples
    --------
    >>> dates = onp.arange(onp.datetime64("2001-01-01"), onp.datetime64("2002-01-01"))
    >>> tmin = onp.where(onp.arange(365) == 100, 20.0, 50.0)
    >>> s = season(dates, tmin, tmin + 20, Config(first_year=2001, last_year=2001))
    >>> days = onp.array([89.0, 95.0, 101.0])
    >>> relaxed_objective(days, s, 64.0).round(4).tolist()
    [0.9167, 0.0, 0.88]
    """
    n = len(s.years)
    day = gnp.asarray(day)
    k = float(sharpness)
    beta = k / s.gdd_per_day
    # One 1-d interpolation for every year at once: year y's curve sits at y*367 + d.
    x = gnp.clip(day, 0.0, 366.0)[..., None] + 367.0 * onp.arange(n)
    cum = gnp.interp(x, onp.arange(n * 367, dtype=float), s.cum_gdd.ravel())
    grown = gnp.logaddexp(0.0, beta * (s.frost_gdd - cum)) / beta
    capped = s.requirement - gnp.logaddexp(0.0, beta * (s.requirement - grown)) / beta
    t = onp.arange(366.0)
    a = k * (t - day[..., None] - 0.25)
    b = k * (day[..., None] + s.window + 0.75 - t)
    # log(1 - sigmoid(a) sigmoid(b)), stably: (e^-a + e^-b + e^-(a+b)) / ((1+e^-a)(1+e^-b)).
    # It depends on the day of the year only; each year sums it over its killing frosts.
    log_miss = (gnp.logaddexp(gnp.logaddexp(-a, -b), -a - b)
                - gnp.logaddexp(0.0, -a) - gnp.logaddexp(0.0, -b))
    survive = gnp.exp(log_miss @ s.killing.T)
    return gnp.mean(survive * capped, axis=-1) / s.requirement


def plant_by_ascent(s: Season, cfg: Config) -> tuple[onp.ndarray, onp.ndarray]:
    """Gradient ascent on the relaxation from every start, annealing the sharpness.

    Adam (elementwise, so the starts climb independently in one batch) takes
    ``cfg.steps`` steps at each sharpness ``k``, of size ``1/k`` days decayed to a tenth
    by a cosine: the relaxation's features are ``1/k`` days wide.

    Returns
    -------
    path : ndarray, shape (stages * steps + 1, starts)
        The 0-based day of every start after every step.
    values : ndarray, shape (stages, starts)
        The relaxed objective at the end of each stage.
    """
    day = onp.asarray(cfg.starts, dtype=float) - 1.0
    path, values = [day], []
    for k in cfg.sharpness:
        opt = Adam(lr=cosine(1.0 / k, cfg.steps, 0.1 / k))
        state = opt.init(day)
        ascent = grad(lambda d, k=k: -gnp.sum(relaxed_objective(d, s, k)))
        for _ in range(cfg.steps):
            day, state = opt.update(ascent(day), state, day)
            path.append(day)
        values.append(relaxed_objective(day, s, k))
    return onp.array(path), onp.array(values)


def _date(day: int) -> str:
    """A 0-based day of the year as a date of a common year: 'Apr 24'."""
    d = onp.datetime64("2001-01-01") + int(day)
    month = int(str(d)[5:7])
    return f"{_MONTHS[month - 1]} {int(str(d)[8:10])}"


def _decide(s: Season, cfg: Config) -> tuple[dict, dict]:
    exact = exact_objective(s)
    best = float(exact.max())
    ties = onp.flatnonzero(exact == best)
    path, relaxed = plant_by_ascent(s, cfg)
    final = onp.clip(onp.rint(path[-1]), 0, 365).astype(onp.int64)
    chosen = int(final[onp.argmax(exact[final])])
    grown, killed = _parts(s)
    values = {
        "planting_day": chosen + 1, "planting_date": _date(chosen),
        "value": float(exact[chosen]), "exhaustive_value": best,
        "exhaustive_days": [int(ties[0]) + 1, int(ties[-1]) + 1],
        "exhaustive_dates": [_date(ties[0]), _date(ties[-1])],
        "ties": int(len(ties)),
        "ascent_days": [round(float(d) + 1, 3) for d in path[-1]],
        "ascent_values": [float(exact[d]) for d in final],
        "relaxed_by_sharpness": {f"{k:g}": [round(float(v), 6) for v in row]
                                 for k, row in zip(cfg.sharpness, relaxed)},
        "fraction_reaching_requirement": float(onp.mean(grown[:, chosen] >= s.requirement)),
        "fraction_killed": float(onp.mean(killed[:, chosen])),
        "mean_gdd_to_frost": round(float(onp.mean(grown[:, chosen])), 2),
        "years": int(len(s.years)),
        "killing_frost_days": int(s.killing.sum()),
    }
    return {"exact": exact, "path": path}, values


# -- the yield trend ---------------------------------------------------------------------


def load_corn_yields(path=None) -> tuple[onp.ndarray, onp.ndarray]:
    """Years and US corn yields (t/ha) from the shipped CSV (Our World in Data layout).

    Examples
    --------
    >>> years, yields = load_corn_yields()
    >>> int(years[0]), int(years[-1]), len(years), round(float(yields[-1]), 2)
    (1866, 2014, 149, 10.73)
    """
    call = "load_corn_yields"
    path = CORN_CSV if path is None else Path(path)
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if not lines or not lines[0].startswith("Entity,Year,"):
        raise invalid(call, "path", "a CSV with the header 'Entity,Year,<yield>'", str(path))
    try:
        cells = onp.array([line.split(",")[1:3] for line in lines[1:]], dtype=float)
    except ValueError as e:
        raise invalid(call, "path", "a year and a number on every line", str(path),
                      got=f"{path}: {e}") from None
    years = cells[:, 0].astype(onp.int64)
    if not (onp.diff(years) > 0).all():
        raise invalid(call, "path", "a CSV with increasing years", str(path))
    return years, cells[:, 1]


@dataclass
class _Scaled:
    """Years mapped to [-1, 1] (well-conditioned normal equations)."""

    t: onp.ndarray
    y: onp.ndarray

    @property
    def centre(self) -> float:
        return float(self.t[0] + self.t[-1]) / 2

    @property
    def scale(self) -> float:
        return float(self.t[-1] - self.t[0]) / 2

    @property
    def u(self) -> onp.ndarray:
        return (self.t - self.centre) / self.scale


def _design(t, breakpoints, sharpness=None):
    """Columns 1, t and one hinge ``(t - b)+`` per breakpoint (softplus when smooth)."""
    t = onp.asarray(t, dtype=float)
    h = t[..., :, None] - gnp.asarray(breakpoints)[..., None, :]
    hinge = (gnp.maximum(h, 0.0) if sharpness is None
             else gnp.logaddexp(0.0, sharpness * h) / sharpness)
    ones = onp.ones(gnp.shape(hinge)[:-1] + (1,))
    return gnp.concatenate([ones, ones * t[..., :, None], hinge], axis=-1)


def trend_sse(t, y, breakpoints) -> float:
    """Least-squares SSE of a continuous piecewise-linear trend with fixed breakpoints.

    Examples
    --------
    >>> t = onp.arange(1900.0, 1921.0)
    >>> y = onp.where(t < 1910, 1.0, 1.0 + 0.5 * (t - 1910))
    >>> trend_sse(t, y, [1910.0]) < 1e-20, trend_sse(t, y, [1905.0]) > 1
    (True, True)
    """
    data = _Scaled(onp.asarray(t, dtype=float), onp.asarray(y, dtype=float))
    u_break = (onp.asarray(breakpoints, dtype=float) - data.centre) / data.scale
    X = _design(data.u, u_break)
    coef, *_ = onp.linalg.lstsq(X, data.y, rcond=None)
    r = data.y - X @ coef
    return float(r @ r)


def _trend_coef(t_fit, y_fit, breakpoints) -> tuple[_Scaled, onp.ndarray, onp.ndarray]:
    data = _Scaled(onp.asarray(t_fit, dtype=float), onp.asarray(y_fit, dtype=float))
    u_break = (onp.asarray(breakpoints, dtype=float) - data.centre) / data.scale
    coef, *_ = onp.linalg.lstsq(_design(data.u, u_break), data.y, rcond=None)
    return data, u_break, coef


def _trend_predict(t_fit, y_fit, breakpoints, t_new) -> onp.ndarray:
    data, u_break, coef = _trend_coef(t_fit, y_fit, breakpoints)
    return _design((onp.asarray(t_new, dtype=float) - data.centre) / data.scale,
                   u_break) @ coef


def _segment_slopes(t_fit, y_fit, breakpoints) -> list[float]:
    """The trend's slope on each segment, t/ha per year."""
    data, _, coef = _trend_coef(t_fit, y_fit, breakpoints)
    return [float(v) for v in onp.cumsum(coef[1:]) / data.scale]


class _Box:
    """Ordered breakpoints with segments of at least ``gap``, from unconstrained ``theta``.

    ``b_k = L_k + (U_k - L_k) sigmoid(theta_k)``, ``L_k = b_{k-1} + gap`` (``b_0`` the
    first point), ``U_k`` leaving room for the segments after it: a smooth bijection onto
    the open feasible set, so that an unconstrained optimiser keeps to it.
    """

    def __init__(self, lo: float, hi: float, K: int, gap: float):
        self.lo, self.hi, self.K, self.gap = lo, hi, K, gap

    def breakpoints(self, theta):
        out, prev = [], self.lo
        for k in range(self.K):  # over the breakpoints (one to three), not the data
            low, high = prev + self.gap, self.hi - (self.K - k) * self.gap
            prev = low + (high - low) * gnp.sigmoid(theta[..., k])
            out.append(prev)
        return gnp.stack(out, axis=-1)

    def theta(self, breakpoints: onp.ndarray) -> onp.ndarray:
        theta = onp.zeros(breakpoints.shape)
        prev = onp.full(breakpoints.shape[:-1], self.lo)
        for k in range(self.K):
            low, high = prev + self.gap, self.hi - (self.K - k) * self.gap
            p = onp.clip((breakpoints[..., k] - low) / (high - low), 1e-3, 1 - 1e-3)
            theta[..., k] = onp.log(p / (1 - p))
            prev = breakpoints[..., k]
        return theta


def _profile_sse(theta, data: _Scaled, box: _Box, sharpness):
    """SSE with the linear coefficients solved exactly (variable projection), per start."""
    u_break = (box.breakpoints(theta) - data.centre) / data.scale
    X = _design(data.u, u_break, None if sharpness is None else sharpness * data.scale)
    Xt = gnp.swapaxes(X, -1, -2)
    coef = gnp.linalg.solve(Xt @ X, (Xt @ data.y)[..., None])[..., 0]
    r = data.y - gnp.sum(X * coef[..., None, :], axis=-1)
    return gnp.sum(r * r, axis=-1)


def fit_trend(t, y, K: int, cfg: Config) -> dict:
    """Breakpoints of the least-squares continuous piecewise-linear trend, by gradient.

    Every combination of start breakpoints ``cfg.trend_start_spacing`` years apart (the
    feasible ones) climbs down at once: Adam on the profiled SSE with softplus hinges of
    each sharpness in ``cfg.hinge_sharpness``. The best ``cfg.polish`` points seen (by
    exact-hinge SSE, over every stage) are polished by L-BFGS, at each hinge sharpness
    in ``cfg.polish_sharpness`` and then on the exact hinges.

    Returns
    -------
    dict
        ``breakpoints`` (years), ``sse`` (least squares at them), ``lbfgs_iterations``
        (the polish's, of the winner) and ``starts`` (how many).
    """
    data = _Scaled(onp.asarray(t, dtype=float), onp.asarray(y, dtype=float))
    m = cfg.min_segment_years
    box = _Box(float(data.t[0]), float(data.t[-1]), K, m)
    n_grid = max(2, math.ceil((data.t[-1] - data.t[0] - 2 * m) / cfg.trend_start_spacing) + 1)
    grid = onp.linspace(data.t[0] + m, data.t[-1] - m, n_grid)
    starts = onp.array([c for c in itertools.combinations(grid, K)
                        if onp.all(onp.diff(c) >= m)]).reshape(-1, K)
    if not len(starts):  # segments too long for the spacing: start evenly spread
        starts = (data.t[0] + (data.t[-1] - data.t[0]) * onp.arange(1, K + 1) / (K + 1))[None]
    theta = box.theta(starts)
    seen = [theta]
    for k in cfg.hinge_sharpness:
        opt = Adam(lr=cosine(0.3, cfg.trend_steps, 0.01))
        state = opt.init(theta)
        step = grad(lambda q, k=k: gnp.sum(_profile_sse(q, data, box, k)))
        for _ in range(cfg.trend_steps):
            theta, state = opt.update(step(theta), state, theta)
        seen.append(theta)
    seen = onp.concatenate(seen)
    exact = _profile_sse(seen, data, box, None)
    order = onp.argsort(exact, kind="stable")
    # The best point of each cell only: Adam brings many starts into one basin, and
    # their near-copies would fill the polish (a two-point last segment's basin went
    # unpolished behind five copies of another).
    cell = onp.floor(onp.asarray(box.breakpoints(seen[order])) / cfg.trend_start_spacing)
    _, first = onp.unique(cell, axis=0, return_index=True)
    best = None
    for i in order[onp.sort(first)][:cfg.polish]:
        q, nit = seen[i], 0
        # L-BFGS needs smoothness: sharper and sharper hinges bring it to within a hair
        # of an optimum at a kink (a breakpoint on a data year), then the exact hinges.
        for k in (*cfg.polish_sharpness, None):
            res = LBFGS(gtol=1e-12, ftol=1e-15).minimize(
                lambda q, k=k: _profile_sse(q[None], data, box, k)[0], q)
            q, nit = res.x, nit + int(res.nit)
        b = onp.asarray(box.breakpoints(q[None])[0])
        sse = trend_sse(data.t, data.y, b)
        if best is None or sse < best[0]:
            best = (sse, b, nit)
    return {"breakpoints": [float(v) for v in best[1]], "sse": best[0],
            "lbfgs_iterations": best[2], "starts": int(len(starts))}


def _suffix(v: onp.ndarray) -> onp.ndarray:
    """``out[j] = v[j:].sum()``, with ``out[len(v)] = 0``."""
    return onp.concatenate([onp.cumsum(v[::-1])[::-1], [0.0]])


class _Profile:
    """SSE of the trend with 1..3 breakpoints in closed form, for batches of them.

    With the columns 1 and u projected out, the hinges' Gram matrix and right-hand side
    come from suffix sums of 1, u, u^2, y and u y beyond each breakpoint: no pass over
    the data per candidate.
    """

    def __init__(self, data: _Scaled):
        u, y = data.u, data.y
        self.data, self.u = data, u
        self.m0, self.s1, self.s2 = _suffix(onp.ones_like(u)), _suffix(u), _suffix(u * u)
        self.sy, self.suy = _suffix(y), _suffix(u * y)
        Z = onp.column_stack([onp.ones_like(u), u])
        self.ginv = onp.linalg.inv(Z.T @ Z)
        self.zy = Z.T @ y
        self.base = float(y @ y - self.zy @ self.ginv @ self.zy)

    def sse(self, breakpoints: onp.ndarray) -> onp.ndarray:
        """SSE for each row of ``breakpoints`` (..., K), increasing along the last axis;
        ``inf`` where the hinges are not independent."""
        a = (breakpoints - self.data.centre) / self.data.scale
        j = onp.searchsorted(self.u, a, side="right")
        m0, s1, s2 = self.m0[j], self.s1[j], self.s2[j]
        e = onp.stack([s1 - a * m0, s2 - a * s1], axis=-1)        # Z'h
        rhs = self.suy[j] - a * self.sy[j] - (e @ self.ginv) @ self.zy
        K = a.shape[-1]
        gram = onp.empty(a.shape + (K,))
        for p in range(K):          # a K x K matrix per candidate, K at most 3
            for q in range(p, K):
                # Breakpoints increase: the product is nonzero beyond the later one.
                hi = max(p, q)
                cross = (s2[..., hi] - (a[..., p] + a[..., q]) * s1[..., hi]
                         + a[..., p] * a[..., q] * m0[..., hi])
                proj = onp.einsum("...i,ij,...j->...", e[..., p, :], self.ginv, e[..., q, :])
                gram[..., p, q] = gram[..., q, p] = cross - proj
        sse = onp.full(a.shape[:-1], onp.inf)
        scale = onp.prod(onp.diagonal(gram, axis1=-2, axis2=-1), axis=-1)
        if K == 2:  # the common case, in closed form: ten times faster than solve
            p, q, r = gram[..., 0, 0], gram[..., 0, 1], gram[..., 1, 1]
            det = p * r - q * q
            ok = det > 1e-10 * onp.maximum(scale, 1e-300)
            r0, r1 = rhs[..., 0][ok], rhs[..., 1][ok]
            sse[ok] = self.base - (r[ok] * r0 * r0 - 2 * q[ok] * r0 * r1
                                   + p[ok] * r1 * r1) / det[ok]
            return sse
        det = onp.linalg.det(gram)
        ok = det > 1e-10 * onp.maximum(scale, 1e-300)
        if ok.any():
            coef = onp.linalg.solve(gram[ok], rhs[ok][..., None])[..., 0]
            sse[ok] = self.base - onp.sum(coef * rhs[ok], axis=-1)
        return sse


def _feasible(grid: onp.ndarray, lo: float, hi: float, m: float) -> onp.ndarray:
    """Rows of ``grid`` (..., K) with segments of at least ``m`` (to rounding)."""
    eps = 1e-9
    gaps = onp.diff(grid, axis=-1)
    return ((grid[..., 0] >= lo + m - eps) & (grid[..., -1] <= hi - m + eps)
            & onp.all(gaps >= m - eps, axis=-1))


def _pairs(values: list[onp.ndarray]) -> onp.ndarray:
    """Every combination of one value per axis, as rows (..., K)."""
    return onp.stack(onp.meshgrid(*values, indexing="ij"), axis=-1).reshape(-1, len(values))


def grid_search_trend(t, y, K: int, cfg: Config) -> dict:
    """Exhaustive search of ``K`` breakpoints on a ``cfg.grid_step``-year grid.

    One breakpoint: the whole grid. More: the whole ``cfg.coarse_step`` grid, then the
    fine grid within one coarse step of the best ``cfg.refine`` coarse points (or, with
    ``coarse_step=0``, the whole fine grid in chunks). The linear coefficients are
    ordinary least squares for every candidate; the winner's SSE is recomputed by
    ``lstsq``.
    """
    data = _Scaled(onp.asarray(t, dtype=float), onp.asarray(y, dtype=float))
    profile = _Profile(data)
    m, lo, hi = cfg.min_segment_years, float(data.t[0]), float(data.t[-1])
    steps = round(1 / cfg.grid_step)
    fine = onp.arange(math.ceil((lo + m) * steps), math.floor((hi - m) * steps) + 1) / steps

    found, evaluated = (math.inf, None), 0

    def search(cands: onp.ndarray) -> None:
        nonlocal found, evaluated
        cands = cands[_feasible(cands, lo, hi, m)]
        evaluated += len(cands)
        if len(cands):
            sse = profile.sse(cands)
            i = int(onp.argmin(sse))
            if sse[i] < found[0]:
                found = (float(sse[i]), cands[i])

    if K == 1:
        search(fine[:, None])
    elif cfg.coarse_step == 0:
        rest = _pairs([fine] * (K - 1))
        rest = rest[_feasible(rest, lo, hi, m)]
        chunk = max(1, 2_000_000 // max(1, len(rest)))
        for start in range(0, len(fine), chunk):   # over chunks of ~2e6 candidates
            first = fine[start:start + chunk]
            later = rest[rest[:, 0] >= first[0] + m - 1e-9]
            search(onp.concatenate([onp.repeat(first, len(later))[:, None],
                                    onp.tile(later, (len(first), 1))], axis=1))
    else:
        coarse = fine[::max(1, round(cfg.coarse_step * steps))]
        cands = _pairs([coarse] * K)
        cands = cands[_feasible(cands, lo, hi, m)]
        sse = profile.sse(cands)
        evaluated += len(cands)
        for centre in cands[onp.argsort(sse, kind="stable")[:cfg.refine]]:
            search(_pairs([fine[onp.abs(fine - c) <= cfg.coarse_step + 1e-9]
                           for c in centre]))
    return {"breakpoints": [round(float(v), 6) for v in found[1]],
            "sse": trend_sse(data.t, data.y, found[1]), "candidates": int(evaluated)}


def _fit_and_check(t, y, K: int, cfg: Config, t_test, rmse) -> tuple[dict, onp.ndarray, float]:
    """One trend fit, its grid check and forecast; and the grid search's seconds."""
    fitted = fit_trend(t, y, K, cfg)
    start = time.perf_counter()
    searched = grid_search_trend(t, y, K, cfg)
    seconds = time.perf_counter() - start
    pred = _trend_predict(t, y, fitted["breakpoints"], t_test)
    gap = (fitted["sse"] - searched["sse"]) / searched["sse"]
    return ({**fitted, "slopes_t_per_ha_per_year": _segment_slopes(t, y, fitted["breakpoints"]),
             "rmse": rmse(pred), "grid": searched, "relative_sse_gap": gap,
             "matches_grid": bool(gap <= 1e-6)}, pred, seconds)


def _trend(years, yields, cfg: Config) -> tuple[dict, dict]:
    fit = years <= cfg.fit_until
    test = years > cfg.fit_until
    t, y = years[fit].astype(float), yields[fit]

    def rmse(pred):
        return float(onp.sqrt(onp.mean((pred - yields[test]) ** 2)))

    line = (years >= cfg.line_from) & fit
    slope, intercept = onp.polyfit(years[line].astype(float), yields[line], 1)
    line_pred = slope * years[test] + intercept
    out = {"fit_years": [int(t[0]), int(t[-1])],
           "test_years": [int(years[test][0]), int(years[test][-1])],
           "min_segment_years": cfg.min_segment_years,
           "straight_line": {"from": cfg.line_from, "slope_t_per_ha_per_year": float(slope),
                             "rmse": rmse(line_pred)}}
    free_cfg = dataclasses.replace(cfg, min_segment_years=_IDENTIFIABLE_SEGMENT_YEARS)
    free = {"min_segment_years": _IDENTIFIABLE_SEGMENT_YEARS}
    arrays = {"line_forecast": line_pred}
    grid_seconds = 0.0
    for K in cfg.breakpoints:
        out[f"breakpoints_{K}"], arrays[f"forecast_{K}"], seconds = _fit_and_check(
            t, y, K, cfg, years[test], rmse)
        free[f"breakpoints_{K}"], _, free_seconds = _fit_and_check(
            t, y, K, free_cfg, years[test], rmse)
        grid_seconds += seconds + free_seconds
    free["matches_grid"] = all(free[f"breakpoints_{K}"]["matches_grid"]
                               for K in cfg.breakpoints)
    return arrays, {**out, "unconstrained": free, "grid_seconds": round(grid_seconds, 3)}


# -- the run -----------------------------------------------------------------------------


def run(cfg: Config, rd: RunDir) -> dict:
    """Clean the weather, choose the planting day by gradient ascent, check it by
    exhaustive search; fit the yield trend's breakpoints and check them by grid search.

    Figures: ``decision.png`` (the objective by exhaustive search, its relaxations and
    the ascent's path), ``trend.png`` (the yield trend, its forecast and the SSE over
    the breakpoints).
    """
    def clean():
        c = weather.clean_temperatures(*weather.read_daily_temperatures(),
                                       max_interpolated_gap=cfg.max_interpolated_gap)
        return {"tmin": c.tmin, "tmax": c.tmax}, c.report

    cleaned, report = rd.stage("weather", clean)
    dates = onp.datetime64(report["first_day"]) + onp.arange(len(cleaned["tmin"]))
    s = season(dates, cleaned["tmin"], cleaned["tmax"], cfg)
    decided, decision = rd.stage("decision", lambda: _decide(s, cfg))
    years, yields = load_corn_yields()
    forecasts, trend = rd.stage("trend", lambda: _trend(years, yields, cfg))
    _plot_decision(s, cfg, decided, decision, rd.figure_path("decision"))
    _plot_trend(years, yields, cfg, forecasts, trend, rd.figure_path("trend"))

    cleaning = {k: v for k, v in report.items() if k not in ("first_day", "last_day")}
    flagged = ", ".join(f"{f['field']} {f['value']:g} on {f['date']}"
                        for f in report["implausible"])
    rd.say(f"  cleaned: {report['missing_days']} missing days, "
           f"{sum(report['blank_cells'].values())} blank cells, "
           f"{report['implausible_count']} implausible values ({flagged})")
    rd.say(f"  planting day {decision['planting_day']} ({decision['planting_date']}): proxy "
           f"{decision['value']:.6f}, exhaustive {decision['exhaustive_value']:.6f} on days "
           f"{decision['exhaustive_days'][0]}-{decision['exhaustive_days'][1]}; "
           f"{100 * decision['fraction_reaching_requirement']:.0f}% of years reach "
           f"{cfg.requirement_gdd:g} GDD")
    for K in cfg.breakpoints:
        f = trend[f"breakpoints_{K}"]
        where = ", ".join(f"{b:.2f}" for b in f["breakpoints"])
        rd.say(f"  trend, {K} breakpoint(s) {where}: SSE {f['sse']:.6f} (grid "
               f"{f['grid']['sse']:.6f}), RMSE {trend['test_years'][0]}-"
               f"{trend['test_years'][1]} {f['rmse']:.3f} t/ha (straight line from "
               f"{cfg.line_from}: {trend['straight_line']['rmse']:.3f})")
    for K in cfg.breakpoints:
        f = trend["unconstrained"][f"breakpoints_{K}"]
        where = ", ".join(f"{b:.2f}" for b in f["breakpoints"])
        rd.say(f"  unconstrained (segments >= {_IDENTIFIABLE_SEGMENT_YEARS:g} year), {K} "
               f"breakpoint(s) {where}: SSE {f['sse']:.6f} (grid {f['grid']['sse']:.6f}), "
               f"RMSE {f['rmse']:.3f} t/ha")
    decision = dict(decision)
    value = decision.pop("value")
    return {"value": value, "goal": decision["exhaustive_value"],
            "baseline_value": decision["exhaustive_value"],
            "matches_exhaustive": value == decision["exhaustive_value"], **decision,
            "cleaning": cleaning,
            "trend": {k: v for k, v in trend.items()
                      if k not in ("grid_seconds", "unconstrained")},
            "trend_unconstrained": trend["unconstrained"],
            **{f"trend_rmse_{K}": trend[f"breakpoints_{K}"]["rmse"] for K in cfg.breakpoints},
            "line_rmse": trend["straight_line"]["rmse"],
            "trend_matches_grid": all(trend[f"breakpoints_{K}"]["matches_grid"]
                                      for K in cfg.breakpoints),
            "grid_seconds": trend["grid_seconds"]}


# -- figures -----------------------------------------------------------------------------


def _plot_decision(s: Season, cfg: Config, arrays: dict, info: dict, path: Path) -> None:
    exact, trail = arrays["exact"], arrays["path"]
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(11, 4.2))
    lo = max(0, int(min(trail.min(), info["exhaustive_days"][0] - 1)) - 50)
    hi = min(365, int(max(trail.max(), info["exhaustive_days"][1] - 1)) + 40)
    days = onp.arange(lo, hi + 1)
    ax1.step(days + 1, exact[days], where="mid", color="k", lw=1.6,
             label="exact (exhaustive search)")
    picks = onp.linspace(0, len(cfg.sharpness) - 1, min(4, len(cfg.sharpness)))
    shown = [cfg.sharpness[i] for i in sorted(set(onp.rint(picks).astype(int)))]
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    smooth = onp.linspace(lo, hi, 4 * (hi - lo) + 1)
    for i, k in enumerate(shown):
        ax1.plot(smooth + 1, relaxed_objective(smooth, s, k), color=cmap(i / len(shown)),
                 lw=1, label=f"relaxed, sharpness {k:g}/day")
    first, last = info["exhaustive_days"]
    ax1.axvspan(first - 0.5, last + 0.5, color="tab:green", alpha=0.12,
                label=f"optimum {info['exhaustive_value']:.4f}: days {first}-{last}")
    ax1.plot(trail[-1] + 1, info["ascent_values"], "v", color="tab:red", ms=7,
             label="where the ascents end")
    ax1.set_xlabel("planting day of the year")
    ax1.set_ylabel("mean yield proxy over the years")
    ax1.set_title(f"Clemson, SC, {s.years[0]}-{s.years[-1]}: R = {cfg.requirement_gdd:g} GDD",
                  fontsize=10)
    ax1.legend(fontsize=7, loc="lower right")
    ax2.plot(trail + 1, lw=1)
    for i, k in enumerate(cfg.sharpness):
        ax2.axvline(i * cfg.steps, color="0.8", lw=0.6)
        ax2.text(i * cfg.steps + 1, 0.98, f"{k:g}", transform=ax2.get_xaxis_transform(),
                 fontsize=6, va="top")
    ax2.axhspan(first - 0.5, last + 0.5, color="tab:green", alpha=0.12)
    ax2.set_xlabel("Adam step (sharpness per stage at the top, 1/day)")
    ax2.set_ylabel("day of the year")
    ax2.set_title(f"gradient ascent from {len(cfg.starts)} starts: day "
                  f"{info['planting_day']} ({info['planting_date']})", fontsize=10)
    save_figure(fig, path, dpi=80)


def _plot_trend(years, yields, cfg: Config, arrays: dict, info: dict, path: Path) -> None:
    fit = years <= cfg.fit_until
    test = ~fit
    t, y = years[fit].astype(float), yields[fit]
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(11, 4.2))
    ax1.plot(years[fit], yields[fit], ".", color="0.4", ms=4, label="US corn yield (fit)")
    ax1.plot(years[test], yields[test], "o", color="k", ms=4, label="held out")
    colours = {1: "tab:blue", 2: "tab:orange", 3: "tab:purple"}
    smooth = onp.linspace(t[0], years[-1], 600)
    for K in cfg.breakpoints:
        f = info[f"breakpoints_{K}"]
        curve = _trend_predict(t, y, f["breakpoints"], smooth)
        ax1.plot(smooth, curve, color=colours[K], lw=1.2,
                 label=f"{K} breakpoint(s) {', '.join(f'{b:.1f}' for b in f['breakpoints'])}:"
                       f" RMSE {f['rmse']:.2f}")
    line = info["straight_line"]
    span = onp.array([cfg.line_from, years[-1]], dtype=float)
    ax1.plot(span, line["slope_t_per_ha_per_year"] * span + arrays["line_forecast"][0]
             - line["slope_t_per_ha_per_year"] * years[test][0], "--", color="tab:green",
             lw=1, label=f"straight line from {cfg.line_from}: RMSE {line['rmse']:.2f}")
    ax1.axvline(cfg.fit_until + 0.5, color="0.7", lw=0.6)
    ax1.set_xlabel("year")
    ax1.set_ylabel("t/ha")
    ax1.legend(fontsize=7, loc="upper left")
    ax1.set_title(f"trend fitted {int(t[0])}-{cfg.fit_until}, RMSE on "
                  f"{info['test_years'][0]}-{info['test_years'][1]}", fontsize=10)
    data = _Scaled(t, y)
    profile = _Profile(data)
    m = cfg.min_segment_years
    grid = onp.arange(t[0] + m, t[-1] - m + 1e-9, cfg.grid_step)
    ax2.plot(grid, profile.sse(grid[:, None]), color="tab:blue", lw=1,
             label="1 breakpoint: SSE over the grid")
    if 1 in cfg.breakpoints:
        f = info["breakpoints_1"]
        ax2.plot(f["breakpoints"], [f["sse"]], "o", color="tab:red", ms=6,
                 label=f"gradient fit {f['breakpoints'][0]:.2f}")
    if 2 in cfg.breakpoints:
        f = info["breakpoints_2"]
        coarse = onp.arange(t[0] + m, t[-1] - m + 1e-9, 0.5)
        pairs = _pairs([coarse, coarse])
        sse = onp.where(_feasible(pairs, t[0], t[-1], m), profile.sse(onp.sort(pairs, axis=1)),
                        onp.inf).reshape(len(coarse), len(coarse))
        # The best SSE with the first breakpoint at each year: the two-breakpoint profile.
        ax2.plot(coarse, sse.min(axis=1), color="tab:orange", lw=1,
                 label="2 breakpoints: best SSE given the first")
        ax2.plot(f["breakpoints"][:1], [f["sse"]], "o", color="tab:orange", mec="k", ms=6,
                 label=f"gradient fit {', '.join(f'{b:.2f}' for b in f['breakpoints'])}")
    ax2.set_yscale("log")
    ax2.set_xlabel("(first) breakpoint year")
    ax2.set_ylabel("SSE (t/ha)^2")
    ax2.legend(fontsize=7)
    ax2.set_title(f"least squares over breakpoints (segments >= {m:g} years)", fontsize=10)
    save_figure(fig, path, dpi=80)
