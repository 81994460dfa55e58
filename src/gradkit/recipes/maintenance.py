"""Predictive maintenance: a streaming derivative-based anomaly detector, scored as NAB scores.

Every series of the Numenta Anomaly Benchmark (58 files, 7 categories: machine
temperatures, cloud metrics, ad exchanges, traffic, tweets and artificial ones, shipped
compressed with gradkit) is scored row by row by
:class:`gradkit.anomaly.detector.DerivativeDetector`: causal derivatives of the series,
running z-scores of level, slope, curvature and of the difference from the day before,
their largest calibrated by its running rarity, and records beyond the range seen so far.
With ``learn``, the surprises are combined by weights fitted with gradkit's autodiff
instead, those that score a file fitted on the other half of the corpus (halves drawn by
a seeded shuffle within each category), so no file's labels tune its own scores. The
corpus is scored by NAB's rules
(:mod:`gradkit.anomaly.nab`): one threshold for all files, chosen as NAB chooses it for
every published detector, and also chosen on one half and applied to the other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as onp

from ..anomaly.detector import DerivativeDetector, rows_per_day
from ._rundir import RunDir
from ._spec import Spec, at_least, in_range, positive, refuse
from .shared.figures import new_figure, save_figure

__all__ = ["Config", "SPEC", "run", "load_nab", "PUBLISHED"]

_ZIP = Path(__file__).parent / "data" / "nab" / "nab_corpus.zip"

PUBLISHED = {"ARTime": 74.85, "numenta HTM": 70.10, "contextOSE": 69.90, "htmjava": 65.55,
             "numentaTM": 64.55, "earthgeckoSkyline": 58.20, "knncad": 57.99,
             "relativeEntropy": 54.64, "randomCutForest": 51.72, "twitterADVec": 47.06,
             "windowedGaussian": 39.65}
"""NAB's published standard-profile corpus scores (results/final_results.json, ea702d7)."""

SPEC = Spec(
    name="maintenance",
    summary="streaming derivative-based anomaly detection on the whole NAB corpus, scored "
            "by NAB's rules",
    metric="nab_standard", higher_is_better=True, goal=64.55,
    baseline="NAB numentaTM (published corpus score)", baseline_source="published",
    requires=("scipy", "matplotlib"))


@dataclass(frozen=True)
class Config:
    """Settings of the maintenance recipe.

    Parameters
    ----------
    data : str or None
        None: the shipped corpus. Otherwise a folder laid out like NAB's repository
        (``data/<category>/*.csv``, ``labels/combined_windows.json``).
    slope_window, curvature_window, slow, fast, refractory, calibration, record_gap, \
record_scale, record_smooth
        The detector's settings (:class:`~gradkit.anomaly.detector.DerivativeDetector`);
        its surprise is the largest of the level, slope, curvature and seasonal surprises.
    seasonal : bool, default True
        Give the detector each file's rows per day (from its first two timestamps) as its
        ``period``: the seasonal surprise compares each row with the row a day earlier.
    weights : tuple of float
        Bias and feature weights of the logistic combination that ``learn`` starts from.
    learn : bool, default False
        Combine the features by weights fitted instead (logistic regression of "row in a
        window" by gradkit's autodiff), each half of the files scored by weights fitted
        on the other half. On NAB this scores lower than the default (see the docs):
        row-level window membership is a poor proxy for NAB's reward of early first
        detections.
    files_per_category : int, default 0
        Use only the first few files of each category (0: all).
    """

    data: str | None = None
    slope_window: int = 9
    curvature_window: int = 15
    slow: float = 0.01
    fast: float = 0.2
    refractory: int = 100
    calibration: float = 1e-4
    record_gap: float = 0.003
    record_scale: float = 0.01
    record_smooth: float = 0.05
    seasonal: bool = True
    weights: tuple[float, ...] = (-6.0, 1.0, 1.0, 1.0, 1.0, 0.0)
    learn: bool = False
    files_per_category: int = 0

    def __post_init__(self) -> None:
        at_least(self, "slope_window", 3)
        at_least(self, "curvature_window", 3)
        in_range(self, "slow", 1e-6, 1.0)
        in_range(self, "fast", 1e-6, 1.0)
        at_least(self, "refractory", 0)
        in_range(self, "calibration", 0.0, 0.5)
        in_range(self, "record_gap", 0.0, 1.0)
        positive(self, "record_scale")
        in_range(self, "record_smooth", 1e-6, 1.0)
        if self.files_per_category == 1 or self.files_per_category < 0:
            raise refuse(self, "files_per_category", "0 (all) or at least 2 (each half of "
                                                     "every category needs a file)")
        if self.data is not None and not Path(self.data).is_dir():
            raise refuse(self, "data", "a folder laid out like NAB's repository")

    @classmethod
    def smoke(cls) -> Config:
        return cls(files_per_category=2)

    def detector(self) -> DerivativeDetector:
        return DerivativeDetector(self.slope_window, self.curvature_window, self.slow,
                                  self.fast, self.refractory, "max", self.weights,
                                  self.calibration, 0, self.record_gap, self.record_scale,
                                  self.record_smooth)


