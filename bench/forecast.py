"""M3 monthly forecasts: gradkit's ETS beside statsforecast, statsmodels and two baselines.

Run with ``.venv-bench/bin/python bench/forecast.py`` (statsforecast and statsmodels are
in the ``bench`` extra). It reads M3 monthly (1428 series, horizon 18; the last 18 values
of each series are its test part) from ``../shared/data/m3/m3_monthly.csv`` next to the
repository, or from ``--data PATH``, and exits with a message (status 0) when the file
is absent. ``--quick N`` uses the first N series; ``--skip-statsmodels`` leaves out the
slowest method (several minutes on one core).

Methods, all on one thread in this one process, each fitted to every series:

- gradkit: ``gradkit.timeseries.AutoETS(season_length=12, transform="log")``, the model per
  series by AICc (the goals are checked on it), and the same without the log transform.
- statsforecast: ``AutoETS(season_length=12)`` through ``StatsForecast(..., n_jobs=1)``.
  Timed after an untimed warm-up run on a few series, so that its one-off start-up
  (compilation, where a version compiles, and first-call setup) is not counted.
- statsmodels: ``ExponentialSmoothing`` with a damped additive trend, and a
  multiplicative season of 12 when the classical 90% seasonality test passes (the
  autocorrelation at lag 12 beyond 1.645 standard errors, as in the Theta method's and
  the M4 benchmarks' deseasonalisation); no prediction intervals.
- seasonal naive (last 12 months repeated) and SES with a fixed alpha = 0.3 (a flat
  forecast, the seed's method).

The table gives each method's sMAPE (M3's: mean over series of the mean over the horizon
of 200|y-f|/(|y|+|f|)), MASE (scaled by the in-sample seasonal naive error, lag 12), the
empirical coverage of the 80% and 95% intervals pooled over all series and horizons,
the seconds the fit and forecast took, and sMAPE and time as ratios to statsforecast's
AutoETS. The last line says whether gradkit meets the goals: sMAPE below AutoETS's, at
most half its time, coverage within 3 points of nominal. The exit status is 1 when the
goals were checked and missed, else 0.
"""

import _harness

_harness.prepare_environment()  # before NumPy is imported

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gradkit.timeseries.datasets import read_m3  # noqa: E402
from gradkit.timeseries.metrics import (  # noqa: E402
    coverage,
    mase,
    seasonal_naive,
    ses_fixed,
    smape,
)

SEASON = 12
LEVELS = (80, 95)
WARMUP_SERIES = 5
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/m3/m3_monthly.csv"
REFERENCE = "statsforecast AutoETS"
THETA_PUBLISHED = 13.85  # the Theta method on M3 monthly, as published in 2000
GOAL_COVERAGE_POINTS = 3.0


@dataclass
class Result:
    method: str
    seconds: float
    mean: np.ndarray                             # (n_series, h)
    intervals: dict[int, tuple[np.ndarray, np.ndarray]] | None = None  # level -> (lo, hi)
    note: str = ""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="a CSV in the M3 layout (default: M3 monthly in ../shared/data/m3)")
    parser.add_argument("--quick", type=int, metavar="N", default=None,
                        help="use only the first N series")
    parser.add_argument("--skip-statsmodels", action="store_true",
                        help="leave out statsmodels (the slowest method)")
    args = parser.parse_args()
    if args.quick is not None and args.quick < 1:
        parser.error(f"--quick must be at least 1, got {args.quick}")
    return args


# --------------------------------------------------------------------------------------
# The methods: each takes the training parts and the horizon, returns a Result
# --------------------------------------------------------------------------------------


