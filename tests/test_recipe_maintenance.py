"""The maintenance recipe's own pieces: the shipped corpus, the halves, the row labels.

The recipe contract (schema, determinism, resume) runs in test_recipe_contract.py; the
NAB rules in test_nab_scorer.py."""

import numpy as np

from gradkit.recipes.maintenance import _halves, _inside, load_nab


def test_the_shipped_corpus_is_nab():
    corpus = load_nab()
    series, windows = corpus.series, corpus.windows
    assert len(series) == 58
    categories = {n.split("/")[0] for n in series}
    assert len(categories) == 7 and "realKnownCause" in categories
    assert sum(len(w) for w in windows.values()) == 116
    stamps, values = series["realKnownCause/machine_temperature_system_failure.csv"]
    assert len(values) == 22695 and stamps.dtype == np.dtype("datetime64[s]")
    assert len(windows["realKnownCause/machine_temperature_system_failure.csv"]) == 4
    assert all(np.all(np.isfinite(v)) for _, v in series.values())


def test_halves_split_every_category_and_depend_on_the_seed():
    names = [f"{c}/{i}.csv" for c in "abc" for i in range(5)]
    a, b = _halves(names, 0)
    assert sorted(a + b) == sorted(names) and not set(a) & set(b)
    for c in "abc":
        assert sum(n.startswith(c) for n in a) == 3 and sum(n.startswith(c) for n in b) == 2
    assert _halves(names, 0) == (a, b) and _halves(names, 1) != (a, b)


def test_inside_marks_inclusive_windows():
    mark = _inside(10, np.array([[1, 2], [5, 5]]))
    assert np.flatnonzero(mark).tolist() == [1, 2, 5]