def load_nab(data: str | None = None):
    """The NAB corpus (:class:`gradkit.anomaly.NABCorpus`): the shipped archive, or a
    folder laid out like NAB's repository."""
    from ..anomaly import load_corpus

    return load_corpus(_ZIP if data is None else data)


_MACHINE = "realKnownCause/machine_temperature_system_failure.csv"


def _halves(names: list[str], seed: int) -> tuple[list[str], list[str]]:
    """Two halves of the files, drawn by a seeded shuffle within each category."""
    rng = onp.random.default_rng(seed)
    first, second = [], []
    for category in sorted({n.split("/")[0] for n in names}):
        members = [n for n in names if n.split("/")[0] == category]
        order = rng.permutation(len(members))
        k = (len(members) + 1) // 2
        first += [members[i] for i in order[:k]]
        second += [members[i] for i in order[k:]]
    return sorted(first), sorted(second)


def _inside(n_rows: int, windows: onp.ndarray) -> onp.ndarray:
    """Rows inside a window, as booleans."""
    mark = onp.zeros(n_rows + 1, dtype=onp.int64)
    onp.add.at(mark, windows[:, 0], 1)
    onp.add.at(mark, windows[:, 1] + 1, -1)
    return onp.cumsum(mark)[:n_rows] > 0


