"""The diagnosis recipe: gradkit's optimisers against scikit-learn on breast-cancer data.

The recipe contract (schema, determinism, resume, --set) is checked for every recipe in
test_recipe_contract.py; these are the recipe's own figures.
"""

import json

import pytest

from gradkit import cli, recipes
from gradkit.recipes.diagnosis import Config, textbook_descent


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diagnosis")
    return out, recipes.run("diagnosis", Config(epochs=60), out=out, verbose=False)


def test_matches_scikit_learn(run):
    _, m = run
    assert m["coef_max_rel_diff"] <= 1e-4
    assert m["value"] == m["test_accuracy"] == m["baseline_value"]
    assert m["test_accuracy"] == pytest.approx(0.9591, abs=5e-5)
    assert m["lbfgs_iterations"] <= m["baseline_iterations"]
    assert m["goal_met"] is True


def test_outputs(run):
    out, m = run
    written = json.loads((out / "metrics.json").read_text())
    assert written["epochs"] == 60 and written["config"] == {"epochs": 60, "C": 1.0}
    assert (out / "loss.png").stat().st_size > 10_000
    # momentum and Adam beat plain gradient descent after the same number of steps
    assert m["final_gap"]["momentum"] < m["final_gap"]["gd"]
    assert m["final_gap"]["adam"] < m["final_gap"]["gd"]


def test_textbook_example():
    r = textbook_descent()
    assert r["plain_x"] == pytest.approx(-0.867, abs=5e-4)
    assert r["gd_error"] <= 1e-8
    assert r["lbfgs_error"] <= 1e-8 and r["lbfgs_iterations"] <= 5


def test_cli(tmp_path, capsys):
    assert cli.main(["run", "diagnosis", "--epochs", "5", "--set", "C=1.0", "--out",
                     str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "diagnosis: test_accuracy 0.9591 (goal >= 0.959: met; baseline 0.9591" in out
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 5
    assert cli.main(["run", "diagnosis", "--set", "C=0"]) == 2
    assert "recipes.diagnosis.Config: C must be a number in (0, inf), got 0.0" in \
        capsys.readouterr().err
