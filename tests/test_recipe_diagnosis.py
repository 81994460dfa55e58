"""The diagnosis recipe: gradkit's optimisers against scikit-learn on breast-cancer data."""

import importlib
import json

import pytest

from gradkit import cli
from gradkit.recipes import diagnosis, textbook_descent

diagnosis_module = importlib.import_module("gradkit.recipes.diagnosis")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diagnosis")
    return out, diagnosis(out=out, epochs=60, verbose=False)


def test_matches_scikit_learn(run):
    _, m = run
    assert m["coef_max_rel_diff"] <= 1e-4
    assert m["test_accuracy"] == m["baseline_accuracy"]
    assert m["test_accuracy"] == pytest.approx(0.9591, abs=5e-5)
    assert m["lbfgs_iterations"] <= m["baseline_iterations"]


def test_outputs(run):
    out, m = run
    written = json.loads((out / "metrics.json").read_text())
    for key in ("test_accuracy", "baseline_name", "baseline_accuracy", "final_loss", "epochs",
                "seconds"):
        assert key in written
    assert written["epochs"] == 60
    assert (out / "loss.png").stat().st_size > 10_000
    # momentum and Adam beat plain gradient descent after the same number of steps
    assert m["final_gap"]["momentum"] < m["final_gap"]["gd"]
    assert m["final_gap"]["adam"] < m["final_gap"]["gd"]


def test_textbook_example():
    r = textbook_descent()
    assert r["plain_x"] == pytest.approx(-0.867, abs=5e-4)
    assert r["gd_error"] <= 1e-8
    assert r["lbfgs_error"] <= 1e-8 and r["lbfgs_iterations"] <= 5


def test_resume_after_a_crash_gives_the_same_metrics(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = diagnosis_module.textbook_descent

    def crash_once():
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt("killed")
        return real()

    monkeypatch.setattr(diagnosis_module, "textbook_descent", crash_once)
    with pytest.raises(KeyboardInterrupt):
        diagnosis(out=tmp_path / "a", epochs=20, verbose=False)
    assert not (tmp_path / "a" / "metrics.json").exists()
    resumed = diagnosis(out=tmp_path / "a", epochs=20, verbose=False, resume=True)
    fresh = diagnosis(out=tmp_path / "b", epochs=20, verbose=False)
    resumed.pop("seconds", None)
    fresh.pop("seconds", None)
    assert resumed == fresh


def test_cli(tmp_path, capsys):
    assert cli.main(["run", "diagnosis", "--epochs", "5", "--out", str(tmp_path)]) == 0
    assert "test accuracy 0.9591" in capsys.readouterr().out
    assert cli.main(["run", "diagnosis", "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err
