"""The farming recipe: the planting day by gradient ascent on a relaxation, checked by
exhaustive search; the yield trend's breakpoints, checked by grid search; the weather's
cleaning (the contract is checked for every recipe in test_recipe_contract.py)."""

import csv
import dataclasses

import numpy as np
import pytest

from gradkit import check_grads, recipes
from gradkit.recipes import ConfigError
from gradkit.recipes.farming import (
    Config,
    exact_objective,
    fit_trend,
    grid_search_trend,
    load_corn_yields,
    plant_by_ascent,
    relaxed_objective,
    season,
    trend_sse,
)
from gradkit.recipes.shared import weather


@pytest.fixture(scope="module")
def cleaned():
    return weather.clean_temperatures(*weather.read_daily_temperatures())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("farming")
    return out, recipes.run("farming", Config(), out=out, verbose=False)


def _season(cleaned, **settings):
    return season(cleaned.dates, cleaned.tmin, cleaned.tmax, Config(**settings))


def _reference_objective(dates, tmin, tmax, cfg: Config) -> np.ndarray:
    """The objective written out plainly, one planting day and one year at a time."""
    gdd = (np.clip(tmin, cfg.base_f, cfg.cap_f) + np.clip(tmax, cfg.base_f, cfg.cap_f)) / 2
    gdd -= cfg.base_f
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    total = np.zeros(366)
    kept = range(cfg.first_year, cfg.last_year + 1)
    for year in kept:
        mine = years == year
        days, low, grow = dates[mine], tmin[mine], gdd[mine]
        after = days > np.datetime64(f"{year}-07-01")
        frosts = np.flatnonzero(after & (low <= cfg.frost_f))
        end = frosts[0] if len(frosts) else len(days)
        for day in range(366):
            if day >= len(days):
                continue
            grown = grow[day:end].sum() if day < end else 0.0
            window = low[day + 1:day + 1 + cfg.frost_window_days]
            if (window <= cfg.killing_frost_f).any():
                continue
            total[day] += min(grown, cfg.requirement_gdd) / cfg.requirement_gdd
    return total / len(kept)


# -- the planting decision ------------------------------------------------------------------


def test_gdd_of_a_hand_made_week():
    tmin = np.array([45.0, 60.0, 30.0, 55.0, 70.0, 48.0, 88.0])
    tmax = np.array([70.0, 90.0, 48.0, 75.0, 95.0, 52.0, 100.0])
    # (max(lo, 50) + min(hi, 86)) / 2 - 50, clipped both ways, by hand:
    by_hand = [(50 + 70) / 2 - 50, (60 + 86) / 2 - 50, 0.0, (55 + 75) / 2 - 50,
               (70 + 86) / 2 - 50, (50 + 52) / 2 - 50, 86 - 50]
    assert by_hand == [10.0, 23.0, 0.0, 15.0, 28.0, 1.0, 36.0]
    assert weather.growing_degree_days(tmin, tmax).tolist() == by_hand
    # The same week inside a season: the cumulative GDD over its days is their sum.
    dates = np.arange(np.datetime64("2001-01-01"), np.datetime64("2002-01-01"))
    low, high = np.full(365, 40.0), np.full(365, 45.0)
    low[150:157], high[150:157] = tmin, tmax
    s = season(dates, low, high, Config(first_year=2001, last_year=2001))
    assert s.cum_gdd[0, 157] - s.cum_gdd[0, 150] == sum(by_hand) == 113.0
    assert s.cum_gdd[0, -1] == 113.0


def test_exact_objective_equals_a_plain_reference(cleaned):
    cfg = Config(first_year=1990, last_year=2020, requirement_gdd=4200.0)
    s = season(cleaned.dates, cleaned.tmin, cleaned.tmax, cfg)
    reference = _reference_objective(cleaned.dates, cleaned.tmin, cleaned.tmax, cfg)
    assert np.max(np.abs(exact_objective(s) - reference)) < 1e-12


