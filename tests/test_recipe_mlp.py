"""The mlp recipe: backpropagation on digits against scikit-learn's MLPClassifier."""

import importlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gradkit import cli, nn
from gradkit.nn.checkpoint import load_checkpoint
from gradkit.recipes import RECIPES, mlp

mlp_module = importlib.import_module("gradkit.recipes.mlp")

GOAL = 0.975  # MLPClassifier(128 hidden)'s held-out accuracy on this split (the issue's figure)
REQUIRED = ("test_accuracy", "baseline_name", "baseline_accuracy", "final_loss", "epochs",
            "seconds")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mlp")
    return out, mlp(out=out, verbose=False)  # the default configuration, seed 0


def test_accuracy_goal_at_seed_0(run):
    _, m = run
    assert m["epochs"] == mlp_module.DEFAULT_EPOCHS
    assert m["baseline_accuracy"] == pytest.approx(GOAL, abs=1e-4)  # measured live
    assert m["test_accuracy"] >= GOAL
    assert m["test_accuracy"] >= m["baseline_accuracy"]
    assert m["svc_accuracy"] == pytest.approx(0.9833, abs=1e-4)
    assert m["history"]["test_accuracy"][-1] == pytest.approx(m["test_accuracy"], abs=1e-12)


def test_outputs(run):
    out, m = run
    written = json.loads((out / "metrics.json").read_text())
    for key in REQUIRED:
        assert key in written
    assert 0.0 <= written["test_accuracy"] <= 1.0
    assert written["final_loss"] == m["history"]["loss"][-1]
    for name in ("curves", "gradients"):
        assert (out / f"{name}.png").stat().st_size > 10_000
    assert (out / "checkpoint" / "checkpoint.json").is_file()


def test_gradient_norms_and_backprop_check(run):
    _, m = run
    norms = m["grad_norms"]
    assert len(norms) == 6  # weight and bias of three Linear layers
    for v in norms.values():
        assert v["init"] > 0 and v["trained"] > 0
        assert v["trained"] < v["init"]  # near a minimum the gradient is small
    assert len(m["backprop_vs_numeric"]) == 3
    assert max(m["backprop_vs_numeric"].values()) < 1e-5


class _Crash(nn.Callback):
    def __init__(self, at_epoch):
        self.at_epoch = at_epoch

    def on_epoch_begin(self, ctx):
        if ctx.epoch == self.at_epoch:
            raise KeyboardInterrupt("killed")


def test_resume_after_a_crash_gives_the_same_metrics(tmp_path, monkeypatch):
    real_fit = nn.fit

    def crashing_fit(*args, callbacks=(), **kwargs):
        return real_fit(*args, callbacks=[*callbacks, _Crash(3)], **kwargs)

    monkeypatch.setattr(mlp_module.nn, "fit", crashing_fit)
    with pytest.raises(KeyboardInterrupt):
        mlp(out=tmp_path / "a", epochs=4, verbose=False)
    monkeypatch.undo()
    assert not (tmp_path / "a" / "metrics.json").exists()
    assert load_checkpoint(tmp_path / "a" / "checkpoint")[1]["epoch"] == 2
    resumed = mlp(out=tmp_path / "a", epochs=4, verbose=False, resume=True)
    fresh = mlp(out=tmp_path / "b", epochs=4, verbose=False)
    resumed.pop("seconds")
    fresh.pop("seconds")
    assert resumed == fresh


def test_resume_never_picks_up_an_older_runs_checkpoint(tmp_path, monkeypatch):
    mlp(out=tmp_path / "a", epochs=2, verbose=False)  # leaves an epoch-2 checkpoint
    real_fit = nn.fit

    def crashing_fit(*args, callbacks=(), **kwargs):
        return real_fit(*args, callbacks=[*callbacks, _Crash(1)], **kwargs)

    monkeypatch.setattr(mlp_module.nn, "fit", crashing_fit)
    with pytest.raises(KeyboardInterrupt):  # a new run, killed before its first checkpoint
        mlp(out=tmp_path / "a", epochs=1, verbose=False)
    monkeypatch.undo()
    resumed = mlp(out=tmp_path / "a", epochs=1, verbose=False, resume=True)
    fresh = mlp(out=tmp_path / "b", epochs=1, verbose=False)
    assert len(resumed["history"]["loss"]) == 1
    resumed.pop("seconds")
    fresh.pop("seconds")
    assert resumed == fresh


def test_cli(tmp_path, capsys):
    assert RECIPES["mlp"] is mlp
    assert cli.main(["run", "mlp", "--epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mlp: test accuracy ") and "baseline 0.9750" in out
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 1
    # resuming with other settings is refused, with one line and exit status 1
    assert cli.main(["run", "mlp", "--epochs", "2", "--out", str(tmp_path), "--resume"]) == 1
    err = capsys.readouterr().err
    assert "different settings" in err and err.count("\n") == 1
    assert cli.main(["run", "mlp", "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "mlp", "--seed", "zero"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seed" in err


def _gradkit(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "gradkit.cli", "run", "mlp", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)


def test_sigkill_and_resume_end_to_end(tmp_path):
    """``gradkit run mlp`` killed with SIGKILL after its first checkpoint, then resumed."""
    killed = tmp_path / "killed"
    proc = _gradkit("--epochs", "2", "--out", str(killed))
    marker = killed / "checkpoint" / "checkpoint.json"
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    status = proc.wait(timeout=30)
    assert status == -signal.SIGKILL, f"the run ended (status {status}) before it was killed"
    assert marker.exists() and not (killed / "metrics.json").exists()
    assert _gradkit("--epochs", "2", "--out", str(killed), "--resume").wait(timeout=120) == 0
    assert _gradkit("--epochs", "2", "--out", str(tmp_path / "fresh")).wait(timeout=120) == 0
    resumed = json.loads((killed / "metrics.json").read_text())
    fresh = json.loads((tmp_path / "fresh" / "metrics.json").read_text())
    resumed.pop("seconds")
    fresh.pop("seconds")
    assert resumed == fresh
