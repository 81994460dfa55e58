"""The cnn recipe: a small convolutional network on digits (its own figures; the contract
is checked for every recipe in test_recipe_contract.py)."""

import json

import numpy as np
import pytest

from gradkit import cli, recipes
from gradkit.errors import GradkitError
from gradkit.recipes.cnn import PUBLISHED_BASELINE, Config
from gradkit.recipes.shared.augment import RandomShift
from gradkit.recipes.shared.data import load_digits_split

GOAL = 0.986  # the small PyTorch CNN: 0.9861 (355 of 360 held-out images)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn")
    return out, recipes.run("cnn", out=out, verbose=False)  # the defaults, seed 0


def test_accuracy_goal_at_seed_0(run):
    _, m = run
    assert m["epochs"] == Config().epochs == 40
    assert m["value"] == m["test_accuracy"] >= GOAL
    assert m["test_accuracy"] >= m["baseline_value"] == PUBLISHED_BASELINE == 0.9861
    assert m["baseline_source"] == "published" and m["goal_met"] is True
    assert m["baseline_name"] == "small PyTorch CNN, 30 epochs (issue figure)"
    assert m["svc_accuracy"] == pytest.approx(0.9833, abs=1e-4)  # measured live
    assert m["history"]["test_accuracy"][-1] == pytest.approx(m["test_accuracy"], abs=1e-12)


def test_outputs(run):
    out, m = run
    written = json.loads((out / "metrics.json").read_text())
    assert written == m
    assert written["final_loss"] == m["history"]["loss"][-1]
    for name in ("curves", "filters"):
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_random_shift():
    rng = np.random.default_rng(0)
    x = rng.random((200, 1, 8, 8)).astype(np.float32)
    shift = RandomShift(1, (8, 8), rng=1)
    y = shift(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    padded = np.pad(x[:, 0], ((0, 0), (1, 1), (1, 1)))
    seen = set()
    for xi, yi in zip(padded, y[:, 0]):
        hits = [(dy, dx) for dy in range(3) for dx in range(3)
                if np.array_equal(xi[dy:dy + 8, dx:dx + 8], yi)]
        assert len(hits) == 1  # each output is one translate of its input
        seen.add(hits[0])
    assert len(seen) == 9
    assert np.array_equal(RandomShift(1, (8, 8), rng=1)(x), y)  # reproducible
    assert RandomShift(1, (8, 8)).eval()(x) is x
    flat = RandomShift(2, (8, 8), rng=0)(x.reshape(200, 64))
    assert flat.shape == (200, 64)
    with pytest.raises(GradkitError, match="8x8"):
        RandomShift(1, (8, 8))(np.zeros((2, 1, 7, 7)))


def test_split_is_fixed_and_scaled():
    a, b = load_digits_split(), load_digits_split()
    assert a.X_train.shape == (1437, 64) and a.X_test.shape == (360, 64)
    assert np.array_equal(a.X_test, b.X_test) and np.array_equal(a.y_test, b.y_test)
    assert a.X_train.dtype == np.float32 and 0.0 <= a.X_train.min() and a.X_train.max() == 1.0
    assert np.bincount(a.y_test).min() >= 35  # stratified: 36 or 37 of each digit


def test_cli(tmp_path, capsys):
    assert cli.main(["run", "cnn", "--epochs", "1", "--set", "channels=4,8,8", "--out",
                     str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("  SVC ") and "cnn: test_accuracy " in out and "baseline 0.9861" in out
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["config"]["channels"] == [4, 8, 8] and m["parameters"] < 2_000
    assert cli.main(["run", "cnn", "--epochs", "-3"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err
    assert cli.main(["run", "cnn", "--set", "channels=4,8"]) == 2
    assert "channels must be 3 comma-separated values" in capsys.readouterr().err