def run_gradkit(train: list[np.ndarray], h: int, transform: str | None = "log",
                label: str = "gradkit ETS") -> Result | str:
    try:
        from gradkit.timeseries import AutoETS
    except ImportError:
        return f"{label}: not available yet"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        fit = AutoETS(season_length=SEASON, transform=transform).fit(train)
        fc = fit.forecast(h, level=LEVELS)
        seconds = time.perf_counter() - start
    counts = Counter(fit.models).most_common(4)
    note = "models chosen: " + ", ".join(f"{m} {c}" for m, c in counts) + warned(caught)
    return Result(label, seconds, np.asarray(fc["mean"]), {
        lv: (np.asarray(fc[f"lo-{lv}"]), np.asarray(fc[f"hi-{lv}"])) for lv in LEVELS}, note)


def run_theta(train: list[np.ndarray], h: int) -> Result | str:
    from gradkit.timeseries import Theta

    start = time.perf_counter()
    fit = Theta(season_length=SEASON).fit(train)
    f = fit.forecast(h)
    seconds = time.perf_counter() - start
    return Result("gradkit Theta", seconds, f, None,
                  f"seasonal by the 90% test on {int(fit.seasonal.sum())} series")


def run_combination(results: dict) -> Result | str:
    """The mean of gradkit's ETS (log) and Theta forecasts, timed as both together."""
    ets, theta = results.get("gradkit ETS"), results.get("gradkit Theta")
    if ets is None or theta is None:
        return "gradkit ETS + Theta: needs both"
    return Result("gradkit ETS + Theta", ets.seconds + theta.seconds,
                  (ets.mean + theta.mean) / 2, None, "the mean of the two forecasts")


def warned(caught: list[warnings.WarningMessage]) -> str:
    """A note on the warnings a method raised (counted, not shown one by one)."""
    if not caught:
        return ""
    kinds = Counter(f"{w.category.__name__}: {w.message}" for w in caught).most_common(2)
    return (f"; {len(caught)} warning(s), most often "
            + "; ".join(f"{text} ({n}x)" for text, n in kinds))


def _statsforecast_call(train: list[np.ndarray], h: int):
    """A function that forecasts ``train`` with StatsForecast, and the series ids in order."""
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    ids = [f"s{k:05d}" for k in range(len(train))]  # zero-padded: sorted order = input order
    df = pd.DataFrame({
        "unique_id": np.repeat(ids, [a.size for a in train]),
        "ds": np.concatenate([np.arange(1, a.size + 1) for a in train]),
        "y": np.concatenate(train),
    })

    def call():
        sf = StatsForecast(models=[AutoETS(season_length=SEASON)], freq=1, n_jobs=1)
        return sf.forecast(df=df, h=h, level=list(LEVELS))

    return call, ids


def run_statsforecast(train: list[np.ndarray], h: int) -> Result | str:
    try:
        import statsforecast
    except ImportError as e:
        return f"statsforecast AutoETS: not installed ({e})"
    warm, _ = _statsforecast_call(train[:WARMUP_SERIES], h)
    warm()
    call, ids = _statsforecast_call(train, h)
    start = time.perf_counter()
    out = call()
    seconds = time.perf_counter() - start
    out = out.set_index("unique_id").loc[ids]

    def column(name: str) -> np.ndarray:
        return out[name].to_numpy(dtype=np.float64).reshape(len(ids), h)

    intervals = {lv: (column(f"AutoETS-lo-{lv}"), column(f"AutoETS-hi-{lv}")) for lv in LEVELS}
    return Result(REFERENCE, seconds, column("AutoETS"), intervals,
                  f"statsforecast {statsforecast.__version__}; timed after an untimed "
                  f"warm-up on {WARMUP_SERIES} series")


def seasonal_by_acf_test(y: np.ndarray, m: int) -> bool:
    """The classical 90% test: |r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n).

    ``r_k`` is the sample autocorrelation at lag k (Bartlett's standard error for the
    lags below m); series shorter than 3 seasons are taken as not seasonal.
    """
    n = y.size
    if m < 2 or n < 3 * m:
        return False
    d = y - y.mean()
    denom = float(d @ d)
    if denom == 0.0:
        return False
    r = np.array([float(d[:-k] @ d[k:]) / denom for k in range(1, m + 1)])
    limit = 1.645 * np.sqrt((1.0 + 2.0 * float(r[:-1] @ r[:-1])) / n)
    return abs(r[-1]) > limit


