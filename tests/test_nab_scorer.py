"""gradkit.anomaly.nab: NAB's scoring rules on hand-made series, a brute force, the corpus."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gradkit.anomaly import (
    PROFILES,
    NABCorpus,
    Profile,
    best_threshold,
    load_corpus,
    probation_length,
    scaled_sigmoid,
    score_corpus,
    score_file,
    threshold_sweep,
    window_rows,
)
from gradkit.errors import GradkitError

NAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab" / "corpus"
needs_nab = pytest.mark.skipif(
    not (NAB / "data").is_dir(), reason=f"the NAB corpus {NAB} is absent (shared data folder)")

STD = PROFILES["standard"]
# Every hand-made file below has 100 rows (probation: rows 0 to 14) and the window [40, 49].
N, WINDOW = 100, [(40, 49)]
TANH_MAX = math.tanh(2.5)   # NAB's S(x) = 2 / (1 + exp(5x)) - 1 is -tanh(2.5 x)


def flags(*rows, n=N):
    out = np.zeros(n)
    out[list(rows)] = 1.0
    return out


def tp_weight(position):
    """A true positive at ``position`` in (-1, 0], scaled so that the window's start earns 1."""
    return math.tanh(-2.5 * position) / TANH_MAX


def fp_weight(distance, fp=0.11):
    return -fp if distance > 3 else -fp * math.tanh(2.5 * distance)


# -- the rules by hand -------------------------------------------------------------------


def test_probation_length_rounding_and_cap():
    assert probation_length(100) == 15            # floor(15.000000000000002)
    assert probation_length(4032) == 604          # floor(604.8)
    assert probation_length(1127) == 169          # floor(169.05)
    assert probation_length(5000) == 750
    assert probation_length(22695) == 750         # capped
    assert probation_length(6) == 0


def test_scaled_sigmoid_values():
    x = np.array([-1.0, -0.5, -0.1, 0.0, 1.0, 3.0, 3.0001, 1e6])
    want = [math.tanh(2.5), math.tanh(1.25), math.tanh(0.25), 0.0, -math.tanh(2.5),
            -math.tanh(7.5), -1.0, -1.0]
    np.testing.assert_allclose(scaled_sigmoid(x), want, rtol=1e-14, atol=1e-15)


def test_detection_at_window_start_earns_full_weight():
    s = score_file(flags(40), WINDOW, 0.5)
    assert s.raw == pytest.approx(1.0, abs=1e-15)
    assert (s.tp, s.fp, s.fn, s.tn) == (1, 0, 9, 75)     # rows 15-99: 10 in the window
    assert (s.windows_detected, s.windows_missed, s.null, s.perfect) == (1, 0, -1.0, 1.0)
    assert s.normalised == pytest.approx(100.0)


def test_detection_at_window_end():
    # NAB's position of the last row is -(49 - 49 + 1) / 10, not 0.
    assert score_file(flags(49), WINDOW, 0.5).raw == pytest.approx(tp_weight(-0.1), rel=1e-14)


def test_only_the_first_detection_in_a_window_counts():
    both = score_file(flags(45, 41), WINDOW, 0.5)
    assert both.raw == pytest.approx(tp_weight(-0.9), rel=1e-14)
    assert (both.tp, both.windows_detected) == (2, 1)
    assert score_file(flags(41), WINDOW, 0.5).raw == both.raw


@pytest.mark.parametrize("row, distance", [(50, 1 / 9), (60, 11 / 9), (76, 3.0), (80, 31 / 9)])
def test_false_positive_after_window_weighted_by_distance(row, distance):
    s = score_file(flags(row), WINDOW, 0.5)
    assert s.raw == pytest.approx(-1.0 + fp_weight(distance), rel=1e-14)
    assert (s.tp, s.fp, s.windows_missed) == (0, 1, 1)


def test_false_positive_before_first_window_costs_full_weight():
    assert score_file(flags(20), WINDOW, 0.5).raw == pytest.approx(-1.11, rel=1e-14)