@pytest.mark.parametrize("requirement", [3000.0, 4200.0, 4500.0])
def test_relaxation_optimum_equals_exhaustive_search(cleaned, requirement):
    # 3000 GDD (the default): a plateau of tied days; 4200 and 4500: a single best day,
    # right after a late killing frost's window (a jump of the objective).
    cfg = Config(requirement_gdd=requirement)
    s = season(cleaned.dates, cleaned.tmin, cleaned.tmax, cfg)
    exact = exact_objective(s)
    path, _ = plant_by_ascent(s, cfg)
    days = np.rint(path[-1]).astype(int)
    assert exact[days].max() == exact.max()
    if requirement > 4000:
        assert np.sum(exact == exact.max()) == 1


def test_relaxation_optimum_on_the_series_before_the_spike_rule():
    # Keeping 1950-04-25's one-night 25 F minimum (a killing frost on 24 April) makes the
    # objective's best basin appear only at a sharper relaxation: the starts must each
    # follow their own basin.
    raw = weather.clean_temperatures(*weather.read_daily_temperatures(), spike_f=1e9)
    assert [f["date"] for f in raw.report["implausible"]] == ["1936-07-18"]
    cfg = Config(requirement_gdd=4500.0)
    s = season(raw.dates, raw.tmin, raw.tmax, cfg)
    exact = exact_objective(s)
    path, _ = plant_by_ascent(s, cfg)
    assert exact[np.rint(path[-1]).astype(int)].max() == exact.max()


def test_recipe_reports_the_exhaustive_optimum(run):
    out, m = run
    assert m["value"] == m["baseline_value"] == m["exhaustive_value"] == 1.0
    assert m["goal"] == 1.0 and m["goal_met"] is True and m["matches_exhaustive"] is True
    first, last = m["exhaustive_days"]
    assert first <= m["planting_day"] <= last and m["ties"] == last - first + 1
    assert m["fraction_reaching_requirement"] == 1.0 and m["fraction_killed"] == 0.0
    assert m["years"] == 91
    for name in ("decision", "trend"):
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_relaxation_tends_to_the_exact_objective_at_whole_days(cleaned):
    s = _season(cleaned, requirement_gdd=4200.0)
    days = np.arange(366.0)
    exact = exact_objective(s)
    assert np.max(np.abs(relaxed_objective(days, s, 200.0) - exact)) < 1e-3
    assert np.max(np.abs(relaxed_objective(days, s, 0.25) - exact)) > 0.05


def test_relaxation_gradient(cleaned):
    s = _season(cleaned, first_year=2000, last_year=2010)
    check_grads(lambda d: relaxed_objective(d, s, 1.0), (np.array([100.3, 131.7]),),
                order=1, eps=1e-6)


# -- the yield trend ------------------------------------------------------------------------


def test_breakpoint_fit_equals_the_grid_search(run):
    _, m = run
    t = m["trend"]
    for K in (1, 2):
        f = t[f"breakpoints_{K}"]
        assert f["matches_grid"] is True
        assert f["sse"] <= f["grid"]["sse"] * (1 + 1e-6)
        assert np.allclose(f["breakpoints"], f["grid"]["breakpoints"], atol=0.02)
    assert m["trend_matches_grid"] is True
    years, yields = load_corn_yields()
    fit = years <= 2004
    for K in (1, 2):  # the reported SSE is the least-squares SSE at those breakpoints
        f = t[f"breakpoints_{K}"]
        X = np.column_stack([np.ones(fit.sum()), years[fit]]
                            + [np.maximum(years[fit] - b, 0) for b in f["breakpoints"]])
        coef, *_ = np.linalg.lstsq(X, yields[fit], rcond=None)
        assert np.sum((yields[fit] - X @ coef) ** 2) == pytest.approx(f["sse"], rel=1e-9)
        assert np.allclose(f["slopes_t_per_ha_per_year"], np.cumsum(coef[1:]), rtol=1e-6)


