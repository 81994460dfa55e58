"""Demand forecasting: exponential smoothing fitted by autodiff, the model chosen by AICc.

Each series is forecast by the ETS family (error, trend and season each additive,
multiplicative or none; :class:`gradkit.timeseries.AutoETS`): all fifteen candidate
models are fitted to all series at once by maximum likelihood, with gradients from
gradkit's reverse mode through the smoothing recursion and a per-series L-BFGS, and
each series keeps the model with the lowest AICc. Point forecasts come with 80% and 95%
prediction intervals. The shipped data are three monthly series (AirPassengers, US
retail sales, euro-area electrical-equipment orders), each scored on its last 24 months
against the seasonal naive forecast (the goal), the seed's flat exponential smoothing
with alpha 0.3, the Theta method and the mean of ETS and Theta. ``--set data=PATH`` takes
any CSV in the M3 layout or with date and value columns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from ..timeseries import MODELS, AutoETS, Theta
from ..timeseries.datasets import Series, read_m3, read_series
from ..timeseries.metrics import coverage, mean_mase, mean_smape, seasonal_naive, ses_fixed
from ._rundir import RunDir
from ._spec import ConfigError, Spec, at_least, refuse
from .shared.figures import new_figure, save_figure

__all__ = ["Config", "SPEC", "run", "load", "SHIPPED"]

_DATA = Path(__file__).parent / "data" / "forecasting"
SHIPPED = ("airline_passengers", "us_retail_sales_RSXFSN", "elec_equip")

PUBLISHED_AIRPASSENGERS_MAPE = 6.39
"""statsmodels Holt-Winters (additive trend, multiplicative season) on AirPassengers,
trained on 1949-1958, MAPE on the last 24 months (the issue's measurement)."""

SPEC = Spec(
    name="forecast",
    summary="demand forecasting: ETS fitted by autodiff, the model chosen by AICc, with "
            "prediction intervals",
    metric="smape", higher_is_better=False,
    goal="the seasonal naive forecast's sMAPE (measured in the run)",
    baseline="seasonal naive forecast", baseline_source="measured",
    requires=("matplotlib",), timing_keys=("seconds", "fit_seconds"))


@dataclass(frozen=True)
class Config:
    """Settings of the forecast recipe.

    Parameters
    ----------
    data : str or None, default None
        None: the three shipped monthly series. Otherwise a CSV in the M3 layout (a row
        per series: ``series,category,start_year,start_period,n_total,horizon,v1,...``)
        or a CSV with a date and a value column.
    season_length : int, default 12
        12 monthly, 4 quarterly, 1 otherwise.
    test_size : int, default 24
        The last observations of a date,value file that are forecast and scored.
    transform : {"log", "none"}, default "log"
        Fit the models to the logarithm of the data (forecast::ets's Box-Cox lambda 0).
    models : tuple of str
        The candidates (default all fifteen).
    nsim : int, default 2000
        Simulated futures per series for the prediction intervals.
    max_iter : int, default 150
        L-BFGS iterations per series and model, at most.
    compare_untransformed : bool, default True
        Also fit without the transform, to report its figures beside.
    """

    data: str | None = None
    season_length: int = 12
    test_size: int = 24
    transform: str = "log"
    models: tuple[str, ...] = MODELS
    nsim: int = 2000
    max_iter: int = 150
    compare_untransformed: bool = True

    def __post_init__(self) -> None:
        at_least(self, "season_length", 1)
        at_least(self, "test_size", 1)
        at_least(self, "nsim", 100)
        at_least(self, "max_iter", 1)
        if self.transform not in ("log", "none"):
            raise refuse(self, "transform", "'log' or 'none'")
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise refuse(self, "models", f"one or more of {', '.join(MODELS)}")
        if self.data is not None and not Path(self.data).is_file():
            raise refuse(self, "data", "a CSV file (M3 layout, or date and value columns)")

    @classmethod
    def smoke(cls) -> Config:
        return cls(models=("ANN", "AAN", "ANA", "MNM"), nsim=200, max_iter=40,
                   compare_untransformed=False)


def load(cfg: Config) -> list[Series]:
    """The series of the run: the shipped ones, or those of ``cfg.data``."""
    if cfg.data is None:
        return [read_series(_DATA / f"{name}.csv", test_size=cfg.test_size)
                for name in SHIPPED]
    path = Path(cfg.data)
    with open(path, encoding="utf-8") as f:
        header = f.readline().strip().lower()
    if header.startswith("series,category"):
        return read_m3(path, season_length=cfg.season_length)
    return [read_series(path, test_size=cfg.test_size)]


def _forecasts(series: list[Series], cfg: Config, transform: str | None) -> tuple[dict, dict]:
    started = time.perf_counter()
    model = AutoETS(cfg.season_length, models=cfg.models, transform=transform)
    fit = model.fit([s.train for s in series], max_iter=cfg.max_iter)
    fc = fit.forecast(series[0].horizon, level=(80, 95), nsim=cfg.nsim, seed=0)
    return ({"mean": fc["mean"], "lo80": fc["lo-80"], "hi80": fc["hi-80"],
             "lo95": fc["lo-95"], "hi95": fc["hi-95"]},
            {"models": fit.models, "fit_seconds": round(time.perf_counter() - started, 3),
             "converged": float(onp.mean(fit.converged)),
             "alpha": [round(float(a), 6) for a in fit.params["alpha"]]})


def _scores(series: list[Series], cfg: Config, f: onp.ndarray) -> dict:
    y = onp.stack([s.test for s in series])
    train = [s.train for s in series]
    return {"smape": mean_smape(y, f), "mase": mean_mase(train, y, f, cfg.season_length)}


def run(cfg: Config, rd: RunDir) -> dict:
    """Forecast every series with AutoETS; score it against seasonal naive and SES 0.3.

    Figures: ``forecasts.png`` (up to three series with their intervals), ``smape.png``
    (each method's sMAPE).
    """
    series = load(cfg)
    horizons = {s.horizon for s in series}
    if len(horizons) != 1:
        raise ConfigError(f"recipes.forecast: the series of {cfg.data} have different test "
                          f"lengths {sorted(horizons)}; give one file per horizon")
    transform = None if cfg.transform == "none" else "log"
    ets, info = rd.stage("ets", lambda: _forecasts(series, cfg, transform))
    h = series[0].horizon
    train = [s.train for s in series]

    def baselines():
        return {"snaive": seasonal_naive(train, h, cfg.season_length),
                "ses": ses_fixed(train, h, alpha=0.3),
                "theta": Theta(cfg.season_length).fit(train).forecast(h)}, {}

    base, _ = rd.stage("baselines", baselines)
    raw = None
    if cfg.compare_untransformed and transform is not None:
        raw = rd.stage("untransformed", lambda: _forecasts(series, cfg, None))
    y = onp.stack([s.test for s in series])
    ours = _scores(series, cfg, ets["mean"])
    snaive = _scores(series, cfg, base["snaive"])
    ses = _scores(series, cfg, base["ses"])
    per_series = {s.name: {"model": info["models"][i],
                           "smape": float(mean_smape(y[i:i + 1], ets["mean"][i:i + 1])),
                           "mape": float(100 * onp.mean(onp.abs(y[i] - ets["mean"][i])
                                                        / onp.abs(y[i])))}
                  for i, s in enumerate(series[:50])}
    result = {
        "value": ours["smape"], "goal": snaive["smape"], "baseline_value": snaive["smape"],
        "mase": ours["mase"],
        "coverage_80": coverage(y, ets["lo80"], ets["hi80"]),
        "coverage_95": coverage(y, ets["lo95"], ets["hi95"]),
        "n_series": len(series), "horizon": h, "transform": cfg.transform,
        "models_chosen": _counts(info["models"]), "converged": info["converged"],
        "fit_seconds": info["fit_seconds"],
        "seasonal_naive": snaive, "ses_alpha_0.3": ses,
        "theta": _scores(series, cfg, base["theta"]),
        "ets_theta_mean": _scores(series, cfg, (ets["mean"] + base["theta"]) / 2),
        "series": per_series,
    }
    if raw is not None:
        result["untransformed"] = {**_scores(series, cfg, raw[0]["mean"]),
                                   "models_chosen": _counts(raw[1]["models"])}
    names = [s.name for s in series]
    if "airline_passengers" in names:
        i = names.index("airline_passengers")
        result["airpassengers"] = {
            "mape": per_series["airline_passengers"]["mape"],
            "model": info["models"][i],
            "published_holt_winters_mape": PUBLISHED_AIRPASSENGERS_MAPE}
        if raw is not None:
            result["airpassengers"]["untransformed_mape"] = float(100 * onp.mean(
                onp.abs(y[i] - raw[0]["mean"][i]) / y[i]))
            result["airpassengers"]["untransformed_model"] = raw[1]["models"][i]
    _plot_forecasts(series, ets, info["models"], rd.figure_path("forecasts"))
    _plot_smape(result, rd.figure_path("smape"))
    rd.say(f"  {len(series)} series, h={h}: ETS sMAPE {ours['smape']:.3f}, seasonal naive "
           f"{snaive['smape']:.3f}, SES 0.3 {ses['smape']:.3f}; interval coverage "
           f"{100 * result['coverage_80']:.1f}% (80%), {100 * result['coverage_95']:.1f}% "
           f"(95%)")
    return result


def _counts(models: list[str]) -> dict:
    names, counts = onp.unique(models, return_counts=True)
    order = onp.argsort(-counts, kind="stable")
    return {str(names[k]): int(counts[k]) for k in order}


def _plot_forecasts(series: list[Series], ets: dict, models: list[str], path: Path) -> None:
    shown = series[:3]
    fig, axes = new_figure(len(shown), 1, figsize=(9, 2.8 * len(shown)), squeeze=False)
    for i, (ax, s) in enumerate(zip(axes[:, 0], shown)):
        n = len(s.train)
        t_train, t_test = onp.arange(n), onp.arange(n, n + s.horizon)
        ax.plot(t_train, s.train, color="0.3", lw=1, label="training data")
        ax.plot(t_test, s.test, color="k", lw=1.5, label="actual (test part)")
        ax.fill_between(t_test, ets["lo95"][i], ets["hi95"][i], color="C0", alpha=0.15,
                        label="95% interval")
        ax.fill_between(t_test, ets["lo80"][i], ets["hi80"][i], color="C0", alpha=0.3,
                        label="80% interval")
        ax.plot(t_test, ets["mean"][i], color="C0", lw=1.5, label=f"ETS {models[i]}")
        ax.set_title(f"{s.name}: ETS({models[i]}) forecast", fontsize=9)
        ax.set_xlabel("month")
        if i == 0:
            ax.legend(fontsize=7, loc="upper left")
    save_figure(fig, path)


def _plot_smape(result: dict, path: Path) -> None:
    labels = ["ETS (AICc)", "Theta", "ETS + Theta", "seasonal naive", "SES alpha 0.3"]
    values = [result["value"], result["theta"]["smape"], result["ets_theta_mean"]["smape"],
              result["seasonal_naive"]["smape"], result["ses_alpha_0.3"]["smape"]]
    if "untransformed" in result:
        labels.insert(1, "ETS, no log")
        values.insert(1, result["untransformed"]["smape"])
    fig, ax = new_figure(figsize=(6.4, 3.2))
    ax.barh(labels[::-1], values[::-1], color=["C7"] * (len(values) - 1) + ["C0"])
    for k, v in enumerate(values[::-1]):
        ax.text(v, k, f" {v:.2f}", va="center", fontsize=8)
    ax.set_xlabel("sMAPE on the test part (lower is better)")
    ax.set_title(f"{result['n_series']} series, horizon {result['horizon']}", fontsize=9)
    save_figure(fig, path)