def test_false_positive_measured_from_nearest_preceding_window():
    windows = [(20, 29), (50, 59)]
    s = score_file(flags(20, 62), windows, 0.5)
    assert s.raw == pytest.approx(1.0 - 1.0 + fp_weight(3 / 9), rel=1e-14)


def test_probationary_detections_are_ignored():
    s = score_file(flags(5, 14), WINDOW, 0.5)
    assert s.raw == -1.0
    assert (s.tp, s.fp, s.tn) == (0, 0, 75)


def test_no_detection_is_a_false_negative():
    s = score_file(np.zeros(N), WINDOW, 0.5)
    assert (s.raw, s.windows_missed, s.normalised) == (-1.0, 1, 0.0)


def test_window_in_probation():
    partial = score_file(flags(12, 16), [(10, 19)], 0.5)      # row 12 is probationary
    assert partial.raw == pytest.approx(tp_weight(-0.4), rel=1e-14)
    hidden = score_file(flags(30), [(2, 8), (40, 49)], 0.5)   # (2, 8) cannot be scored
    assert (hidden.null, hidden.perfect, hidden.windows_missed) == (-1.0, 2.0, 1)
    assert hidden.raw == pytest.approx(-1.0 + fp_weight(22 / 6), rel=1e-14)


def test_threshold_is_inclusive():
    scores = np.zeros(N)
    scores[40] = 0.7
    assert score_file(scores, WINDOW, 0.7).windows_detected == 1
    assert score_file(scores, WINDOW, np.nextafter(0.7, 1)).windows_detected == 0


def test_profiles_weights():
    low_fn = score_file(np.zeros(N), WINDOW, 0.5, "reward_low_FN_rate")
    assert (low_fn.raw, low_fn.null) == (-2.0, -2.0)
    low_fp = score_file(flags(40, 90), WINDOW, 0.5, "reward_low_FP_rate")
    assert low_fp.raw == pytest.approx(1.0 - 0.22, rel=1e-14)
    mine = Profile("mine", tp_weight=2.0, fp_weight=0.5, fn_weight=3.0)
    assert score_file(flags(40, 90), WINDOW, 0.5, mine).raw == pytest.approx(1.5, rel=1e-14)


def test_one_row_window_false_positive_is_far():
    # NAB divides by the width less one and fails here; the limit is the full weight.
    assert score_file(flags(40, 41), [(40, 40)], 0.5).raw == pytest.approx(0.89, rel=1e-14)


def test_file_without_windows():
    s = score_file(flags(50), [], 0.5)
    assert (s.raw, s.null, s.perfect) == (-0.11, 0.0, 0.0)
    assert math.isnan(s.normalised)


def test_corpus_normalisation():
    labels = {"a/x.csv": WINDOW, "a/y.csv": [(60, 69)], "b/z.csv": []}
    null = {k: np.zeros(N) for k in labels}
    perfect = {"a/x.csv": flags(40), "a/y.csv": flags(60), "b/z.csv": np.zeros(N)}
    assert score_corpus(null, 0.5, labels=labels).normalised == 0.0
    assert score_corpus(perfect, 0.5, labels=labels).normalised == pytest.approx(100.0)
    half = dict(perfect, **{"a/y.csv": np.zeros(N)})      # one window found, one missed
    got = score_corpus(half, 0.5, labels=labels)
    assert (got.raw, got.null, got.perfect) == (0.0, -2.0, 2.0)
    assert got.normalised == pytest.approx(50.0)
    noisy = dict(perfect, **{"b/z.csv": flags(50)})        # a false positive elsewhere
    assert score_corpus(noisy, 0.5, labels=labels).normalised == pytest.approx(
        100 * (2 - 0.11 + 2) / 4)
    cats = got.by_category()
    assert cats["a"] == pytest.approx(50.0) and math.isnan(cats["b"])


