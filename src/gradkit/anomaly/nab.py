"""The Numenta Anomaly Benchmark's scoring rules (NAB v1.1), in NumPy.

A detector gives every row of a series an anomaly score; a threshold turns the scores
into detections (``score >= threshold``). NAB then scores each file as follows
(Lavin & Ahmad, ICMLA 2015, and NAB's ``nab/sweeper.py``):

* the first 15% of the rows (at most 750) are a probationary period and are ignored;
* each labelled window of ``W`` rows, ending at row ``R``, earns the weight of its
  earliest detection at row ``i``, ``A_TP * S(-(R - i + 1) / W) / S(-1)`` (so the window's
  first row earns exactly ``A_TP``), or ``-A_FN`` when nothing in it is detected;
  ``S(x) = 2 / (1 + exp(5 x)) - 1`` is NAB's scaled sigmoid, ``-1`` for ``x > 3``;
* a detection outside every window costs ``A_FP * S((i - R) / (W - 1))`` after a window
  ending at row ``R`` with ``W`` rows (little right after the window, the full ``-A_FP``
  from three window widths on), and ``-A_FP`` before the first window;
* a file's raw score is the sum of those terms, and the corpus score is
  ``100 * (raw - null) / (perfect - null)`` with the sums taken over all files, ``null``
  the raw score of a detector that detects nothing and ``perfect`` ``A_TP`` times the
  number of labelled windows.

One threshold serves every file; NAB's optimiser picks the one that maximises the corpus
score over the distinct scores the rows take (:func:`best_threshold`).

Examples
--------
>>> import numpy as np
>>> from gradkit.anomaly import score_file
>>> scores = np.zeros(100)
>>> scores[40] = 1.0                      # the first row of the window [40, 49]
>>> score_file(scores, [(40, 49)], 0.5).raw
1.0
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GradkitError
from ..validation import check_real, describe, invalid, is_integer

__all__ = ["Profile", "PROFILES", "PROBATION_PERCENT", "probation_length", "scaled_sigmoid",
           "window_rows", "FileScore", "CorpusScore", "NABCorpus", "score_file",
           "score_corpus", "threshold_sweep", "best_threshold", "load_corpus"]

#: The share of each file's rows that is probationary (NAB's ``probationPercent``).
PROBATION_PERCENT = 0.15
# NAB caps the probation at probationPercent * 5000 rows, i.e. 750.
_PROBATION_CAP_ROWS = 5000
# Past three window widths a false positive costs the full weight (scaledSigmoid's clip).
_FAR = 3.0


@dataclass(frozen=True)
class Profile:
    """The weights of one NAB application profile (its ``CostMatrix``).

    Parameters
    ----------
    name : str
        The profile's name in ``profiles.json``.
    tp_weight, fp_weight, fn_weight, tn_weight : float
        NAB's ``A_TP``, ``A_FP``, ``A_FN`` and ``A_TN``. NAB's rules never use ``A_TN``
        (true negatives score 0); it is kept so that a profile reads as the file does.

    Examples
    --------
    >>> from gradkit.anomaly import PROFILES
    >>> PROFILES["reward_low_FN_rate"].fn_weight
    2.0
    """

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float
    tn_weight: float = 1.0


#: NAB's three profiles, the values of ``config/profiles.json`` (NAB commit ea702d7).
PROFILES: dict[str, Profile] = {
    "standard": Profile("standard", tp_weight=1.0, fp_weight=0.11, fn_weight=1.0),
    "reward_low_FP_rate": Profile("reward_low_FP_rate", tp_weight=1.0, fp_weight=0.22,
                                  fn_weight=1.0),
    "reward_low_FN_rate": Profile("reward_low_FN_rate", tp_weight=1.0, fp_weight=0.11,
                                  fn_weight=2.0),
}


def probation_length(n_rows: int) -> int:
    """The number of leading rows NAB ignores: ``min(floor(0.15 n), 750)``.

    Examples
    --------
    >>> from gradkit.anomaly import probation_length
    >>> probation_length(4032), probation_length(22695), probation_length(100)
    (604, 750, 15)
    """
    if not (is_integer(n_rows) and n_rows >= 0):
        raise invalid("anomaly.probation_length", "n_rows", "a non-negative integer", n_rows)
    # The same floating-point product as NAB's, so that the rounding agrees row for row.
    return int(min(math.floor(PROBATION_PERCENT * n_rows),
                   PROBATION_PERCENT * _PROBATION_CAP_ROWS))


def scaled_sigmoid(x) -> np.ndarray:
    """NAB's scaled sigmoid ``2 / (1 + exp(5 x)) - 1``, and ``-1`` where ``x > 3``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.anomaly import scaled_sigmoid
    >>> np.round(scaled_sigmoid([-1.0, -0.5, 0.0, 1.0, 3.5]), 5)
    array([ 0.98661,  0.84828,  0.     , -0.98661, -1.     ])
    """
    x = np.asarray(x, dtype=np.float64)
    # The clip keeps exp from overflowing; it changes no value (both ends are saturated).
    inner = 2.0 / (1.0 + np.exp(5.0 * np.clip(x, -50.0, _FAR))) - 1.0
    return np.where(x > _FAR, -1.0, inner)


_MAX_TP = float(scaled_sigmoid(-1.0))


# -- argument checks -------------------------------------------------------------------


def _profile(profile, call: str) -> Profile:
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str) and profile in PROFILES:
        return PROFILES[profile]
    raise invalid(call, "profile", "a Profile or one of " + ", ".join(map(repr, PROFILES)),
                  profile)


def _scores(value, name: str, call: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype.kind not in "biuf" or arr.ndim != 1 or arr.size == 0:
        raise invalid(call, name, "a non-empty 1-D array of real numbers", value)
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise invalid(call, name, "finite", got=f"{arr[i].item()!r} at row {i} "
                                                f"({int(bad.sum())} of {arr.size} rows)")
    return arr


def _windows(value, n_rows: int, name: str, call: str) -> np.ndarray:
    """``value`` as a (k, 2) int64 array of inclusive row ranges, sorted and disjoint."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = None
    if arr is not None and arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr is None or arr.dtype.kind not in "iu" or arr.ndim != 2 or arr.shape[1] != 2:
        raise invalid(call, name, "a (k, 2) array of integer row ranges [first, last]", value)
    arr = arr.astype(np.int64)
    starts, ends = arr[:, 0], arr[:, 1]
    if starts.min() < 0 or ends.max() >= n_rows or (ends < starts).any():
        raise invalid(call, name, f"row ranges with 0 <= first <= last < {n_rows} (the "
                                  "number of rows)", got=str(arr.tolist()))
    if (starts[1:] <= ends[:-1]).any():
        raise invalid(call, name, "sorted, non-overlapping row ranges", got=str(arr.tolist()))
    return arr


