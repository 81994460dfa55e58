"""The derivative-based streaming detector: causality, what it reacts to, fitting."""

import numpy as np
import pytest

from gradkit.anomaly.detector import FEATURES, DerivativeDetector
from gradkit.errors import GradkitError


def _series(seed=0, n=800):
    rng = np.random.default_rng(seed)
    return np.sin(np.arange(n) / 25.0) + 0.05 * rng.standard_normal(n)


def test_scores_use_no_later_rows():
    y = _series()
    y[500:] += 2.0
    d = DerivativeDetector()
    full = d.score(y)
    rows = np.arange(0, len(y), 13)
    streamed = np.array([d.score(y[:t + 1])[-1] for t in rows])
    assert np.array_equal(full[rows], streamed)
    feats = d.features(y)
    assert np.array_equal(d.features(y[:300]), feats[:300])


@pytest.mark.parametrize("change", ["level", "slope", "variance"])
def test_it_reacts_to_changes_of_level_slope_and_variance(change):
    rng = np.random.default_rng(1)
    y = _series(2)
    if change == "level":
        y[600:] += 1.5
    elif change == "slope":
        y[600:] += 0.05 * np.arange(200)
    else:
        y[600:] += 0.6 * rng.standard_normal(200)
    s = DerivativeDetector().score(y)
    quiet = s[100:590].max()
    assert s[600:640].max() > quiet, (change, s[600:640].max(), quiet)


def test_refractory_rule_keeps_the_first_alarm():
    y = _series(3)
    y[500:] += 3.0
    d = DerivativeDetector(refractory=100)
    raw, s = d.raw_score(y), d.score(y)
    assert np.all((s == 0) | (s == raw))
    assert np.count_nonzero(s[500:600] > 0.5) <= 2 < np.count_nonzero(raw[500:600] > 0.5)


def test_fit_learns_weights_from_labels_by_autodiff():
    ys, labels = [], []
    for seed in range(4):
        y = _series(seed, 600)
        y[300:310] += 2.5 * (1 + seed % 2)      # spikes the labels mark
        lab = np.zeros(600, bool)
        lab[300:310] = True
        ys.append(y)
        labels.append(lab)
    d = DerivativeDetector(weights=(0.0,) * (len(FEATURES) + 1))
    fitted = d.fit(ys, labels)
    s = fitted.raw_score(ys[0])
    assert s[300:310].mean() > 0.5 > s[50:290].mean()
    assert fitted.weights[1] > 0  # the level surprise raises the score


def test_bad_input_is_refused():
    with pytest.raises(GradkitError, match="anomaly.DerivativeDetector: weights must be 5"):
        DerivativeDetector(weights=(1.0, 2.0))
    with pytest.raises(GradkitError, match="slope_window must be an integer >= 3"):
        DerivativeDetector(slope_window=2)
    with pytest.raises(GradkitError, match="values must be a finite 1-D series"):
        DerivativeDetector().score(np.array([1.0, np.nan]))
    with pytest.raises(GradkitError, match="labels must be one boolean per row"):
        DerivativeDetector().fit([np.ones(10)], [np.ones(9, bool)])