def test_window_rows_matches_rows_not_order():
    t = np.array(["2020-01-01 00:00", "2020-01-01 00:05", "2020-01-01 00:10",
                  "2020-01-01 00:05", "2020-01-01 00:10", "2020-01-01 00:15"],
                 dtype="datetime64[s]")                  # the clock steps back once
    got = window_rows(t, [["2020-01-01 00:05:00.000000", "2020-01-01 00:15:00.000000"]])
    np.testing.assert_array_equal(got, [[1, 5]])
    with pytest.raises(GradkitError, match=r"anomaly.window_rows: .* window 0"):
        window_rows(t, [["2020-01-01 00:06", "2020-01-01 00:15"]])


# -- a brute force of NAB's row-by-row rules -----------------------------------------------


def nab_reference(scores, windows, threshold, p):
    """NAB's sweeper walked row by row: a window keeps its best detection (NAB's max)."""
    def sig(x):
        return -1.0 if x > 3 else 2 / (1 + math.exp(5 * x)) - 1

    n = len(scores)
    probation = min(math.floor(0.15 * n), 750)
    best = {k: -p.fn_weight for k, (_, e) in enumerate(windows) if e >= probation}
    total, counts = 0.0, dict(tp=0, fp=0, fn=0, tn=0)
    for i in range(n):
        inside = [k for k, (s, e) in enumerate(windows) if s <= i <= e]
        before = [k for k, (_, e) in enumerate(windows) if e < i]
        if inside:
            s, e = windows[inside[0]]
            w = e - s + 1
            value = p.tp_weight * sig(-(e - i + 1) / w) / sig(-1.0)
        elif before:
            s, e = windows[before[-1]]
            w = e - s + 1
            value = p.fp_weight * sig((i - e) / (w - 1) if w > 1 else math.inf)
        else:
            value = -p.fp_weight
        if i < probation:
            continue
        hit = scores[i] >= threshold
        if inside:
            counts["tp" if hit else "fn"] += 1
            if hit:
                best[inside[0]] = max(best[inside[0]], value)
        else:
            counts["fp" if hit else "tn"] += 1
            total += value if hit else 0.0
    return total + sum(best.values()), counts


def random_file(rng):
    n = int(rng.integers(8, 70))
    cuts = np.sort(rng.choice(n, size=2 * int(rng.integers(0, 4)), replace=False))
    windows = [(int(a), int(b)) for a, b in cuts.reshape(-1, 2)]
    scores = rng.integers(0, 6, size=n) / 5.0        # few levels: many ties
    return scores, windows


@pytest.mark.parametrize("seed", range(6))
def test_score_file_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        scores, windows = random_file(rng)
        p = PROFILES[list(PROFILES)[int(rng.integers(0, 3))]]
        for threshold in np.unique(np.append(scores, [-1.0, 2.0])):
            got = score_file(scores, windows, threshold, p)
            want, counts = nab_reference(scores, windows, threshold, p)
            assert got.raw == pytest.approx(want, rel=1e-12, abs=1e-12)
            assert (got.tp, got.fp, got.fn, got.tn) == tuple(counts.values())


@pytest.mark.parametrize("seed", range(4))
def test_sweep_matches_scoring_every_candidate(seed):
    rng = np.random.default_rng(100 + seed)
    files = {f"c{k % 2}/f{k}.csv": random_file(rng) for k in range(5)}
    if not any(w for _, w in files.values()):
        files["c0/f0.csv"] = (files["c0/f0.csv"][0], [(len(files["c0/f0.csv"][0]) - 1,) * 2])
    scores = {k: s for k, (s, _) in files.items()}
    labels = {k: w for k, (_, w) in files.items()}
    for name in PROFILES:
        thresholds, normalised = threshold_sweep(scores, name, labels=labels)
        assert np.all(np.diff(thresholds) < 0)
        pools = [s[probation_length(s.size):] for s in scores.values()]
        np.testing.assert_array_equal(thresholds[1:], np.unique(np.concatenate(pools))[::-1])
        p = PROFILES[name]
        null = sum(-p.fn_weight * sum(e >= probation_length(len(s)) for _, e in w)
                   for s, w in files.values())
        perfect = p.tp_weight * sum(len(w) for w in labels.values())
        brute = [100 * (sum(nab_reference(s, w, t, p)[0] for s, w in files.values()) - null)
                 / (perfect - null) for t in thresholds]
        np.testing.assert_allclose(normalised, brute, rtol=1e-12, atol=1e-10)
        best = best_threshold(scores, name, labels=labels)
        first_max = int(np.flatnonzero(np.isclose(brute, max(brute), rtol=0, atol=1e-10))[0])
        assert best.threshold == thresholds[first_max]     # the highest of equal maxima
        assert best.normalised == pytest.approx(max(brute), abs=1e-10)