def run(cfg: Config, rd: RunDir) -> dict:
    """Score every file with weights fitted on the other half; score the corpus as NAB.

    Figures: ``machine_temperature.png`` and ``worst.png`` (a series, its slope
    feature, the windows, the probationary period and the alarms).
    """
    from ..anomaly import nab

    corpus = load_nab(cfg.data)
    series = corpus.series
    names = sorted(series)
    if cfg.files_per_category:
        keep = {}
        for name in names:
            keep.setdefault(name.split("/")[0], []).append(name)
        names = sorted(n for group in keep.values() for n in group[:cfg.files_per_category])
    labels = {n: corpus.windows[n] for n in names}
    half_a, half_b = _halves(names, rd.seed)
    base = cfg.detector()
    periods = {n: rows_per_day(series[n][0]) if cfg.seasonal else 0 for n in names}

    def fit(train: list[str]) -> DerivativeDetector:
        return base.fit([series[n][1] for n in train],
                        [_inside(len(series[n][1]), labels[n]) for n in train],
                        periods=[periods[n] for n in train])

    def weights():
        if not cfg.learn:
            return {}, {"for_a": list(cfg.weights), "for_b": list(cfg.weights)}
        # Each half is scored by the weights fitted on the other: no file's labels tune
        # its own scores.
        for_a, for_b = fit(half_b), fit(half_a)
        return {}, {"for_a": list(for_a.weights), "for_b": list(for_b.weights)}

    _, w = rd.stage("weights", weights)

    def scoring():
        combine = "logistic" if cfg.learn else "max"
        det_a = replace(base, combine=combine, weights=tuple(w["for_a"]))
        det_b = replace(base, combine=combine, weights=tuple(w["for_b"]))
        out = {}
        for n in names:  # one call per file; each call is vectorised over the rows
            det = det_a if n in half_a else det_b
            out[n.replace("/", "|")] = replace(det, period=periods[n]).score(series[n][1])
        return out, {}

    stored, _ = rd.stage("scores", scoring)
    scores = {n.replace("|", "/"): v for n, v in stored.items()}
    _, chosen = rd.stage("thresholds", lambda: ({}, {
        p: nab.best_threshold(scores, p, labels=labels).threshold for p in nab.PROFILES}))
    results = {p: nab.score_corpus(scores, t, p, labels=labels) for p, t in chosen.items()}
    standard = results["standard"]

    def transfer(tune: list[str], apply: list[str]) -> float:
        t = nab.best_threshold({n: scores[n] for n in tune}, "standard",
                               labels={n: labels[n] for n in tune}).threshold
        return nab.score_corpus({n: scores[n] for n in apply}, t, "standard",
                                labels={n: labels[n] for n in apply}).normalised

    per_file = {n: f.normalised for n, f in standard.files.items()}
    scored = {n: v for n, v in per_file.items() if onp.isfinite(v)}
    worst = min(scored, key=scored.get)
    shown = [(_MACHINE, "machine_temperature")] if _MACHINE in names else []
    shown.append((worst, "worst"))
    for name, stem in shown:
        _plot_file(name, base, series[name][1], scores[name], labels[name],
                   nab.probation_length(len(series[name][1])), standard.threshold,
                   rd.figure_path(stem))
    totals = {k: int(sum(getattr(f, k) for f in standard.files.values()))
              for k in ("windows_detected", "windows_missed", "fp")}
    all_windows = totals["windows_detected"] + totals["windows_missed"]
    rd.say(f"  profiles: standard {standard.normalised:.2f}, reward_low_FP_rate "
           f"{results['reward_low_FP_rate'].normalised:.2f}, reward_low_FN_rate "
           f"{results['reward_low_FN_rate'].normalised:.2f}; windows detected "
           f"{totals['windows_detected']} of {all_windows}")
    return {
        "value": standard.normalised, "baseline_value": PUBLISHED["numentaTM"],
        "profiles": {p: {"score": r.normalised, "threshold": r.threshold}
                     for p, r in results.items()},
        "half_and_half": {"tuned_on_a_applied_to_b": transfer(half_a, half_b),
                          "tuned_on_b_applied_to_a": transfer(half_b, half_a)},
        # A category without windows (artificialNoAnomaly) has no normalised score.
        "categories": {c: (v if onp.isfinite(v) else None)
                       for c, v in standard.by_category().items()},
        "files": len(names), "windows": int(sum(len(v) for v in labels.values())),
        **totals,
        "machine_temperature": per_file.get(_MACHINE),
        "worst_file": {"name": worst, "score": scored[worst]},
        "weights": w, "published": PUBLISHED,
    }


def _plot_file(name: str, det: DerivativeDetector, values, score, windows, probation: int,
               threshold: float, path: Path) -> None:
    """The series, the slope feature of the detector that scored it, windows and alarms."""
    slope = det.features(values)[:, 1]
    fig, (ax1, ax2) = new_figure(2, 1, figsize=(10, 5), sharex=True)
    t = onp.arange(len(values))
    ax1.plot(t, values, lw=0.7, color="0.2")
    for start, end in windows:
        ax1.axvspan(start, end, color="C1", alpha=0.25)
        ax2.axvspan(start, end, color="C1", alpha=0.25)
    ax1.axvspan(0, probation, color="0.8", alpha=0.5)
    alarms = onp.flatnonzero(score >= threshold)
    ax1.plot(alarms, values[alarms], "v", color="C3", ms=6, label="alarms")
    ax1.set_title(name, fontsize=9)
    ax1.legend(fontsize=7)
    ax2.plot(t, slope, lw=0.7, color="C0", label="log(1 + |slope z-score|)")
    ax2.set_xlabel("row")
    ax2.legend(fontsize=7)
    save_figure(fig, path)