# -- one file --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """What NAB's rules say about each row of one file, whatever the detector."""

    weight: np.ndarray      # what a detection at the row scores (TP or FP weight)
    window: np.ndarray      # the row's window, -1 outside every window
    scorable: np.ndarray    # past the probationary period
    live_windows: np.ndarray  # the windows with at least one scorable row
    n_windows: int


def _layout(n: int, windows: np.ndarray, p: Profile) -> _Layout:
    rows = np.arange(n)
    scorable = rows >= probation_length(n)
    k = len(windows)
    if k == 0:
        return _Layout(np.full(n, -p.fp_weight), np.full(n, -1), scorable,
                       np.zeros(0, dtype=bool), 0)
    starts, ends = windows[:, 0], windows[:, 1]
    width = ends - starts + 1
    last = np.searchsorted(starts, rows, side="right") - 1   # the last window begun
    w = np.maximum(last, 0)
    inside = (last >= 0) & (rows <= ends[w])
    tp = p.tp_weight * scaled_sigmoid(-(ends[w] - rows + 1) / width[w]) / _MAX_TP
    # NAB divides by W - 1, which fails for a one-row window; its limit is "infinitely far".
    wide = width[w] > 1
    past = np.where(wide, (rows - ends[w]) / np.where(wide, width[w] - 1, 1), np.inf)
    fp = np.where(last >= 0, p.fp_weight * scaled_sigmoid(past), -p.fp_weight)
    return _Layout(np.where(inside, tp, fp), np.where(inside, last, -1), scorable,
                   ends >= probation_length(n), k)