# -- errors --------------------------------------------------------------------------------


def test_bad_arguments_name_the_call_and_argument():
    with pytest.raises(GradkitError, match=r"anomaly.score_file: scores must be finite, got "
                                           r"nan at row 3"):
        score_file([0, 0, 0, np.nan], [], 0.5)
    with pytest.raises(GradkitError, match=r"anomaly.score_file: scores must be a non-empty "
                                           r"1-D array"):
        score_file(np.zeros((2, 2)), [], 0.5)
    with pytest.raises(GradkitError, match=r"windows must be sorted, non-overlapping"):
        score_file(np.zeros(N), [(40, 49), (45, 60)], 0.5)
    with pytest.raises(GradkitError, match=r"windows must be row ranges with 0 <= first <= "
                                           r"last < 100"):
        score_file(np.zeros(N), [(90, 100)], 0.5)
    with pytest.raises(GradkitError, match=r"windows must be a \(k, 2\) array"):
        score_file(np.zeros(N), [1, 2, 3], 0.5)
    with pytest.raises(GradkitError, match=r"threshold must be a finite number, got nan"):
        score_file(np.zeros(N), WINDOW, float("nan"))
    with pytest.raises(GradkitError, match=r"profile must be a Profile or one of 'standard'"):
        score_file(np.zeros(N), WINDOW, 0.5, "lenient")
    with pytest.raises(GradkitError, match=r"anomaly.score_corpus: scores must be a mapping "
                                           r"with one entry per labelled file, got no scores "
                                           r"for 'a/y.csv'"):
        score_corpus({"a/x.csv": np.zeros(N)}, 0.5,
                     labels={"a/x.csv": WINDOW, "a/y.csv": WINDOW})
    with pytest.raises(GradkitError, match=r"got scores for unlabelled 'a/z.csv'"):
        best_threshold({"a/x.csv": np.zeros(N), "a/z.csv": np.zeros(N)},
                       labels={"a/x.csv": WINDOW})
    with pytest.raises(GradkitError, match=r"anomaly.score_corpus: labels\['a/x.csv'\] must"):
        score_corpus({"a/x.csv": np.zeros(10)}, 0.5, labels={"a/x.csv": WINDOW})
    with pytest.raises(GradkitError, match=r"anomaly.load_corpus: root must be a folder"):
        load_corpus("/nonexistent/nab")


# -- the real corpus -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> NABCorpus:
    return load_corpus(NAB)


@needs_nab
def test_corpus_structure(corpus):
    labels = json.loads((NAB / "labels" / "combined_windows.json").read_text())
    assert len(corpus.series) == 58 and sorted(corpus.series) == sorted(labels)
    assert corpus.categories == ["artificialNoAnomaly", "artificialWithAnomaly",
                                 "realAWSCloudwatch", "realAdExchange", "realKnownCause",
                                 "realTraffic", "realTweets"]
    assert sum(len(w) for w in corpus.windows.values()) == 116
    for name, (t, v) in corpus.series.items():
        w = corpus.windows[name]
        assert t.dtype == np.dtype("datetime64[s]") and v.dtype == np.float64
        assert t.shape == v.shape and np.isfinite(v).all()
        if len(w):
            assert w.min() >= probation_length(t.size) and w.max() < t.size
            assert np.all(w[1:, 0] > w[:-1, 1])
            want = np.array(labels[name], dtype="datetime64[s]")
            np.testing.assert_array_equal(corpus.window_times[name], want)
    assert len(corpus.series["realKnownCause/machine_temperature_system_failure.csv"][0]) \
        == 22695


