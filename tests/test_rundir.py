"""RunDir and Spec: the pieces every recipe is built from (a toy recipe here)."""

import json
from dataclasses import dataclass

import numpy as np
import pytest

from gradkit.errors import GradkitError, NaNError
from gradkit.recipes import ConfigError, RunDir, Spec, override

SPEC = Spec("toy", "a toy", "error", False, 1e-3, "exact", "measured", requires=())


@dataclass(frozen=True)
class Config:
    steps: int = 3
    rate: float = 0.5
    widths: tuple[int, ...] = (4, 2)
    name: str | None = None
    flag: bool = False


def test_stages_are_checkpointed_and_reused_on_resume(tmp_path):
    rd = RunDir(SPEC, Config(), out=tmp_path, verbose=False)
    calls = []

    def compute():
        calls.append(1)
        return {"w": np.arange(3.0)}, {"loss": 0.5}

    assert rd.stage("fit", compute)[1] == {"loss": 0.5}
    again = RunDir(SPEC, Config(), out=tmp_path, resume=True, verbose=False)
    arrays, values = again.stage("fit", compute)
    assert calls == [1] and values == {"loss": 0.5} and again.resume
    assert np.array_equal(arrays["w"], np.arange(3.0))


def test_a_fresh_run_never_picks_up_an_older_checkpoint(tmp_path):
    rd = RunDir(SPEC, Config(), out=tmp_path, verbose=False)
    rd.stage("fit", lambda: ({}, {"loss": 1.0}))
    (rd.checkpoint_dir / "checkpoint.json").write_text("{}")  # a training loop's, say
    fresh = RunDir(SPEC, Config(), out=tmp_path, verbose=False)
    assert not (fresh.checkpoint_dir / "checkpoint.json").exists()
    assert fresh.stage("fit", lambda: ({}, {"loss": 2.0}))[1] == {"loss": 2.0}


def test_resume_with_other_settings_is_refused(tmp_path):
    RunDir(SPEC, Config(), out=tmp_path, seed=1, verbose=False)
    with pytest.raises(GradkitError, match=r"different settings .*'steps': \(3, 4\)"):
        RunDir(SPEC, Config(steps=4), out=tmp_path, seed=1, resume=True)
    with pytest.raises(GradkitError, match=r"'seed': \(1, 2\)"):
        RunDir(SPEC, Config(), out=tmp_path, seed=2, resume=True)


def test_a_non_finite_stage_is_refused(tmp_path):
    rd = RunDir(SPEC, Config(), out=tmp_path, verbose=False)
    with pytest.raises(NaNError, match="stage 'bad' produced a non-finite 'w'"):
        rd.stage("bad", lambda: ({"w": np.array([1.0, np.nan])}, {}))


def test_metrics_follow_schema_2(tmp_path):
    rd = RunDir(SPEC, Config(), out=tmp_path, seed=5, verbose=False)
    m = rd.write_metrics({"value": np.float64(2e-4), "baseline_value": 0.0,
                          "extra": np.arange(2)})
    assert m == json.loads((tmp_path / "metrics.json").read_text())
    assert list(m)[:12] == ["schema", "recipe", "seed", "config", "metric", "value",
                            "higher_is_better", "goal", "baseline_name", "baseline_value",
                            "baseline_source", "seconds"]
    assert m["config"] == {"steps": 3, "rate": 0.5, "widths": [4, 2], "name": None,
                           "flag": False}
    assert m["seed"] == 5 and m["goal_met"] is True and m["extra"] == [0, 1]
    with pytest.raises(NaNError, match="primary metric 'error' is nan"):
        rd.write_metrics({"value": float("nan"), "baseline_value": None})
    with pytest.raises(NaNError, match="NaN or infinite"):
        rd.write_metrics({"value": 1.0, "baseline_value": None, "extra": float("inf")})
    with pytest.raises(GradkitError, match="clash"):
        rd.write_metrics({"value": 1.0, "baseline_value": None, "seed": 3})


def test_override_converts_each_type():
    cfg = override(Config(), ["steps=7", "rate=1e-3", "widths=8", "name=abc", "flag=yes"], "toy")
    assert cfg == Config(7, 1e-3, (8,), "abc", True)
    assert override(cfg, ["name=none"], "toy").name is None
    for item, words in [("steps=1.5", "steps must be an integer"),
                        ("rate=nan", "rate must be a finite number"),
                        ("flag=maybe", "flag must be true or false"),
                        ("widths=a,b", "widths must be an integer"),
                        ("nope=1", "toy has no setting 'nope' (its settings: steps, rate, "
                                   "widths, name, flag)"),
                        ("steps", "expected key=value")]:
        with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
            override(Config(), [item], "toy")


def test_spec_checks_itself():
    with pytest.raises(GradkitError, match="baseline_source"):
        Spec("x", "x", "m", True, 1.0, "b", "guessed")
    spec = Spec("x", "x", "m", True, 0.9, "b", "published", requires=("no_such_pkg_q",))
    assert spec.goal_met(0.95) and not spec.goal_met(0.85) and not spec.goal_met(float("nan"))
    with pytest.raises(GradkitError, match="pip install 'gradkit\\[recipes\\]'"):
        spec.check_requirements()