@dataclass(frozen=True)
class FileScore:
    """NAB's score of one file at one threshold.

    Attributes
    ----------
    raw : float
        The file's NAB score: the windows' terms plus the false positives' terms.
    tp, fp, fn, tn : int
        NAB's counts of scorable rows (past the probationary period): detected rows in a
        window, detected rows outside every window, undetected rows in a window and
        undetected rows outside every window.
    windows_detected, windows_missed : int
        The windows with a scorable detection, and the scorable windows without one (a
        window wholly in the probationary period is neither).
    null, perfect : float
        The raw scores of the detector that detects nothing (``-A_FN`` per scorable window)
        and of the perfect detector (``A_TP`` per labelled window), for the normalisation.
    """

    raw: float
    tp: int
    fp: int
    fn: int
    tn: int
    windows_detected: int
    windows_missed: int
    null: float
    perfect: float

    @property
    def normalised(self) -> float:
        """``100 (raw - null) / (perfect - null)``; NaN for a file without windows."""
        span = self.perfect - self.null
        return 100.0 * (self.raw - self.null) / span if span != 0 else math.nan


def _score_file(scores: np.ndarray, windows: np.ndarray, threshold: float,
                p: Profile) -> FileScore:
    lay = _layout(scores.size, windows, p)
    detected = lay.scorable & (scores >= threshold)
    in_window = lay.window >= 0
    false_pos = detected & ~in_window
    hits = np.flatnonzero(detected & in_window)
    # Rows come in time order, so each window's first entry is its earliest detection:
    # NAB keeps the largest weight in a window, which is the earliest one's.
    hit_windows, first = np.unique(lay.window[hits], return_index=True)
    n_live = int(lay.live_windows.sum())
    raw = (float(lay.weight[false_pos].sum()) + float(lay.weight[hits[first]].sum())
           - p.fn_weight * (n_live - hit_windows.size))
    return FileScore(
        raw=raw, tp=int(hits.size), fp=int(false_pos.sum()),
        fn=int((lay.scorable & in_window & ~detected).sum()),
        tn=int((lay.scorable & ~in_window & ~detected).sum()),
        windows_detected=int(hit_windows.size), windows_missed=n_live - int(hit_windows.size),
        null=-p.fn_weight * n_live, perfect=p.tp_weight * lay.n_windows)


def score_file(scores, windows, threshold: float, profile: str | Profile = "standard"
               ) -> FileScore:
    """NAB's score of one file's anomaly scores at ``threshold``.

    Parameters
    ----------
    scores : array_like
        The detector's anomaly score of every row of the file, in row order.
    windows : array_like
        The file's labelled windows as rows ``[[first, last], ...]`` (inclusive, sorted,
        disjoint), as :func:`window_rows` gives them; empty for a file without anomalies.
    threshold : float
        A row is a detection when its score is at least ``threshold``.
    profile : str or Profile
        A name in :data:`PROFILES` or a :class:`Profile`.

    Returns
    -------
    FileScore

    Raises
    ------
    GradkitError
        When ``scores`` is not a non-empty 1-D array of finite numbers, ``windows`` not
        sorted disjoint row ranges inside it, ``threshold`` not a finite number or
        ``profile`` unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.anomaly import score_file
    >>> scores = np.zeros(100)
    >>> scores[[45, 41, 90]] = 1.0      # rows 41 and 45 in the window, row 90 far after it
    >>> s = score_file(scores, [(40, 49)], 0.5)
    >>> round(s.raw, 4), s.tp, s.fp, s.windows_detected
    (0.8813, 2, 1, 1)
    """
    call = "anomaly.score_file"
    arr = _scores(scores, "scores", call)
    return _score_file(arr, _windows(windows, arr.size, "windows", call),
                       check_real(threshold, "threshold", call), _profile(profile, call))