def test_forecast_against_a_straight_line(run):
    _, m = run
    years, yields = load_corn_yields()
    fit, test = (years >= 1940) & (years <= 2004), years > 2004
    slope, intercept = np.polyfit(years[fit], yields[fit], 1)
    line = np.sqrt(np.mean((slope * years[test] + intercept - yields[test]) ** 2))
    assert m["line_rmse"] == pytest.approx(line, rel=1e-9)
    assert 0.5 < m["trend_rmse_1"] < 1.2 and 0.5 < m["trend_rmse_2"] < 1.2


def test_unconstrained_fit_equals_its_grid_search(run):
    # Segments of at least one year: the least squares without the 10-year minimum.
    _, m = run
    free = m["trend_unconstrained"]
    assert free["min_segment_years"] == 1.0 and free["matches_grid"] is True
    years, yields = load_corn_yields()
    fit, test = years <= 2004, years > 2004
    for K in (1, 2):
        f = free[f"breakpoints_{K}"]
        assert f["matches_grid"] is True
        assert f["sse"] <= f["grid"]["sse"] * (1 + 1e-6)
        assert np.allclose(f["breakpoints"], f["grid"]["breakpoints"], atol=0.02)
        assert np.diff([1866, *f["breakpoints"], 2004]).min() >= 1.0
        # A looser constraint: never above the constrained optimum.
        assert f["sse"] <= m["trend"][f"breakpoints_{K}"]["sse"] * (1 + 1e-9)
        X = [np.column_stack([np.ones(part.sum()), years[part]]
                             + [np.maximum(years[part] - b, 0) for b in f["breakpoints"]])
             for part in (fit, test)]
        coef, *_ = np.linalg.lstsq(X[0], yields[fit], rcond=None)
        assert np.sum((yields[fit] - X[0] @ coef) ** 2) == pytest.approx(f["sse"], rel=1e-9)
        rmse = np.sqrt(np.mean((X[1] @ coef - yields[test]) ** 2))
        assert f["rmse"] == pytest.approx(rmse, rel=1e-6)
    # Two breakpoints: a last segment of 2003 and 2004 alone, which forecasts badly.
    two = free["breakpoints_2"]
    assert 2002 < two["breakpoints"][1] < 2003
    assert two["sse"] < m["trend"]["breakpoints_2"]["sse"] and two["rmse"] > 5 * m["line_rmse"]


def test_two_breakpoints_with_shorter_segments_equal_the_grid_search():
    years, yields = load_corn_yields()
    fit = years <= 2004
    cfg = Config(min_segment_years=5.0)
    fitted = fit_trend(years[fit], yields[fit], 2, cfg)
    searched = grid_search_trend(years[fit], yields[fit], 2, cfg)
    assert fitted["sse"] <= searched["sse"] * (1 + 1e-6)


def test_coarse_then_fine_grid_equals_the_full_grid():
    years, yields = load_corn_yields()
    part = years <= 1930
    t, y = years[part], yields[part]
    coarse = Config(min_segment_years=5.0, grid_step=0.02, coarse_step=0.2)
    full = dataclasses.replace(coarse, coarse_step=0.0)
    a, b = grid_search_trend(t, y, 2, coarse), grid_search_trend(t, y, 2, full)
    assert a["sse"] == pytest.approx(b["sse"], rel=1e-12)
    assert b["candidates"] > 10 * a["candidates"]
    # And the closed-form SSE behind both equals least squares at the winner.
    assert b["sse"] == pytest.approx(trend_sse(t, y, b["breakpoints"]), rel=1e-12)
    one = grid_search_trend(t, y, 1, coarse)
    grid = np.arange(1871.0, 1925.0 + 1e-9, 0.02)
    brute = min(grid, key=lambda b: trend_sse(t, y, [b]))
    assert one["breakpoints"][0] == pytest.approx(brute, abs=1e-9)


# -- the weather's cleaning -----------------------------------------------------------------


