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


def test_seasonal_surprise_and_records_use_no_later_rows():
    y = _series(4, 1200)
    y[900:] -= 3.0                      # a record low, and a day unlike the day before
    d = DerivativeDetector(period=157)
    full, rec = d.score(y), d.records(y)
    for t in (150, 160, 400, 899, 900, 905, 1199):
        assert d.score(y[:t + 1])[-1] == full[t]
        assert d.records(y[:t + 1])[-1] == rec[t]


def test_a_record_scores_by_how_far_it_leaves_the_range():
    y = np.tile([0.0, 1.0], 200)
    y[300], y[350] = 1.5, -0.03         # 50% of [0, 1], then 2% of [0, 1.5] beyond it
    d = DerivativeDetector()
    r = d.records(y)
    assert r[300] == pytest.approx(1.0 - d.record_gap * np.exp(-0.5 / d.record_scale))
    assert r[350] == pytest.approx(1.0 - d.record_gap * np.exp(-0.02 / d.record_scale))
    assert r[300] > r[350] > 0.99
    inside = np.setdiff1d(np.arange(20, 400), [300, 301, 350])
    assert np.all(r[inside] == 0.0)     # the running mean sets no record either
    assert np.all(DerivativeDetector(record_gap=0.0).records(y) == 0.0)


def test_seasonal_surprise_sees_a_day_unlike_the_day_before():
    # A daily bump that goes missing one day: no level, slope or curvature is unusual,
    # but the row a day earlier had the bump.
    day = 100
    t = np.arange(30 * day)
    y = np.sin(2 * np.pi * t / day) + np.where(t % day < 10, 1.0, 0.0)
    y += 0.01 * np.random.default_rng(5).standard_normal(t.size)
    y[20 * day:20 * day + 10] -= 1.0
    plain = DerivativeDetector(record_gap=0.0).score(y)
    seasonal = DerivativeDetector(period=day, record_gap=0.0).score(y)
    event = slice(20 * day, 20 * day + 12)
    assert seasonal[event].max() > seasonal[5 * day:20 * day].max()
    assert plain[event].max() <= plain[5 * day:20 * day].max()
    f = DerivativeDetector(period=day).features(y)
    assert np.all(f[:day, FEATURES.index("season")] == 0.0)


def test_rows_per_day_from_the_first_step():
    from gradkit.anomaly import rows_per_day

    t = np.arange("2024-01-01", "2024-01-03", 30, dtype="datetime64[m]")
    assert rows_per_day(t) == 48
    with pytest.raises(GradkitError, match="anomaly.rows_per_day: timestamps must be"):
        rows_per_day(t[:1])


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
    d = DerivativeDetector(weights=(0.0,) * (len(FEATURES) + 1), record_gap=0.0)
    fitted = d.fit(ys, labels)
    s = fitted.raw_score(ys[0])
    assert s[300:310].mean() > 0.5 > s[50:290].mean()
    assert fitted.weights[1] > 0  # the level surprise raises the score


def test_bad_input_is_refused():
    with pytest.raises(GradkitError, match="anomaly.DerivativeDetector: weights must be 6"):
        DerivativeDetector(weights=(1.0, 2.0))
    with pytest.raises(GradkitError, match="slope_window must be an integer >= 3"):
        DerivativeDetector(slope_window=2)
    with pytest.raises(GradkitError, match="values must be a finite 1-D series"):
        DerivativeDetector().score(np.array([1.0, np.nan]))
    with pytest.raises(GradkitError, match="labels must be one boolean per row"):
        DerivativeDetector().fit([np.ones(10)], [np.ones(9, bool)])


def test_rarity_calibration_is_a_running_tail_share():
    from gradkit.anomaly.detector import _rarity

    a = np.concatenate([np.zeros(50), [3.0], np.zeros(10), [3.0], [5.0]])
    r = _rarity(a, 0.1)
    assert r[50] == 1.0          # no earlier row reached 3
    assert r[-1] == 1.0          # nor 5
    assert 0.0 < r[61] < 1.0     # one earlier row reached 3: rare, not unseen
    assert np.all(r[1:50] < 1e-12)  # 0 was reached by every earlier row
    d = DerivativeDetector()
    calm = 0.01 * np.random.default_rng(0).standard_normal(3000)
    spiky = calm + (np.random.default_rng(1).random(3000) < 0.02) * 0.5
    calm[2000] += 0.5
    spiky[2000] += 0.5
    # The same spike is unheard of in the calm series, routine in the spiky one.
    assert d.raw_score(calm)[2000] == 1.0 > d.raw_score(spiky)[2000]