# -- the corpus ------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusScore:
    """NAB's score of a corpus (or of any set of its files) at one threshold.

    Attributes
    ----------
    threshold : float
        The threshold applied to every file.
    profile : Profile
        The weights used.
    files : dict of str to FileScore
        Each file's score, by NAB relative name.
    raw, null, perfect : float
        The sums over the files of their raw, null and perfect scores.
    """

    threshold: float
    profile: Profile
    files: dict[str, FileScore]
    raw: float
    null: float
    perfect: float

    @property
    def normalised(self) -> float:
        """NAB's corpus score ``100 (raw - null) / (perfect - null)`` (0 null, 100 perfect)."""
        return _normalise(self.raw, self.null, self.perfect)

    def by_category(self) -> dict[str, float]:
        """The normalised score of each category (the part of a name before ``/``).

        Each category is normalised by its own null and perfect scores, as if it were the
        whole corpus; a category without windows gets NaN.
        """
        sums: dict[str, list[float]] = {}
        for name, f in self.files.items():
            acc = sums.setdefault(name.split("/")[0], [0.0, 0.0, 0.0])
            acc[0] += f.raw
            acc[1] += f.null
            acc[2] += f.perfect
        return {cat: _normalise(*acc) for cat, acc in sorted(sums.items())}


def _normalise(raw, null, perfect):
    span = perfect - null
    return 100.0 * (raw - null) / span if span != 0 else math.nan