def run_statsmodels(train: list[np.ndarray], h: int) -> Result | str:
    try:
        import statsmodels
        from statsmodels.tsa.holtwinters import ExponentialSmoothing
    except ImportError as e:
        return f"statsmodels ExponentialSmoothing: not installed ({e})"
    mean = np.empty((len(train), h))
    n_seasonal = failed = 0
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k, y in enumerate(train):
            seasonal = seasonal_by_acf_test(y, SEASON)
            n_seasonal += seasonal
            try:
                fit = ExponentialSmoothing(
                    y, trend="add", damped_trend=True,
                    seasonal="mul" if seasonal else None,
                    seasonal_periods=SEASON if seasonal else None,
                    initialization_method="estimated").fit()
                mean[k] = fit.forecast(h)
            except (ValueError, np.linalg.LinAlgError):
                mean[k] = np.nan
            if not np.isfinite(mean[k]).all():
                failed += 1
                mean[k] = seasonal_naive(y, h, SEASON)
    seconds = time.perf_counter() - start
    note = (f"statsmodels {statsmodels.__version__}; seasonal (multiplicative) on "
            f"{n_seasonal} of {len(train)} series by the 90% test{warned(caught)}")
    if failed:
        note += f"; {failed} fit(s) failed, seasonal naive in their place"
    return Result("statsmodels ExpSmoothing", seconds, mean, None, note)


def run_baseline(name: str, forecaster, train: list[np.ndarray], h: int) -> Result:
    start = time.perf_counter()
    mean = forecaster(train, h)
    return Result(name, time.perf_counter() - start, mean)


# --------------------------------------------------------------------------------------
# Scoring and the table
# --------------------------------------------------------------------------------------


def score(r: Result, train: list[np.ndarray], test: np.ndarray) -> dict[str, float | None]:
    cov = {lv: None for lv in LEVELS}
    if r.intervals is not None:
        cov = {lv: 100.0 * coverage(test, lo, hi) for lv, (lo, hi) in r.intervals.items()}
    return {"smape": float(np.mean(smape(test, r.mean))),
            "mase": float(np.mean(mase(train, test, r.mean, SEASON))),
            **{f"cov{lv}": c for lv, c in cov.items()}, "seconds": r.seconds}


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(scores: dict[str, dict[str, float | None]]) -> None:
    ref = scores.get(REFERENCE)
    headers = ["method", "sMAPE", "MASE", *(f"cov {lv}%" for lv in LEVELS), "seconds",
               "sMAPE/AutoETS", "time/AutoETS"]
    rows = []
    for method, s in scores.items():
        ratios = (["-", "-"] if ref is None else
                  [f"{s['smape'] / ref['smape']:.3f}", f"{s['seconds'] / ref['seconds']:.3f}"])
        rows.append([method, fmt(s["smape"]), fmt(s["mase"], 3),
                     *(fmt(s[f"cov{lv}"], 1) for lv in LEVELS), fmt(s["seconds"], 1), *ratios])
    _harness.print_rows(headers, rows)


