"""Readers of forecasting data: files in the M3 layout and single monthly series.

Both return :class:`Series`, a series split into the part a model is fitted to
(``train``) and the part its forecasts are scored on (``test``). The readers use the
standard library's ``csv`` module and NumPy only, and a malformed file raises
:class:`~gradkit.errors.GradkitError` with one line naming the file, the line at fault
(the header is line 1) and what is wrong with it.

Examples
--------
>>> import pathlib, tempfile
>>> from gradkit.timeseries.datasets import read_m3
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.csv"
>>> _ = path.write_text("series,category,start_year,start_period,n_total,horizon,v1,v2,v3,v4\\n"
...                     "N1,MICRO,1990,1,4,1,10,12,11,13\\n"
...                     "N2,MACRO,1991,7,3,1,5,6,7,\\n")
>>> [(s.name, s.train.tolist(), s.test.tolist(), s.start) for s in read_m3(path)]
[('N1', [10.0, 12.0, 11.0], [13.0], (1990, 1)), ('N2', [5.0, 6.0], [7.0], (1991, 7))]
"""

from __future__ import annotations

import csv
import datetime
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GradkitError
from ..validation import check_int, invalid

__all__ = ["Series", "read_m3", "read_series", "M3_COLUMNS"]

#: The columns an M3-layout file starts with; the values ``v1, v2, ...`` follow them.
M3_COLUMNS = ("series", "category", "start_year", "start_period", "n_total", "horizon")

_MONTHS = {name: i + 1 for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}

# The date formats of the shipped single-series files; a file's first date picks one and
# every other date must be in it.
_DATE_FORMATS = {
    "YYYY-MM": re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})"),
    "YYYY-MM-DD": re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    "Mon-D-YYYY": re.compile(r"(?P<m>[A-Za-z]{3})-(?P<d>\d{1,2})-(?P<y>\d{4})"),
}


@dataclass(frozen=True, eq=False)
class Series:
    """One time series, split into a training part and a test part.

    Parameters
    ----------
    name : str
        The series' identifier (M3's ``series`` column, or a single-series file's stem).
    category : str
        M3's ``category`` column (``MICRO``, ``MACRO``...); for a single-series file,
        the header of its value column.
    train, test : array_like
        The observations a model sees and the ones its forecasts are scored on, in time
        order; stored as read-only float64 1-D arrays.
    season_length : int or None
        Observations per seasonal cycle (12 for monthly data) when the source says so.
    start : tuple of int
        ``(year, period)`` of the first observation: the month or quarter for M3, the
        month for a single-series file; M3 writes ``(0, 0)`` where it has no calendar.

    Examples
    --------
    >>> from gradkit.timeseries.datasets import Series
    >>> s = Series("demo", "", [1, 2, 3], [4], season_length=1, start=(2000, 1))
    >>> s.train, s.horizon, s.values.tolist()
    (array([1., 2., 3.]), 1, [1.0, 2.0, 3.0, 4.0])
    """

    name: str
    category: str
    train: np.ndarray
    test: np.ndarray
    season_length: int | None = None
    start: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            arr = np.array(getattr(self, part), dtype=np.float64)
            if arr.ndim != 1:
                raise invalid("timeseries.Series", part, "a 1-D array", arr)
            arr.flags.writeable = False  # frozen: the arrays too, not only the attributes
            object.__setattr__(self, part, arr)

    @property
    def horizon(self) -> int:
        """The number of test observations."""
        return int(self.test.size)

    @property
    def values(self) -> np.ndarray:
        """The whole series, training part then test part."""
        return np.concatenate([self.train, self.test])