def _corpus_args(scores, labels, call: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each labelled file's (scores, windows), checked; the keys must match exactly."""
    if isinstance(labels, NABCorpus):
        labels = labels.windows
    if not isinstance(labels, Mapping) or not labels:
        raise invalid(call, "labels", "a non-empty mapping of file name to windows, or an "
                                      "NABCorpus", labels)
    if not isinstance(scores, Mapping):
        raise invalid(call, "scores", "a mapping of file name to per-row scores", scores)
    missing = [k for k in labels if k not in scores]
    extra = [k for k in scores if k not in labels]
    for what, names in (("no scores for", missing), ("scores for unlabelled", extra)):
        if names:
            more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            raise invalid(call, "scores", "a mapping with one entry per labelled file",
                          got=f"{what} {names[0]!r}{more}")
    out = {}
    for name in labels:
        arr = _scores(scores[name], f"scores[{name!r}]", call)
        out[name] = (arr, _windows(labels[name], arr.size, f"labels[{name!r}]", call))
    return out


def score_corpus(scores: Mapping, threshold: float, profile: str | Profile = "standard", *,
                 labels) -> CorpusScore:
    """NAB's score of a detector on a corpus at one threshold for every file.

    Parameters
    ----------
    scores : mapping of str to array_like
        Each file's per-row anomaly scores, by NAB relative name
        (``"realKnownCause/machine_temperature_system_failure.csv"``).
    threshold : float
        A row is a detection when its score is at least ``threshold``.
    profile : str or Profile
        A name in :data:`PROFILES` or a :class:`Profile`.
    labels : NABCorpus or mapping of str to array_like
        The files' windows as row ranges (:attr:`NABCorpus.windows`). The files scored
        are exactly these: pass a subset to score a subset (its own null and perfect
        scores normalise it), and ``scores`` must have the same names.

    Returns
    -------
    CorpusScore
        Its ``normalised`` is NAB's corpus score.

    Raises
    ------
    GradkitError
        When the names of ``scores`` and ``labels`` differ, or a file's scores or windows
        are malformed (the message names the file).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.anomaly import score_corpus
    >>> labels = {"a/x.csv": [(40, 49)], "a/y.csv": [(60, 69)]}
    >>> perfect = {"a/x.csv": np.eye(100)[40], "a/y.csv": np.eye(100)[60]}
    >>> score_corpus(perfect, 0.5, labels=labels).normalised
    100.0
    >>> score_corpus({k: np.zeros(100) for k in labels}, 0.5, labels=labels).normalised
    0.0
    """
    call = "anomaly.score_corpus"
    files = _corpus_args(scores, labels, call)
    thr = check_real(threshold, "threshold", call)
    p = _profile(profile, call)
    per_file = {name: _score_file(s, w, thr, p) for name, (s, w) in files.items()}
    return CorpusScore(
        threshold=thr, profile=p, files=per_file,
        raw=math.fsum(f.raw for f in per_file.values()),
        null=math.fsum(f.null for f in per_file.values()),
        perfect=math.fsum(f.perfect for f in per_file.values()))


def _events(scores: np.ndarray, windows: np.ndarray, p: Profile):
    """How one file's raw score changes as the threshold falls past each score.

    Returns the scores at which the raw score steps, the steps, and the raw score when
    nothing is detected. A false positive steps by its weight. In a window, the rows
    that beat every earlier row of the window are the only ones that can become its
    earliest detection; each steps the window's term from the weight of the next such
    row (or from ``-A_FN``) to its own.
    """
    lay = _layout(scores.size, windows, p)
    outside = lay.scorable & (lay.window < 0)
    at = [scores[outside]]
    step = [lay.weight[outside]]
    for k in np.flatnonzero(lay.live_windows):     # a few windows per file
        first = max(int(windows[k, 0]), probation_length(scores.size))
        s = scores[first:windows[k, 1] + 1]
        wt = lay.weight[first:windows[k, 1] + 1]
        prior = np.concatenate([[-np.inf], np.maximum.accumulate(s)[:-1]])
        rec = np.flatnonzero(s > prior)
        after = np.append(wt[rec[1:]], -p.fn_weight)
        at.append(s[rec])
        step.append(wt[rec] - after)
    return (np.concatenate(at), np.concatenate(step),
            -p.fn_weight * float(lay.live_windows.sum()))


def _nothing_threshold(top: float) -> float:
    # NAB's sweep starts at 1.1, above any score in [0, 1]; keep above larger scores too.
    return 1.1 if top < 1.1 else float(np.nextafter(top, np.inf))


def threshold_sweep(scores: Mapping, profile: str | Profile = "standard", *, labels
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The normalised corpus score at every threshold NAB's optimiser considers.

    The candidates are, from the highest down, one threshold above every score (nothing
    detected) and each distinct score of a scorable row (past the probationary period)
    of any file. All are scored at once: every file contributes the scores at which its
    raw score steps and the steps (a false positive's weight, or the change of a window's
    term when an earlier row of it becomes detected), and one sort and cumulative sum of
    all the steps give the corpus score at every candidate. The cost is that of sorting
    the rows; it agrees with :func:`score_corpus` at each candidate up to rounding.

    Parameters
    ----------
    scores, profile, labels
        As for :func:`score_corpus`.

    Returns
    -------
    thresholds, normalised : ndarray
        The candidate thresholds in decreasing order and the normalised corpus score at
        each.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.anomaly import threshold_sweep
    >>> scores = np.zeros(100)
    >>> scores[[41, 45, 90]] = [0.6, 0.9, 0.3]
    >>> t, s = threshold_sweep({"x.csv": scores}, labels={"x.csv": [(40, 49)]})
    >>> t.tolist(), np.round(s, 1).tolist()
    ([1.1, 0.9, 0.6, 0.3, 0.0], [0.0, 93.0, 99.6, 94.1, -301.4])
    """
    call = "anomaly.threshold_sweep"
    files = _corpus_args(scores, labels, call)
    p = _profile(profile, call)
    at, step, base, candidates = [], [], 0.0, []
    perfect = 0.0
    for s, w in files.values():
        a, d, b = _events(s, w, p)
        at.append(a)
        step.append(d)
        base += b
        perfect += p.tp_weight * len(w)
        candidates.append(s[probation_length(s.size):])
    at_all, step_all = np.concatenate(at), np.concatenate(step)
    order = np.argsort(-at_all, kind="stable")
    falling = at_all[order]
    total = np.concatenate([[0.0], np.cumsum(step_all[order])])
    pool = np.concatenate(candidates)
    distinct = np.unique(pool)[::-1]
    thresholds = np.concatenate([[_nothing_threshold(float(distinct[0]))], distinct])
    # Steps at scores >= t are taken at threshold t: count them in the falling order.
    taken = np.searchsorted(-falling, -thresholds, side="right")
    return thresholds, _normalise(base + total[taken], base, perfect)


def best_threshold(scores: Mapping, profile: str | Profile = "standard", *, labels
                   ) -> CorpusScore:
    """The corpus score at the threshold that maximises it, as NAB's optimiser picks it.

    NAB scores every candidate of :func:`threshold_sweep` and keeps the best, the highest
    threshold among equals; the chosen threshold is then scored by
    :func:`score_corpus`, which gives the per-file detail.

    Parameters
    ----------
    scores, profile, labels
        As for :func:`score_corpus`.

    Returns
    -------
    CorpusScore
        Its ``threshold`` is the chosen threshold.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.anomaly import best_threshold
    >>> scores = np.zeros(100)
    >>> scores[[41, 45, 90]] = [0.6, 0.9, 0.3]
    >>> best = best_threshold({"x.csv": scores}, labels={"x.csv": [(40, 49)]})
    >>> best.threshold, round(best.normalised, 1)
    (0.6, 99.6)
    """
    thresholds, normalised = threshold_sweep(scores, profile, labels=labels)
    best = float(thresholds[int(np.argmax(normalised))])
    return score_corpus(scores, best, profile, labels=labels)


# -- the data --------------------------------------------------------------------------


def window_rows(timestamps, window_times, name: str = "windows") -> np.ndarray:
    """A file's windows, given by their first and last timestamps, as row ranges.

    As NAB's sweeper does, a window starts at the first row whose timestamp equals its
    start and ends at the first row from there whose timestamp equals its end (a file's
    clock may repeat or step back, so rows are matched, not searched).

    Parameters
    ----------
    timestamps : array_like of datetime64
        The file's timestamps, in row order.
    window_times : array_like
        ``[[start, end], ...]``: datetime64 values or strings NumPy reads as such.
    name : str
        How an error message names the windows (a file's name).

    Returns
    -------
    ndarray of int64, shape (k, 2)

    Raises
    ------
    GradkitError
        When a window's start or end is not the timestamp of a row.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.anomaly import window_rows
    >>> t = np.arange("2020-01-01T00:00", "2020-01-01T01:00", 5, dtype="datetime64[m]")
    >>> window_rows(t, [["2020-01-01 00:10:00.000000", "2020-01-01 00:25:00.000000"]])
    array([[2, 5]])
    """
    call = "anomaly.window_rows"
    try:
        t = np.asarray(timestamps).astype("datetime64[us]")
        w = np.asarray(window_times).astype("datetime64[us]").reshape(-1, 2)
    except (TypeError, ValueError) as e:
        raise invalid(call, name, "timestamps NumPy reads as datetime64", got=str(e)) from None
    out = np.zeros((len(w), 2), dtype=np.int64)
    for k, (start, end) in enumerate(w):               # a few windows per file
        first = np.flatnonzero(t == start)
        last = np.flatnonzero(t[first[0]:] == end) if first.size else first
        if not (first.size and last.size):
            raise invalid(call, name, "windows that start and end at timestamps of rows",
                          got=f"window {k} [{start}, {end}]")
        out[k] = first[0], first[0] + last[0]
    return out


@dataclass(frozen=True)
class NABCorpus:
    """The NAB corpus as :func:`load_corpus` reads it.

    Attributes
    ----------
    series : dict of str to (ndarray, ndarray)
        Each file's timestamps (``datetime64[s]``) and values (float64), by NAB relative
        name, in name order.
    windows : dict of str to ndarray
        Each file's windows as (k, 2) inclusive row ranges (the ``labels`` of
        :func:`score_corpus`).
    window_times : dict of str to ndarray
        The same windows as (k, 2) ``datetime64[s]`` start and end timestamps.
    """

    series: dict[str, tuple[np.ndarray, np.ndarray]]
    windows: dict[str, np.ndarray]
    window_times: dict[str, np.ndarray]

    @property
    def categories(self) -> list[str]:
        """The categories (the folders of the files), sorted."""
        return sorted({name.split("/")[0] for name in self.series})


def _read_series(f, where: str, call: str) -> tuple[np.ndarray, np.ndarray]:
    """One CSV file's timestamps and values, from the open text file ``f``."""
    try:
        header = f.readline().strip()
        cells = np.loadtxt(f, delimiter=",", dtype=str, ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise GradkitError(f"{call}: {where}: not a readable CSV file ({e})") from None
    if header != "timestamp,value" or cells.shape[1] != 2 or cells.shape[0] == 0:
        raise GradkitError(f"{call}: {where}: must have a header 'timestamp,value' and rows "
                           f"of two columns, got header {header!r} and "
                           f"{cells.shape[0]} rows of {cells.shape[1]} columns")
    try:
        times = cells[:, 0].astype("datetime64[s]")
        values = cells[:, 1].astype(np.float64)
    except ValueError as e:
        raise GradkitError(f"{call}: {where}: unreadable timestamp or value ({e})") from None
    return times, values


_LABELS = "labels/combined_windows.json"


class _Folder:
    """The files of a corpus in a folder."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def has_layout(self) -> bool:
        return (self.base / "data").is_dir() and (self.base / _LABELS).is_file()

    def csv_names(self) -> list[str]:
        data = self.base / "data"
        return [p.relative_to(data).as_posix() for p in data.glob("*/*.csv")]

    def open(self, member: str):
        return open(self.base / member, encoding="utf-8")

    def close(self) -> None:
        pass


class _Archive:
    """The files of a corpus in a zip archive, with the folder's layout inside."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.zip = zipfile.ZipFile(base)
        self.members = set(self.zip.namelist())

    def has_layout(self) -> bool:
        return _LABELS in self.members

    def csv_names(self) -> list[str]:
        parts = (m.split("/") for m in self.members)
        return ["/".join(q[1:]) for q in parts
                if len(q) == 3 and q[0] == "data" and q[2].endswith(".csv")]

    def open(self, member: str):
        return io.TextIOWrapper(self.zip.open(member), encoding="utf-8")

    def close(self) -> None:
        self.zip.close()


def load_corpus(root: str | os.PathLike) -> NABCorpus:
    """Read a corpus laid out as NAB's: ``data/<category>/*.csv`` and the labels.

    Parameters
    ----------
    root : path
        A folder, or a zip archive, holding ``data/`` (CSV files with a
        ``timestamp,value`` header) and ``labels/combined_windows.json`` (each file's
        windows as timestamp pairs).

    Returns
    -------
    NABCorpus

    Raises
    ------
    GradkitError
        When a folder or file is missing or malformed, a data file has no labels (or
        labels name a missing file), or a window does not match the file's rows.

    Examples
    --------
    >>> import pathlib, tempfile, json
    >>> from gradkit.anomaly import load_corpus
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "data" / "demo").mkdir(parents=True)
    >>> (root / "labels").mkdir()
    >>> rows = "".join(f"2020-01-01 00:{m:02d}:00,{m}\\n" for m in range(10))
    >>> _ = (root / "data" / "demo" / "a.csv").write_text("timestamp,value\\n" + rows)
    >>> _ = (root / "labels" / "combined_windows.json").write_text(json.dumps(
    ...     {"demo/a.csv": [["2020-01-01 00:03:00.000000", "2020-01-01 00:05:00.000000"]]}))
    >>> corpus = load_corpus(root)
    >>> corpus.windows["demo/a.csv"], corpus.series["demo/a.csv"][1][:3]
    (array([[3, 5]]), array([0., 1., 2.]))
    """
    call = "anomaly.load_corpus"
    base = Path(os.fspath(root))
    source = (_Archive(base) if base.is_file() and zipfile.is_zipfile(base)
              else _Folder(base))
    try:
        return _read_corpus(source, base, call)
    finally:
        source.close()


def _read_corpus(source: _Folder | _Archive, base: Path, call: str) -> NABCorpus:
    if not source.has_layout():
        raise invalid(call, "root", f"a folder or zip archive with data/ and {_LABELS}",
                      str(base))
    where = f"{base}: {_LABELS}"
    try:
        with source.open(_LABELS) as f:
            labels = json.load(f)
    except (OSError, ValueError) as e:
        raise GradkitError(f"{call}: {where}: not readable JSON ({e})") from None
    if not isinstance(labels, dict):
        raise GradkitError(f"{call}: {where}: must map file names to windows, got "
                           f"{describe(labels)}")
    names = sorted(source.csv_names())
    unlabelled = sorted(set(names) - set(labels))
    absent = sorted(set(labels) - set(names))
    if unlabelled or absent:
        which = (f"no labels for {unlabelled[0]!r}" if unlabelled
                 else f"labels for the missing file {absent[0]!r}")
        raise GradkitError(f"{call}: {where} must label exactly the files under data/, "
                           f"got {which}")
    series, windows, times = {}, {}, {}
    for name in names:
        with source.open("data/" + name) as f:
            t, v = _read_series(f, f"{base}: data/{name}", call)
        series[name] = (t, v)
        windows[name] = window_rows(t, labels[name], name=f"the windows of {name}")
        times[name] = t[windows[name]]
    return NABCorpus(series=series, windows=windows, window_times=times)