def check_goals(scores: dict[str, dict[str, float | None]]) -> bool | None:
    """Print whether gradkit's ETS meets the goals; None when they cannot be checked."""
    ours, ref = scores.get("gradkit ETS"), scores.get(REFERENCE)
    if ours is None or ref is None:
        missing = "gradkit ETS" if ours is None else REFERENCE
        print(f"\ngoals: not checked ({missing} did not run)")
        return None
    checks = [
        (f"sMAPE {ours['smape']:.2f} < AutoETS's {ref['smape']:.2f}",
         ours["smape"] < ref["smape"]),
        (f"time {ours['seconds']:.1f} s <= half AutoETS's {ref['seconds']:.1f} s",
         ours["seconds"] <= ref["seconds"] / 2),
    ]
    for lv in LEVELS:
        cov = ours[f"cov{lv}"]
        checks.append((f"{lv}% coverage {fmt(cov, 1)} within {GOAL_COVERAGE_POINTS:g} points",
                       cov is not None and abs(cov - lv) <= GOAL_COVERAGE_POINTS))
    met = all(ok for _, ok in checks)
    print("\ngoals: " + "; ".join(f"{text}: {'yes' if ok else 'NO'}" for text, ok in checks)
          + f" -> {'all met' if met else 'MISSED'}")
    combo = scores.get("gradkit ETS + Theta")
    if combo is not None:
        below = combo["smape"] < THETA_PUBLISHED
        print(f"stretch: ETS + Theta sMAPE {combo['smape']:.2f} < {THETA_PUBLISHED:.2f}, the "
              f"Theta method's published M3 figure: {'yes' if below else 'no'} (gradkit Theta "
              f"alone: {fmt(scores.get('gradkit Theta', {}).get('smape'))})")
    return met


def main() -> int:
    args = parse_args()
    if not args.data.is_file():
        print(f"skipped: M3 data not found at {args.data} (get ../shared/data/m3 next to the "
              "repository, or pass --data PATH)")
        return 0
    series = read_m3(args.data, season_length=SEASON)
    if args.quick is not None:
        series = series[:args.quick]
    horizons = {s.horizon for s in series}
    if len(horizons) != 1:
        print(f"error: the series of {args.data} have several horizons {sorted(horizons)}",
              file=sys.stderr)
        return 2
    h = horizons.pop()
    train = [s.train for s in series]
    test = np.stack([s.test for s in series])

    libraries = [("statsforecast", "statsforecast"), ("statsmodels", "statsmodels"),
                 ("pandas", "pandas")]
    _harness.print_environment(libraries, {}, None,
                               "each method fits and forecasts every series once; seconds are "
                               "wall time of that, data preparation excluded")
    print(f"\n{args.data}: {len(series)} series, horizon {h}, season length {SEASON}\n")

    runners = [("gradkit ETS", lambda: run_gradkit(train, h)),
               ("gradkit ETS, no transform",
                lambda: run_gradkit(train, h, None, "gradkit ETS, no transform")),
               ("gradkit Theta", lambda: run_theta(train, h)),
               ("gradkit ETS + Theta", lambda: run_combination(results)),
               (REFERENCE, lambda: run_statsforecast(train, h))]
    if not args.skip_statsmodels:
        runners.append(("statsmodels", lambda: run_statsmodels(train, h)))
    runners += [
        ("seasonal naive", lambda: run_baseline(
            "seasonal naive", lambda t, k: seasonal_naive(t, k, SEASON), train, h)),
        ("SES alpha 0.3", lambda: run_baseline(
            "SES alpha 0.3", lambda t, k: ses_fixed(t, k, alpha=0.3), train, h)),
    ]
    scores: dict[str, dict[str, float | None]] = {}
    results: dict[str, Result] = {}
    notes: list[str] = []
    for label, runner in runners:
        print(f"running {label} ...", flush=True)
        try:
            result = runner()
        except Exception as e:  # one failing method must not lose the others' numbers
            notes.append(f"{label} failed:\n{_harness.last_lines(e)}")
            continue
        if isinstance(result, str):
            print(f"  {result}")
            notes.append(result)
            continue
        results[result.method] = result
        scores[result.method] = score(result, train, test)
        print(f"  {result.seconds:.1f} s")
        if result.note:
            notes.append(f"{result.method}: {result.note}")
    if args.skip_statsmodels:
        notes.append("statsmodels skipped (--skip-statsmodels)")
    print()
    print_table(scores)
    _harness.print_notes(notes)
    return 1 if check_goals(scores) is False else 0


if __name__ == "__main__":
    _harness.run_single_threaded(lambda: sys.exit(main()))