@needs_nab
def test_profiles_are_those_of_profiles_json():
    config = json.loads((NAB / "config" / "profiles.json").read_text())
    assert sorted(config) == sorted(PROFILES)
    for name, entry in config.items():
        m = entry["CostMatrix"]
        p = PROFILES[name]
        assert (p.tp_weight, p.fp_weight, p.fn_weight, p.tn_weight) == (
            m["tpWeight"], m["fpWeight"], m["fnWeight"], m["tnWeight"])


@needs_nab
@pytest.mark.parametrize("profile", list(PROFILES))
def test_null_and_perfect_detectors_on_the_corpus(corpus, profile):
    null = {k: np.zeros(t.size) for k, (t, _) in corpus.series.items()}
    perfect = {k: np.isin(np.arange(t.size), corpus.windows[k][:, 0]).astype(float)
               for k, (t, _) in corpus.series.items()}
    got_null = score_corpus(null, 0.5, profile, labels=corpus)
    assert got_null.normalised == 0.0
    # NAB's published raw score of its null detector (thresholds.json).
    published = json.loads((NAB / "config" / "thresholds.json").read_text())
    assert got_null.raw == published["null"][profile]["score"]
    got = score_corpus(perfect, 1.0, profile, labels=corpus)
    assert got.normalised == pytest.approx(100.0, abs=1e-9)
    assert sum(f.windows_detected for f in got.files.values()) == 116


@needs_nab
def test_published_raw_scores_normalise_to_published_figures(corpus):
    # thresholds.json holds each detector's raw standard score; final_results.json (copied in
    # SOURCE.txt) the normalised one. Both are NAB's; the null and perfect scores are ours.
    # (htmjava, knncad, twitterADVec, windowedGaussian and random have thresholds.json
    # entries that do not match their published figures, so they are left out.)
    published = {"ARTime": 74.85, "numenta": 70.10, "contextOSE": 69.90, "numentaTM": 64.55,
                 "earthgeckoSkyline": 58.20, "relativeEntropy": 54.64,
                 "randomCutForest": 51.72, "skyline": 35.69}
    raw = json.loads((NAB / "config" / "thresholds.json").read_text())
    base = score_corpus({k: np.zeros(t.size) for k, (t, _) in corpus.series.items()}, 0.5,
                        labels=corpus)
    for name, figure in published.items():
        r = raw[name]["standard"]["score"]
        assert 100 * (r - base.null) / (base.perfect - base.null) == pytest.approx(
            figure, abs=0.005), name


@needs_nab
def test_sweep_on_the_corpus_agrees_with_direct_scoring(corpus):
    scores = {}
    for name, (_, v) in corpus.series.items():
        d = np.abs(np.diff(v, prepend=v[0]))
        scores[name] = np.round(d / max(d.max(), 1e-12), 3)      # a crude detector
    thresholds, normalised = threshold_sweep(scores, labels=corpus)
    picks = np.random.default_rng(0).choice(thresholds.size, 8, replace=False)
    for i in picks:
        direct = score_corpus(scores, thresholds[i], labels=corpus).normalised
        assert direct == pytest.approx(normalised[i], rel=1e-10, abs=1e-9)
    best = best_threshold(scores, labels=corpus)
    assert best.normalised == pytest.approx(normalised.max(), rel=1e-10)
    assert best.normalised >= max(score_corpus(scores, t, labels=corpus).normalised
                                  for t in (0.1, 0.3, 0.5, 0.9)) - 1e-9