class _Reader:
    """The rows of one CSV file, with errors that name the file and the line."""

    def __init__(self, call: str, path) -> None:
        self.call = call
        self.path = Path(os.fspath(path))
        self.line = 0
        if not self.path.is_file():
            raise invalid(call, "path", "an existing file", str(path))

    def error(self, what: str, line: int | None = None) -> GradkitError:
        return GradkitError(f"{self.call}: {self.path}, line {line or self.line}: {what}")

    def rows(self) -> Iterator[list[str]]:
        """The non-blank rows, each cell stripped of spaces; ``self.line`` is the row's line."""
        with open(self.path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            try:
                for row in reader:
                    self.line = reader.line_num
                    cells = [c.strip() for c in row]
                    if any(cells):
                        yield cells
            except (csv.Error, UnicodeDecodeError) as e:
                raise self.error(f"not a readable CSV file ({e})", reader.line_num + 1) from e

    def integer(self, cell: str, column: str) -> int:
        try:
            return int(cell)
        except ValueError:
            raise self.error(f"{column} must be an integer, got {cell!r}") from None

    def numbers(self, cells: list[str], names, lines: list[int] | None = None) -> np.ndarray:
        """``cells`` as finite float64 numbers; ``names(i)`` is how a message names cell i,
        ``lines[i]`` its line when the cells come from several rows."""
        try:
            values = np.array(cells, dtype=np.float64)
        except ValueError:
            values = None
        if values is not None and np.isfinite(values).all():
            return values
        # The error path only: find the first cell at fault to name it.
        for i, cell in enumerate(cells):
            try:
                ok = np.isfinite(float(cell))
            except ValueError:
                ok = False
            if not ok:
                shown = "a blank cell" if not cell else repr(cell)
                raise self.error(f"{names(i)} must be a finite number, got {shown}",
                                 None if lines is None else lines[i])
        raise AssertionError("unreachable: a cell failed to convert but none is at fault")


def read_m3(path: str | os.PathLike, season_length: int | None = None) -> list[Series]:
    """Every series of a CSV file in the M3 layout, split into training and test parts.

    The file has a header ``series,category,start_year,start_period,n_total,horizon,v1,
    v2,...`` and a row per series holding its ``n_total`` values in ``v1, v2, ...``
    (cells after them blank); the last ``horizon`` values are the test part, as in the
    M3 competition.

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    season_length : int or None, optional
        Stored on every series (the layout does not say it): 12 for monthly data, 4 for
        quarterly, 1 for yearly and other data.

    Returns
    -------
    list of Series
        In the file's order.

    Raises
    ------
    GradkitError
        When the file is missing or malformed: a missing column in the header, a cell
        that is not a number, ``n_total`` not matching the number of values, ``horizon``
        not below ``n_total``, a series name used twice.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from gradkit.timeseries.datasets import read_m3
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "bad.csv"
    >>> _ = path.write_text("series,category,start_year,start_period,n_total,horizon,v1,v2\\n"
    ...                     "N1,MICRO,1990,1,3,1,10,12\\n")
    >>> read_m3(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: timeseries.read_m3: ...bad.csv, line 2: series N1 has \
n_total 3 but 2 values
    """
    call = "timeseries.read_m3"
    if season_length is not None:
        season_length = check_int(season_length, "season_length", call, low=1)
    reader = _Reader(call, path)
    rows = reader.rows()
    header = next(rows, None)
    if header is None:
        raise reader.error("the file is empty, expected a header " + ",".join(M3_COLUMNS), 1)
    if tuple(header[:len(M3_COLUMNS)]) != M3_COLUMNS:
        missing = [c for c in M3_COLUMNS if c not in header]
        what = f"missing column(s) {', '.join(missing)}" if missing else "columns out of order"
        raise reader.error(f"the header must start with {','.join(M3_COLUMNS)}, got "
                           f"{','.join(header[:len(M3_COLUMNS) + 1])}... ({what})")
    series: list[Series] = []
    seen: dict[str, int] = {}
    for row in rows:
        series.append(_m3_row(reader, row, season_length, seen))
    if not series:
        raise reader.error("the file holds a header but no series")
    return series


def _m3_row(reader: _Reader, row: list[str], season_length: int | None,
            seen: dict[str, int]) -> Series:
    fixed = len(M3_COLUMNS)
    if len(row) < fixed + 1:
        raise reader.error(f"the row has {len(row)} cells, expected {', '.join(M3_COLUMNS)} "
                           "and at least one value")
    name, category = row[0], row[1]
    if not name:
        raise reader.error("the series column is blank")
    if name in seen:
        raise reader.error(f"series {name} appears twice (first on line {seen[name]})")
    seen[name] = reader.line
    year, period, n_total, horizon = (reader.integer(c, col)
                                      for c, col in zip(row[2:fixed], M3_COLUMNS[2:]))
    label = f"series {name}"
    if n_total < 2:
        raise reader.error(f"{label}: n_total must be at least 2, got {n_total}")
    if not 1 <= horizon < n_total:
        raise reader.error(f"{label}: horizon must be from 1 to n_total - 1 = {n_total - 1}, "
                           f"got {horizon}")
    cells = row[fixed:]
    filled = len(cells)
    while filled and not cells[filled - 1]:
        filled -= 1
    if filled != n_total:
        raise reader.error(f"{label} has n_total {n_total} but {filled} values")
    values = reader.numbers(cells[:n_total], lambda i: f"{label}: v{i + 1}")
    return Series(name, category, values[:-horizon], values[-horizon:],
                  season_length=season_length, start=(year, period))


def read_series(path: str | os.PathLike, test_size: int = 24) -> Series:
    """A monthly series from a CSV file with a header and two columns, date and value.

    The dates are consecutive months, all written in one of the formats ``1949-01``,
    ``1992-01-01`` or ``Jan-1-1995`` (the first date says which); the day of the month
    is not used.

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    test_size : int, optional
        The number of last observations that form the test part (default 24).

    Returns
    -------
    Series
        Named after the file's stem, with the value column's header as its category,
        ``season_length`` 12 and ``start`` the first (year, month).

    Raises
    ------
    GradkitError
        When the file is missing or malformed (a row without two cells, a date in
        another format, a month missing or repeated, a value that is not a finite
        number), or ``test_size`` leaves no training observation.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from gradkit.timeseries.datasets import read_series
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sales.csv"
    >>> _ = path.write_text("Date,Sales\\n2020-11,5\\n2020-12,7\\n2021-01,6\\n")
    >>> s = read_series(path, test_size=1)
    >>> s.name, s.category, s.train.tolist(), s.test.tolist(), s.start, s.season_length
    ('sales', 'Sales', [5.0, 7.0], [6.0], (2020, 11), 12)
    >>> _ = path.write_text("Date,Sales\\n2020-11,5\\n2021-01,6\\n")
    >>> read_series(path, test_size=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: timeseries.read_series: ...sales.csv, line 3: date \
'2021-01' must be the month after '2020-11' (monthly dates, none missing or repeated)
    """
    call = "timeseries.read_series"
    test_size = check_int(test_size, "test_size", call, low=1)
    reader = _Reader(call, path)
    rows = reader.rows()
    header = next(rows, None)
    if header is None or len(header) != 2:
        got = "an empty file" if header is None else f"{len(header)} columns"
        raise reader.error(f"the header must name two columns, date and value, got {got}", 1)
    fmt = None
    months: list[int] = []
    dates: list[str] = []
    cells: list[str] = []
    lines: list[int] = []
    for row in rows:
        if len(row) != 2:
            raise reader.error(f"the row must have 2 cells (date, value), got {len(row)}")
        if fmt is None:
            fmt = _date_format(reader, row[0])
        months.append(_month_index(reader, row[0], fmt))
        dates.append(row[0])
        cells.append(row[1])
        lines.append(reader.line)
    if not months:
        raise reader.error("the file holds a header but no observations")
    steps = np.diff(np.array(months))
    if (steps != 1).any():
        i = int(np.argmax(steps != 1)) + 1
        raise reader.error(f"date {dates[i]!r} must be the month after {dates[i - 1]!r} "
                           "(monthly dates, none missing or repeated)", lines[i])
    values = reader.numbers(cells, lambda i: f"the value of {dates[i]}", lines)
    if test_size >= values.size:
        raise invalid(call, "test_size", f"less than the {values.size} observations of "
                      f"{reader.path}", test_size)
    first_year, first_month = divmod(months[0], 12)
    return Series(reader.path.stem, header[1], values[:-test_size], values[-test_size:],
                  season_length=12, start=(first_year, first_month + 1))


def _date_format(reader: _Reader, text: str) -> str:
    for fmt, pattern in _DATE_FORMATS.items():
        if pattern.fullmatch(text):
            return fmt
    raise reader.error(f"date {text!r} is in none of the formats "
                       "1949-01, 1992-01-01, Jan-1-1995")


def _month_index(reader: _Reader, text: str, fmt: str) -> int:
    """Months since year 0 of the date ``text`` in format ``fmt``, checked to be a date."""
    match = _DATE_FORMATS[fmt].fullmatch(text)
    if match is None:
        raise reader.error(f"date {text!r} must be in the file's format {fmt} "
                           "(set by its first date)")
    parts = match.groupdict()
    month = _MONTHS.get(parts["m"].lower(), 0) if fmt == "Mon-D-YYYY" else int(parts["m"])
    try:
        datetime.date(int(parts["y"]), month, int(parts.get("d", 1)))
    except ValueError:
        raise reader.error(f"date {text!r} is not a calendar date") from None
    return int(parts["y"]) * 12 + month - 1