def test_cleaning_counts(cleaned):
    with open(weather.CLEMSON_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    present = np.array([r["date"] for r in rows], dtype="datetime64[D]")
    calendar = (present[-1] - present[0]).astype(int) + 1
    r = cleaned.report
    assert r["calendar_days"] == calendar == len(cleaned.dates)
    assert r["missing_days"] == calendar - len(rows) == 90
    blank = {n: sum(1 for row in rows if not row[n].strip()) for n in ("tmin", "tmax")}
    assert r["blank_cells"] == blank == {"tmin": 17, "tmax": 5}
    flagged = {(f["date"], f["field"], f["value"]) for f in r["implausible"]}
    assert ("1936-07-18", "tmin", -72.04) in flagged
    assert {d for d, _, _ in flagged} == {"1930-06-24", "1936-07-18", "1950-04-25"}
    assert r["implausible_count"] == 3
    for i, name in enumerate(("tmin", "tmax")):
        repaired = 90 + blank[name] + (3 if name == "tmin" else 0)
        assert cleaned.repaired[i].sum() == repaired
        assert (r["filled_by_interpolation"][name] + r["filled_from_climatology"][name]
                == repaired)
    assert np.isfinite(cleaned.tmin).all() and np.isfinite(cleaned.tmax).all()
    assert (cleaned.tmin <= cleaned.tmax).all()
    # The month-long gaps (September 1962, February 2005) come from the climatology.
    assert r["filled_from_climatology"] == {"tmin": 58, "tmax": 58}


def test_cleaning_rules_on_a_made_up_series():
    dates = np.arange(np.datetime64("2001-01-01"), np.datetime64("2003-01-01"))
    days = np.arange(len(dates))
    tmin = 50 + 15 * np.sin(2 * np.pi * (days - 100) / 365.25) + np.cos(days)
    tmax = tmin + 20
    tmin[200], tmin[300], tmax[400] = tmin[200] - 30, 130.0, tmin[400] - 5
    keep = np.ones(len(dates), bool)
    keep[500:503] = keep[600:620] = False  # a 3-day and a 20-day gap
    c = weather.clean_temperatures(dates[keep], tmin[keep], tmax[keep], window=7)
    rules = {f["date"]: f["rule"] for f in c.report["implausible"]}
    assert rules[str(dates[200])].startswith("one-day spike")
    assert rules[str(dates[300])].startswith("outside")
    assert rules[str(dates[400])] == "minimum above maximum"
    assert c.report["missing_days"] == 23
    # The 3-day gap is a straight line; the 20-day one follows the climatology.
    line = np.interp(days[500:503], [499, 503], tmin[[499, 503]])
    assert np.allclose(c.tmin[500:503], line)
    assert c.report["filled_from_climatology"]["tmin"] == 20
    assert np.abs(c.tmin[600:620] - tmin[600:620]).max() < 3


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="cap_f"):
        Config(cap_f=40.0)
    with pytest.raises(ConfigError, match="last_year"):
        Config(last_year=2030)
    with pytest.raises(ConfigError, match="starts"):
        Config(starts=(0,))
    with pytest.raises(ConfigError, match="sharpness"):
        Config(sharpness=(4.0, 1.0))
    with pytest.raises(ConfigError, match="min_segment_years"):
        Config(min_segment_years=50.0)
    with pytest.raises(ConfigError, match="min_segment_years"):
        Config(min_segment_years=0.5)   # a segment could hold no data year


def test_bad_weather_input_is_refused(tmp_path):
    from gradkit.errors import GradkitError

    days = np.array(["2001-01-01", "2001-01-02"], dtype="datetime64[D]")
    with pytest.raises(GradkitError, match="clean_temperatures: tmin, tmax must be"):
        weather.clean_temperatures(days, np.zeros(3), np.zeros(2))
    bad = tmp_path / "temps.csv"
    bad.write_text("day,low,high\n2001-01-01,1,2\n")
    with pytest.raises(GradkitError, match="header is 'date,tmin,tmax'"):
        weather.read_daily_temperatures(bad)
    bad.write_text("date,tmin,tmax\n2001-01-02,1,2\n2001-01-01,1,2\n")
    with pytest.raises(GradkitError, match="increasing dates"):
        weather.read_daily_temperatures(bad)