def test_best_threshold_prefers_the_highest_of_equal_scores():
    scores = np.zeros(N)
    scores[[40, 45]] = [0.9, 0.8]        # at 0.8 row 45 is detected too, and changes nothing
    thresholds, normalised = threshold_sweep({"x.csv": scores}, labels={"x.csv": WINDOW})
    assert thresholds[1:3].tolist() == [0.9, 0.8] and normalised[1] == normalised[2] == 100.0
    assert best_threshold({"x.csv": scores}, labels={"x.csv": WINDOW}).threshold == 0.9


@needs_nab
def test_issue_figure_for_a_trailing_day_z_score_on_machine_temperature(corpus):
    # Issue 11 quotes, for |z| > 4 of the first difference against the previous day's
    # differences: all 4 windows found, 18 false-positive rows, 61.8 normalised.
    name = "realKnownCause/machine_temperature_system_failure.csv"
    _, v = corpus.series[name]
    d = np.diff(v, prepend=v[0])
    day = 288                                   # 5-minute rows; the first day is probationary
    past = np.lib.stride_tricks.sliding_window_view(d, day)[:-1]
    mean, std = past.mean(axis=1), past.std(axis=1)
    z = np.zeros_like(d)
    z[day:] = np.abs(np.divide(d[day:] - mean, std, out=np.zeros_like(mean), where=std > 0))
    got = score_file(z, corpus.windows[name], 4.0)
    assert (got.windows_detected, got.fp) == (4, 18)
    assert round(got.normalised, 1) == 61.8


def write_corpus(root, labels=None, header="timestamp,value"):
    (root / "data" / "demo").mkdir(parents=True)
    (root / "labels").mkdir()
    rows = "".join(f"2020-01-01 00:{m:02d}:00,{m / 2}\n" for m in range(20))
    (root / "data" / "demo" / "a.csv").write_text(f"{header}\n{rows}")
    (root / "data" / "demo" / "b.csv").write_text(f"{header}\n{rows}")
    labels = labels or {"demo/a.csv": [["2020-01-01 00:03:00.000000", "2020-01-01 00:05:00"]],
                        "demo/b.csv": []}
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))


def test_load_corpus_from_folder_or_zip(tmp_path):
    import zipfile
    write_corpus(tmp_path / "c")
    archive = tmp_path / "c.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted((tmp_path / "c").rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(tmp_path / "c").as_posix())
    folder, zipped = load_corpus(tmp_path / "c"), load_corpus(archive)
    for c in (folder, zipped):
        assert sorted(c.series) == ["demo/a.csv", "demo/b.csv"]
        np.testing.assert_array_equal(c.windows["demo/a.csv"], [[3, 5]])
        assert c.windows["demo/b.csv"].shape == (0, 2)
        np.testing.assert_array_equal(c.series["demo/a.csv"][1], np.arange(20) / 2)
        assert c.series["demo/a.csv"][0][3] == np.datetime64("2020-01-01T00:03:00")
    assert score_corpus({"demo/a.csv": flags(3, n=20), "demo/b.csv": np.zeros(20)}, 0.5,
                        labels=zipped).normalised == pytest.approx(100.0)


def test_load_corpus_errors(tmp_path):
    write_corpus(tmp_path / "a", labels={"demo/a.csv": []})
    with pytest.raises(GradkitError, match=r"anomaly.load_corpus: .* must label exactly the "
                                           r"files under data/, got no labels for 'demo/b.csv'"):
        load_corpus(tmp_path / "a")
    write_corpus(tmp_path / "b", header="time,value")
    with pytest.raises(GradkitError, match=r"data/demo/a.csv: must have a header "
                                           r"'timestamp,value'"):
        load_corpus(tmp_path / "b")
    write_corpus(tmp_path / "c", labels={"demo/a.csv": [["2020-01-01 00:03:30", "2020-01-01 "
                                                         "00:05:00"]], "demo/b.csv": []})
    with pytest.raises(GradkitError, match=r"the windows of demo/a.csv must be windows that "
                                           r"start and end at timestamps of rows"):
        load_corpus(tmp_path / "c")
