"""gradkit.timeseries readers (M3 layout, single monthly series) and forecast metrics."""

from pathlib import Path

import numpy as np
import pytest

from gradkit.errors import GradkitError
from gradkit.timeseries.datasets import Series, read_m3, read_series
from gradkit.timeseries.metrics import (
    coverage,
    mase,
    mean_mase,
    mean_smape,
    seasonal_naive,
    ses_fixed,
    smape,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FORECASTING = SHARED / "forecasting"
M3 = SHARED / "m3"
needs_shared = pytest.mark.skipif(
    not (FORECASTING.is_dir() and M3.is_dir()),
    reason=f"the shared data folder {SHARED} is absent (forecasting/ and m3/)")

HEADER = "series,category,start_year,start_period,n_total,horizon"


def write(tmp_path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- the shipped files -------------------------------------------------------------------


@needs_shared
def test_airline_passengers():
    s = read_series(FORECASTING / "airline_passengers.csv")
    assert (s.name, s.category, s.start, s.season_length) == (
        "airline_passengers", "Passengers", (1949, 1), 12)
    assert (s.train.size, s.test.size, s.horizon) == (120, 24, 24)
    # Box & Jenkins' first year, and the published total of the 144 months.
    assert s.train[:12].tolist() == [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]
    assert s.values.sum() == 40363
    assert (s.train[-1], s.test[0], s.test[-1]) == (337, 360, 432)  # Dec 1958, Jan 1959, 1960
    assert s.train.dtype == np.float64 and not s.train.flags.writeable


@needs_shared
@pytest.mark.parametrize("name, start, n, first, last", [
    ("us_retail_sales_RSXFSN", (1992, 1), 378, 130683.0, 613207.0),
    ("elec_equip", (1995, 1), 257, 66.19, 97.86),
])
def test_other_shipped_series(name, start, n, first, last):
    s = read_series(FORECASTING / f"{name}.csv", test_size=24)
    assert s.start == start and s.values.size == n and s.test.size == 24
    assert (s.train[0], s.test[-1]) == (first, last)


@needs_shared
def test_m3_monthly():
    series = read_m3(M3 / "m3_monthly.csv", season_length=12)
    assert len(series) == 1428
    assert {s.horizon for s in series} == {18}
    lengths = [s.values.size for s in series]
    assert (min(lengths), max(lengths)) == (66, 144)
    counts = {c: sum(s.category == c for s in series) for c in
              ("MICRO", "INDUSTRY", "MACRO", "FINANCE", "DEMOGRAPHIC", "OTHER")}
    assert counts == {"MICRO": 474, "INDUSTRY": 334, "MACRO": 312, "FINANCE": 145,
                      "DEMOGRAPHIC": 111, "OTHER": 52}
    first = series[0]   # N1402: 68 values = 50 train + 18 test (R Mcomp's split)
    assert (first.name, first.start, first.train.size, first.season_length) == (
        "N1402", (1990, 1), 50, 12)
    assert first.train[:3].tolist() == [2640, 2640, 2160]
    # The last row, read here by plain string splitting.
    last_line = (M3 / "m3_monthly.csv").read_text().strip().splitlines()[-1].split(",")
    n_total = int(last_line[4])
    np.testing.assert_array_equal(series[-1].values, [float(v) for v in last_line[6:6 + n_total]])


@needs_shared
def test_m3_baselines_match_the_published_figures():
    # The measurements on M3 monthly: seasonal naive 17.24, SES alpha 0.3 16.40.
    series = read_m3(M3 / "m3_monthly.csv")
    train = [s.train for s in series]
    test = np.stack([s.test for s in series])
    assert round(mean_smape(test, seasonal_naive(train, 18, 12)), 2) == 17.24
    assert round(mean_smape(test, ses_fixed(train, 18, alpha=0.3)), 2) == 16.40


@needs_shared
@pytest.mark.parametrize("name, count, horizon", [
    ("quarterly", 756, 8), ("yearly", 645, 6), ("other", 174, 8)])
def test_m3_other_frequencies(name, count, horizon):
    series = read_m3(M3 / f"m3_{name}.csv")
    assert len(series) == count and {s.horizon for s in series} == {horizon}
    assert all(s.season_length is None for s in series)


# -- read_m3 on hand-made files ------------------------------------------------------------


def test_read_m3_small(tmp_path):
    path = write(tmp_path, f"{HEADER},v1,v2,v3,v4,v5\n"
                           "A,MICRO,1990,11,5,2,1,2,3,4,5\n"
                           "\n"
                           "B,OTHER,0,0,3,1, 7.5 ,8,9,,\n")
    a, b = read_m3(str(path), season_length=4)
    assert a.train.tolist() == [1, 2, 3] and a.test.tolist() == [4, 5]
    assert (a.start, a.season_length, a.category) == ((1990, 11), 4, "MICRO")
    assert b.train.tolist() == [7.5, 8] and b.test.tolist() == [9] and b.start == (0, 0)


@pytest.mark.parametrize("text, message", [
    ("", r"line 1: the file is empty"),
    ("series,category,start_year,n_total,horizon,v1\n",
     r"line 1: the header must start with .* \(missing column\(s\) start_period\)"),
    ("category,series,start_year,start_period,n_total,horizon,v1\n",
     r"line 1: .*\(columns out of order\)"),
    (f"{HEADER},v1,v2\n", r"line 1: the file holds a header but no series"),
    (f"{HEADER},v1,v2\nA,MICRO,1990\n", r"line 2: the row has 3 cells"),
    (f"{HEADER},v1,v2\nA,MICRO,1990,1,two,1,5,6\n",
     r"line 2: n_total must be an integer, got 'two'"),
    (f"{HEADER},v1,v2\nA,MICRO,1990,1,2,1.5,5,6\n",
     r"line 2: horizon must be an integer, got '1.5'"),
    (f"{HEADER},v1,v2,v3\nA,MICRO,1990,1,3,1,5,6,7\nB,MICRO,1990,1,3,1,5,6\n",
     r"line 3: series B has n_total 3 but 2 values"),
    (f"{HEADER},v1,v2,v3\nA,MICRO,1990,1,2,1,5,6,7\n",
     r"line 2: series A has n_total 2 but 3 values"),
    (f"{HEADER},v1,v2,v3\nA,MICRO,1990,1,3,1,5,,7\n",
     r"line 2: series A: v2 must be a finite number, got a blank cell"),
    (f"{HEADER},v1,v2,v3\nA,MICRO,1990,1,3,1,5,6,7x\n",
     r"line 2: series A: v3 must be a finite number, got '7x'"),
    (f"{HEADER},v1,v2,v3\nA,MICRO,1990,1,3,1,nan,6,7\n",
     r"line 2: series A: v1 must be a finite number, got 'nan'"),
    (f"{HEADER},v1,v2,v3\nA,MICRO,1990,1,3,3,5,6,7\n",
     r"line 2: series A: horizon must be from 1 to n_total - 1 = 2, got 3"),
    (f"{HEADER},v1,v2,v3\nA,MICRO,1990,1,3,0,5,6,7\n",
     r"line 2: series A: horizon must be from 1 to n_total - 1 = 2, got 0"),
    (f"{HEADER},v1\nA,MICRO,1990,1,1,1,5\n",
     r"line 2: series A: n_total must be at least 2, got 1"),
    (f"{HEADER},v1,v2\n,MICRO,1990,1,2,1,5,6\n", r"line 2: the series column is blank"),
    (f"{HEADER},v1,v2\nA,MICRO,1990,1,2,1,5,6\nA,MICRO,1990,1,2,1,5,6\n",
     r"line 3: series A appears twice \(first on line 2\)"),
])
def test_read_m3_errors(tmp_path, text, message):
    path = write(tmp_path, text, "bad_m3.csv")
    with pytest.raises(GradkitError, match=r"^timeseries\.read_m3: .*bad_m3\.csv, " + message):
        read_m3(path)


def test_read_m3_argument_errors(tmp_path):
    with pytest.raises(GradkitError, match=r"read_m3: path must be an existing file, got '.*no"):
        read_m3(tmp_path / "no.csv")
    path = write(tmp_path, f"{HEADER},v1,v2\nA,MICRO,1990,1,2,1,5,6\n")
    with pytest.raises(GradkitError, match="season_length must be a positive integer, got 0"):
        read_m3(path, season_length=0)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(GradkitError, match=r"read_m3: .*binary.csv, line 1: not a readable CSV"):
        read_m3(binary)


# -- read_series on hand-made files --------------------------------------------------------


@pytest.mark.parametrize("dates", [
    ["2019-11", "2019-12", "2020-01", "2020-02"],
    ["2019-11-01", "2019-12-01", "2020-01-01", "2020-02-01"],
    ["Nov-1-2019", "Dec-1-2019", "Jan-1-2020", "Feb-1-2020"],
    ["2019-11-30", "2019-12-31", "2020-01-31", "2020-02-29"],  # month ends are months too
])
def test_read_series_date_formats(tmp_path, dates):
    rows = "".join(f"{d},{v}\n" for d, v in zip(dates, ["1", "2.5", "-3", "4e2"]))
    s = read_series(write(tmp_path, "DATE,sales\n" + rows, "shop.csv"), test_size=1)
    assert (s.name, s.category, s.start, s.season_length) == ("shop", "sales", (2019, 11), 12)
    assert s.train.tolist() == [1, 2.5, -3] and s.test.tolist() == [400]


@pytest.mark.parametrize("text, message", [
    ("", r"line 1: the header must name two columns, date and value, got an empty file"),
    ("date,a,b\n2000-01,1,2\n", r"line 1: the header must name two columns.*got 3 columns"),
    ("date,value\n", r"line 1: the file holds a header but no observations"),
    ("date,value\n2000-01,1\n2000-02\n", r"line 3: the row must have 2 cells \(date, value\)"),
    ("date,value\n2000/01,1\n", r"line 2: date '2000/01' is in none of the formats"),
    ("date,value\n2000-01,1\n2000-02,2\nMar-1-2000,3\n",
     r"line 4: date 'Mar-1-2000' must be in the file's format YYYY-MM"),
    ("date,value\n2000-12,1\n2000-13,2\n", r"line 3: date '2000-13' is not a calendar date"),
    ("date,value\nJan-1-2000,1\nFeb-30-2000,2\n",
     r"line 3: date 'Feb-30-2000' is not a calendar date"),
    ("date,value\nJan-1-2000,1\nFoo-1-2000,2\n",
     r"line 3: date 'Foo-1-2000' is not a calendar date"),
    ("date,value\n2000-01,1\n2000-02,2\n2000-04,3\n",
     r"line 4: date '2000-04' must be the month after '2000-02' \(monthly"),
    ("date,value\n2000-01-01,1\n2000-01-15,2\n",
     r"line 3: date '2000-01-15' must be the month after '2000-01-01'"),
    ("date,value\n2000-02,1\n2000-01,2\n", r"line 3: date '2000-01' must be the month after"),
    ("date,value\n2000-01,1\n2000-02,x\n2000-03,3\n",
     r"line 3: the value of 2000-02 must be a finite number, got 'x'"),
    ("date,value\n2000-01,1\n2000-02,2\n2000-03,inf\n",
     r"line 4: the value of 2000-03 must be a finite number, got 'inf'"),
    ("date,value\n2000-01,\n2000-02,2\n", r"line 2: the value of 2000-01 .* got a blank cell"),
])
def test_read_series_errors(tmp_path, text, message):
    path = write(tmp_path, text, "bad_series.csv")
    with pytest.raises(GradkitError,
                       match=r"^timeseries\.read_series: .*bad_series\.csv, " + message):
        read_series(path, test_size=1)


def test_read_series_argument_errors(tmp_path):
    path = write(tmp_path, "date,value\n2000-01,1\n2000-02,2\n")
    with pytest.raises(GradkitError, match=r"test_size must be less than the 2 observations"):
        read_series(path, test_size=2)
    with pytest.raises(GradkitError, match=r"test_size must be a positive integer, got 0"):
        read_series(path, test_size=0)
    with pytest.raises(GradkitError, match=r"path must be an existing file"):
        read_series(tmp_path)


def test_series_is_frozen():
    s = Series("x", "", [1, 2], [3])
    with pytest.raises(AttributeError):
        s.name = "y"
    with pytest.raises(ValueError, match="read-only"):
        s.train[0] = 5.0
    with pytest.raises(GradkitError, match="timeseries.Series: train must be a 1-D array"):
        Series("x", "", [[1, 2]], [3])


# -- metrics ------------------------------------------------------------------------------


def test_smape_by_hand():
    # 200*|100-50|/150 = 200/3, 200*|10-30|/40 = 100, 0 (both zero) -> mean 55.56
    assert smape([100.0, 10.0, 0.0], [50.0, 30.0, 0.0]) == pytest.approx((200 / 3 + 100) / 3)
    both = smape([[100.0, 10.0, 0.0], [1.0, 1.0, 1.0]], [[50.0, 30.0, 0.0], [1.0, 1.0, -1.0]])
    np.testing.assert_allclose(both, [(200 / 3 + 100) / 3, 200 / 3])
    assert mean_smape([[100.0, 10.0, 0.0], [1.0, 1.0, 1.0]],
                      [[50.0, 30.0, 0.0], [1.0, 1.0, -1.0]]) == pytest.approx(
        ((200 / 3 + 100) / 3 + 200 / 3) / 2)
    assert smape([3.0], [5.0]) == smape([5.0], [3.0]) == 50.0
    assert isinstance(smape([1.0], [2.0]), float)


def test_mase_by_hand():
    # m = 2: in-sample |3-1|, |6-2|, |5-3| -> scale 8/3; test errors 1, 3 -> MAE 2 -> 0.75
    assert mase([1.0, 2.0, 3.0, 6.0, 5.0], [7.0, 9.0], [6.0, 6.0], 2) == pytest.approx(0.75)
    # m = 1 (naive): |2-1|, |4-2| -> 1.5; MAE 3 -> 2
    assert mase([1.0, 2.0, 4.0], [1.0], [4.0], 1) == pytest.approx(2.0)


def test_mase_ragged_batch_equals_each_series(rng):
    train = [rng.normal(size=n) for n in (14, 30, 13, 25)]
    y, f = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    batch = mase(train, y, f, 12)
    one_by_one = [mase(t, yy, ff, 12) for t, yy, ff in zip(train, y, f)]
    np.testing.assert_allclose(batch, one_by_one, rtol=1e-12)
    assert mean_mase(train, y, f, 12) == pytest.approx(np.mean(one_by_one))
    # a 2-D training array is a batch of equally long series
    equal = np.stack([train[1][:25], train[3]])
    np.testing.assert_allclose(mase(equal, y[:2], f[:2], 3),
                               [mase(equal[0], y[0], f[0], 3), mase(equal[1], y[1], f[1], 3)])


def test_mase_flat_training_part():
    # no change at lag 1 in-sample: scale 0 -> inf, or nan for exact forecasts; no warning
    np.testing.assert_array_equal(mase([[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]],
                                       [[3.0], [3.0]], [[2.0], [3.0]], 1), [np.inf, np.nan])


def test_coverage_by_hand():
    y = [[1.0, 2.0, 3.0, 4.0]]
    assert coverage(y, [[0.0, 2.0, 3.5, 0.0]], [[2.0, 2.0, 4.0, 3.0]]) == 0.5
    assert coverage(y, np.zeros((1, 4)), np.full((1, 4), 10.0)) == 1.0


def test_seasonal_naive_by_hand():
    train = [np.arange(1.0, 8.0), np.array([10.0, 20.0, 30.0])]
    np.testing.assert_array_equal(seasonal_naive(train, 5, 3),
                                  [[5, 6, 7, 5, 6], [10, 20, 30, 10, 20]])
    np.testing.assert_array_equal(seasonal_naive([4.0, 5.0], 3, 1), [5, 5, 5])


def _ses_loop(y, alpha):
    level = y[0]
    for v in y[1:]:
        level = alpha * v + (1 - alpha) * level
    return level


def test_ses_fixed_equals_the_recursion(rng):
    train = [rng.uniform(50, 150, size=n) for n in (1, 2, 48, 126)]
    for alpha in (0.0, 0.3, 1.0):
        f = ses_fixed(train, 4, alpha=alpha)
        assert f.shape == (4, 4)
        np.testing.assert_allclose(f, np.repeat([[_ses_loop(y, alpha)] for y in train], 4, 1),
                                   rtol=1e-12)
    assert ses_fixed([10.0, 20.0], 1, alpha=0.3).tolist() == [13.0]


def test_metric_errors():
    with pytest.raises(GradkitError, match=r"timeseries.smape: f must be of the shape of y, "
                                           r"\(2,\), got an array of shape \(3,\)"):
        smape([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(GradkitError, match=r"timeseries.smape: y must be finite"):
        smape([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(GradkitError, match=r"y must be a 1-D \(h,\) or 2-D"):
        smape(np.ones((1, 1, 2)), np.ones((1, 1, 2)))
    with pytest.raises(GradkitError, match=r"timeseries.coverage: hi must be of the shape of y"):
        coverage([1.0, 2.0], [0.0, 0.0], [3.0])
    with pytest.raises(GradkitError, match=r"timeseries.mase: y_train\[1\] must be at least 13 "
                                           r"values long \(more than season_length=12\), got 12"):
        mase([np.ones(20), np.ones(12)], np.ones((2, 3)), np.ones((2, 3)), 12)
    with pytest.raises(GradkitError, match=r"mase: y_train must be one training series per row "
                                           r"of y \(2\), got 3 series"):
        mase([np.ones(20)] * 3, np.ones((2, 3)), np.ones((2, 3)), 1)
    with pytest.raises(GradkitError, match=r"mase: y_train must be one training series per row "
                                           r"of y \(2\), got one 1-D series"):
        mase(np.ones(20), np.ones((2, 3)), np.ones((2, 3)), 1)
    with pytest.raises(GradkitError, match=r"mase: y_train must be one 1-D series, as y is 1-D, "
                                           r"got a batch of 1"):
        mase([np.ones(20)], np.ones(3), np.ones(3), 1)
    with pytest.raises(GradkitError, match=r"seasonal_naive: train must be at least 12 values "
                                           r"long \(season_length=12\), got 5 values"):
        seasonal_naive(np.ones(5), 3, 12)
    with pytest.raises(GradkitError, match=r"seasonal_naive: h must be a positive integer, got 0"):
        seasonal_naive(np.ones(5), 0, 1)
    with pytest.raises(GradkitError, match=r"ses_fixed: alpha must be a number in \[0, 1\]"):
        ses_fixed(np.ones(5), 2, alpha=1.5)
    with pytest.raises(GradkitError, match=r"ses_fixed: train\[1\] must be a non-empty series"):
        ses_fixed([np.ones(3), np.ones(0)], 2)
    with pytest.raises(GradkitError, match=r"ses_fixed: train\[0\] must be a 1-D series"):
        ses_fixed([np.ones((2, 2))], 2)
