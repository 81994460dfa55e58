"""Daily temperatures for the farming recipe: reading, cleaning, growing degree days.

The shipped series is NOAA's daily minimum and maximum at Clemson, SC (1930-2020, deg F).
:func:`clean_temperatures` puts it on a complete calendar and makes every repair explicit:

* absent calendar days and blank cells become missing values;
* physically implausible values are flagged and become missing values too: outside
  ``PLAUSIBLE_F`` (South Carolina's records are -19 F and 113 F), a minimum above the
  maximum, or a one-day spike of the daily minimum (more than ``spike_f`` from both
  neighbouring minimums in the same direction *and* more than ``spike_sd`` robust standard
  deviations from its calendar day's climatology). Night minimums follow the air mass and
  cannot drop 30 F for one night and come back the next; a cold, rainy day can depress
  the maximum that way, so maximums are only range-checked;
* a missing run of at most ``max_interpolated_gap`` days is interpolated linearly
  between the days around it (at either end of the series it takes the nearest value);
  a longer run (a month absent in 1962 and in 2005) is filled with the calendar day's
  climatological mean, as a straight line over a month would miss the season's swing.

The report lists every repair: counts and dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from ...validation import invalid

__all__ = ["CLEMSON_CSV", "PLAUSIBLE_F", "Cleaned", "read_daily_temperatures",
           "clean_temperatures", "growing_degree_days", "day_of_year", "day_of_year_table",
           "climatology"]

CLEMSON_CSV = (Path(__file__).parents[1] / "data" / "weather"
               / "clemson_sc_daily_temps_1930_2020_degF.csv")
PLAUSIBLE_F = (-20.0, 115.0)
"""The range a daily temperature in South Carolina can take (records: -19 F, 113 F)."""

_DAY = onp.timedelta64(1, "D")


def read_daily_temperatures(path=None) -> tuple[onp.ndarray, onp.ndarray, onp.ndarray]:
    """Dates, minimums and maximums of a ``date,tmin,tmax`` CSV (deg F), blanks as NaN.

    Parameters
    ----------
    path : path, optional
        Default: the shipped Clemson, SC series (:data:`CLEMSON_CSV`). Dates are
        ``YYYY-MM-DD``, increasing; absent days are allowed.

    Returns
    -------
    dates : ndarray of datetime64[D]
    tmin, tmax : ndarray of float64

    Examples
    --------
    >>> dates, tmin, tmax = read_daily_temperatures()
    >>> str(dates[0]), str(dates[-1]), len(dates), int(onp.isnan(tmin).sum())
    ('1930-01-01', '2020-12-31', 33148, 17)
    """
    call = "read_daily_temperatures"
    path = CLEMSON_CSV if path is None else Path(path)
    lines = path.read_text().splitlines()
    if not lines or lines[0].strip().lower() != "date,tmin,tmax":
        raise invalid(call, "path", "a CSV whose header is 'date,tmin,tmax'", str(path))
    cells = [line.split(",") for line in lines[1:] if line.strip()]
    bad = [i for i, c in enumerate(cells) if len(c) != 3]
    if bad:
        raise invalid(call, "path", "3 comma-separated cells on every line", str(path),
                      got=f"line {bad[0] + 2} of {path}: {lines[bad[0] + 1]!r}")
    table = onp.array(cells, dtype=str)
    try:
        dates = table[:, 0].astype("datetime64[D]")
        values = onp.where(onp.char.strip(table[:, 1:]) == "", "nan", table[:, 1:])
        values = values.astype(onp.float64)
    except ValueError as e:
        raise invalid(call, "path", "YYYY-MM-DD dates and numbers (or blanks)", str(path),
                      got=f"{path}: {e}") from None
    if len(dates) < 2 or not (onp.diff(dates) > onp.timedelta64(0, "D")).all():
        raise invalid(call, "path", "a CSV with increasing dates", str(path))
    return dates, values[:, 0], values[:, 1]


def day_of_year(dates: onp.ndarray) -> onp.ndarray:
    """0-based day of the year (1 January is 0, 31 December is 364 or 365).

    Examples
    --------
    >>> day_of_year(onp.array(["2001-03-01", "2004-03-01", "2004-12-31"], "datetime64[D]"))
    array([ 59,  60, 365])
    """
    return (dates - dates.astype("datetime64[Y]")).astype(onp.int64)


def _years(dates: onp.ndarray) -> onp.ndarray:
    return dates.astype("datetime64[Y]").astype(onp.int64) + 1970


def day_of_year_table(dates: onp.ndarray, values: onp.ndarray,
                      fill: float = onp.nan) -> tuple[onp.ndarray, onp.ndarray]:
    """``values`` laid out as a (year, day of year) table of 366 columns.

    Returns ``(years, table)``; cells of days not in ``dates`` (31 December's second
    column in a common year, days outside the series) hold ``fill``.

    Examples
    --------
    >>> dates = onp.arange(onp.datetime64("2003-12-30"), onp.datetime64("2004-01-02"))
    >>> years, table = day_of_year_table(dates, onp.array([1.0, 2.0, 3.0]), fill=0.0)
    >>> years.tolist(), table[:, [0, 363, 364, 365]].tolist()
    ([2003, 2004], [[0.0, 1.0, 2.0, 0.0], [3.0, 0.0, 0.0, 0.0]])
    """
    year = _years(dates)
    years = onp.arange(year.min(), year.max() + 1)
    table = onp.full((len(years), 366), fill, dtype=onp.result_type(values, float))
    table[year - years[0], day_of_year(dates)] = values
    return years, table


def climatology(dates: onp.ndarray, values: onp.ndarray,
                window: int = 7) -> tuple[onp.ndarray, onp.ndarray, onp.ndarray]:
    """Per day of the year: mean, median and robust standard deviation (1.4826 MAD).

    Each statistic pools every year's values within ``window`` days of that calendar day
    (wrapping around the new year), ignoring NaN. Arrays of 366 entries, indexed by
    :func:`day_of_year`; NaN for a calendar day with no value in its window.
    """
    years, table = day_of_year_table(dates, values)
    cols = (onp.arange(366)[:, None] + onp.arange(-window, window + 1)) % 366
    pooled = table[:, cols].transpose(1, 0, 2).reshape(366, -1)
    seen = (~onp.isnan(pooled)).any(axis=1)
    mean, median, sd = (onp.full(366, onp.nan) for _ in range(3))
    # Calendar days with no value anywhere stay NaN (NumPy would warn on them).
    mean[seen] = onp.nanmean(pooled[seen], axis=1)
    median[seen] = onp.nanmedian(pooled[seen], axis=1)
    sd[seen] = 1.4826 * onp.nanmedian(onp.abs(pooled[seen] - median[seen, None]), axis=1)
    return mean, median, sd


@dataclass
class Cleaned:
    """A complete daily calendar of cleaned temperatures, and what was done to get it.

    Attributes
    ----------
    dates : ndarray of datetime64[D]
        Every calendar day from the first to the last of the input.
    tmin, tmax : ndarray of float64
        No NaN: missing and implausible values repaired.
    repaired : ndarray of bool, shape (2, days)
        Which minimums (row 0) and maximums (row 1) were not measured values.
    report : dict
        Counts and dates of every repair (JSON-ready).
    """

    dates: onp.ndarray
    tmin: onp.ndarray
    tmax: onp.ndarray
    repaired: onp.ndarray
    report: dict


def _runs(mask: onp.ndarray) -> tuple[onp.ndarray, onp.ndarray]:
    """Start and length of each run of True in a 1-d mask."""
    edges = onp.diff(onp.concatenate([[0], mask.astype(onp.int8), [0]]))
    starts, ends = onp.flatnonzero(edges == 1), onp.flatnonzero(edges == -1)
    return starts, ends - starts


def _spans(dates: onp.ndarray, mask: onp.ndarray) -> list[str]:
    starts, lengths = _runs(mask)
    return [f"{dates[s]}" if n == 1 else f"{dates[s]} to {dates[s + n - 1]} ({n} days)"
            for s, n in zip(starts, lengths)]


def _spikes(x: onp.ndarray, spike_f: float) -> onp.ndarray:
    """Whether each value departs by more than ``spike_f`` from both neighbours, the same
    way (up from both or down from both)."""
    up, down = onp.full(x.shape, onp.nan), onp.full(x.shape, onp.nan)
    up[1:-1], down[1:-1] = x[1:-1] - x[:-2], x[1:-1] - x[2:]
    same = onp.sign(up) == onp.sign(down)
    jump = onp.where(same, onp.sign(up) * onp.fmin(onp.abs(up), onp.abs(down)), 0.0)
    return onp.abs(onp.nan_to_num(jump)) > spike_f


def clean_temperatures(dates, tmin, tmax, *, max_interpolated_gap: int = 7,
                       spike_f: float = 20.0, spike_sd: float = 3.0,
                       window: int = 7) -> Cleaned:
    """Reindex to a complete calendar, flag implausible values, fill every gap.

    Parameters
    ----------
    dates, tmin, tmax : arrays
        As :func:`read_daily_temperatures` returns them (NaN for blank cells).
    max_interpolated_gap : int, default 7
        The longest run of missing days filled by linear interpolation; longer runs get
        the calendar day's climatological mean.
    spike_f, spike_sd : float
        A daily minimum is implausible when it departs by more than ``spike_f`` deg F
        from both neighbouring minimums in the same direction and by more than
        ``spike_sd`` robust standard deviations from its calendar day's median.
    window : int, default 7
        Half-width in days of the climatology's calendar window.

    Returns
    -------
    Cleaned

    Examples
    --------
    >>> days = onp.array(["2001-05-01", "2001-05-02", "2001-05-04"], "datetime64[D]")
    >>> c = clean_temperatures(days, onp.array([50.0, -80.0, 54.0]),
    ...                        onp.array([70.0, 72.0, onp.nan]), window=0)
    >>> c.tmin.round(2).tolist(), c.tmax.tolist()
    ([50.0, 51.33, 52.67, 54.0], [70.0, 72.0, 72.0, 72.0])
    >>> c.report["missing_days"], c.report["implausible"][0]["value"]
    (1, -80.0)
    """
    call = "clean_temperatures"
    dates = onp.asarray(dates, dtype="datetime64[D]")
    if not (onp.ndim(dates) == 1 and onp.shape(tmin) == onp.shape(tmax) == dates.shape):
        raise invalid(call, "tmin, tmax", f"1-d arrays as long as dates ({dates.shape})",
                      got=f"shapes {onp.shape(tmin)} and {onp.shape(tmax)}")
    if len(dates) < 2 or not (onp.diff(dates) > onp.timedelta64(0, "D")).all():
        raise invalid(call, "dates", "increasing, at least two", dates)
    full = onp.arange(dates[0], dates[-1] + _DAY)
    at = ((dates - dates[0]) // _DAY).astype(onp.int64)
    absent = onp.ones(len(full), bool)
    absent[at] = False
    series, blank, flagged = {}, {}, []
    for name, values in (("tmin", tmin), ("tmax", tmax)):
        x = onp.full(len(full), onp.nan)
        x[at] = onp.asarray(values, dtype=onp.float64)
        blank[name] = onp.isnan(x) & ~absent
        series[name] = x
    lo, hi = PLAUSIBLE_F
    for name, x in series.items():
        out = (x < lo) | (x > hi)
        flagged += [(i, name, f"outside [{lo:g}, {hi:g}] F") for i in onp.flatnonzero(out)]
        x[out] = onp.nan
    inverted = series["tmin"] > series["tmax"]
    for name in series:
        flagged += [(i, name, "minimum above maximum") for i in onp.flatnonzero(inverted)]
        series[name][inverted] = onp.nan
    if len(full) < 2 * window + 3:
        raise invalid(call, "dates", f"spanning at least {2 * window + 3} days", got=(
            f"{len(full)} days"))
    _, median, sd = climatology(full, series["tmin"], window)
    doy = day_of_year(full)
    z = onp.abs(series["tmin"] - median[doy]) / onp.where(sd[doy] > 0, sd[doy], onp.inf)
    spike = _spikes(series["tmin"], spike_f) & (onp.nan_to_num(z) > spike_sd)
    flagged += [(i, "tmin", f"one-day spike (> {spike_f:g} F from both neighbours, "
                            f"> {spike_sd:g} robust sd from the day's median)")
                for i in onp.flatnonzero(spike)]
    series["tmin"][spike] = onp.nan
    report = {
        "calendar_days": int(len(full)), "first_day": str(full[0]), "last_day": str(full[-1]),
        "missing_days": int(absent.sum()), "missing_day_spans": _spans(full, absent),
        "blank_cells": {n: int(b.sum()) for n, b in blank.items()},
        "blank_dates": {n: [str(d) for d in full[b]] for n, b in blank.items()},
        "implausible": [{"date": str(full[i]), "field": n,
                         "value": float(tmin[onp.searchsorted(at, i)] if n == "tmin"
                                        else tmax[onp.searchsorted(at, i)]), "rule": rule}
                        for i, n, rule in sorted(flagged)],
        "filled_by_interpolation": {}, "filled_from_climatology": {},
        "max_interpolated_gap": int(max_interpolated_gap),
    }
    report["implausible_count"] = len(report["implausible"])
    repaired = []
    t = onp.arange(len(full))
    for name, x in series.items():
        missing = onp.isnan(x)
        if missing.all():
            raise invalid(call, name, "at least one value", got="no value")
        starts, lengths = _runs(missing)
        far = onp.zeros(len(x), bool)
        far[missing] = onp.repeat(lengths > max_interpolated_gap, lengths)
        mean = climatology(full, x, window)[0]
        if onp.isnan(mean[doy[far]]).any():
            raise invalid(call, name, f"present within {window} days of the calendar day "
                          f"of every gap longer than {max_interpolated_gap} days in some "
                          f"year (its climatology fills the gap)",
                          got=f"none for {full[far][onp.isnan(mean[doy[far]])][0]}")
        filled = onp.interp(t, t[~missing], x[~missing])
        series[name] = onp.where(far, mean[doy], filled)
        report["filled_by_interpolation"][name] = int((missing & ~far).sum())
        report["filled_from_climatology"][name] = int(far.sum())
        repaired.append(missing)
    if (series["tmin"] > series["tmax"]).any():
        # A filled minimum can only pass a measured maximum by rounding: keep them ordered.
        series["tmin"] = onp.minimum(series["tmin"], series["tmax"])
    return Cleaned(full, series["tmin"], series["tmax"], onp.array(repaired), report)


def growing_degree_days(tmin, tmax, base: float = 50.0, cap: float = 86.0):
    """Daily growing degree days, the corn convention (the 86/50 method), deg F.

    Both temperatures are clipped to ``[base, cap]`` before averaging: development stops
    below the base and does not speed up above the cap.

    Examples
    --------
    >>> growing_degree_days(onp.array([40.0, 60.0, 70.0]), onp.array([60.0, 80.0, 95.0]))
    array([ 5., 20., 28.])
    """
    tmin, tmax = onp.asarray(tmin, dtype=float), onp.asarray(tmax, dtype=float)
    return (onp.clip(tmin, base, cap) + onp.clip(tmax, base, cap)) / 2 - base
