"""The recipe contract, checked for every recipe the registry finds (smoke settings).

Each recipe: its SPEC and Config are well formed, ``metrics.json`` follows schema 2, the
same seed gives the same metrics (timing keys aside), a run killed with SIGKILL and
resumed equals an uninterrupted one, a bad ``--set`` is one line and exit status 2, and
``gradkit list`` shows it. Then ``gradkit run all`` and ``gradkit report`` over them all.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
import os
import signal
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gradkit import cli, recipes
from gradkit.nn import checkpoint
from gradkit.recipes import SCHEMA_KEYS, _registry, _scoreboard
from gradkit.recipes._spec import config_dict

NAMES = recipes.names()


def test_the_registry_finds_every_recipe_module():
    package = Path(recipes.__file__).parent
    modules = sorted(p.stem for p in package.glob("*.py") if not p.stem.startswith("_"))
    assert list(NAMES) == modules
    assert {"diagnosis", "mlp", "cnn", "edges"} <= set(NAMES)
    for name in NAMES:  # the package exports no function that shadows a recipe module
        assert name not in recipes.__all__
        assert isinstance(getattr(recipes, name, recipes), types.ModuleType)


@dataclasses.dataclass
class SmokeRun:
    out: Path
    metrics: dict
    saves: int  # atomic checkpoint saves the run made


_RUNS: dict[str, SmokeRun] = {}


def smoke_run(name: str, tmp_path_factory) -> SmokeRun:
    """One uninterrupted smoke run per recipe, shared by the tests below."""
    if name not in _RUNS:
        out = tmp_path_factory.mktemp(f"smoke-{name}")
        before = checkpoint._saves_in_process
        module = recipes.get(name)
        metrics = recipes.run(name, module.Config.smoke(), seed=0, out=out, verbose=False)
        _RUNS[name] = SmokeRun(out, metrics, checkpoint._saves_in_process - before)
    return _RUNS[name]


def _without_timing(metrics: dict, name: str) -> dict:
    timing = recipes.get(name).SPEC.timing_keys
    return {k: v for k, v in metrics.items() if k not in timing}


@pytest.mark.parametrize("name", NAMES)
def test_spec_and_config(name):
    module = recipes.get(name)
    spec = module.SPEC
    assert spec.name == name and spec.summary and "\n" not in spec.summary
    assert isinstance(spec.higher_is_better, bool)
    assert isinstance(spec.goal, str) and spec.goal or math.isfinite(spec.goal)
    assert spec.baseline_source in ("measured", "published") and spec.baseline
    assert spec.missing() == []  # the test extra installs every recipe's dependencies
    cfg, smoke = module.Config(), module.Config.smoke()
    assert isinstance(smoke, module.Config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first = dataclasses.fields(cfg)[0].name
        setattr(cfg, first, getattr(cfg, first))
    assert json.loads(json.dumps(config_dict(cfg))) == config_dict(cfg)
    assert module.__doc__ and module.run.__doc__


@pytest.mark.parametrize("name", NAMES)
def test_metrics_schema(name, tmp_path_factory):
    run = smoke_run(name, tmp_path_factory)
    written = json.loads((run.out / "metrics.json").read_text())
    assert written == run.metrics
    assert list(written)[:len(SCHEMA_KEYS)] == list(SCHEMA_KEYS)
    spec = recipes.get(name).SPEC
    assert written["schema"] == 2 and written["recipe"] == name and written["seed"] == 0
    assert written["config"] == config_dict(recipes.get(name).Config.smoke())
    assert written["metric"] == spec.metric
    assert isinstance(written["value"], float) and math.isfinite(written["value"])
    assert written["higher_is_better"] is spec.higher_is_better
    assert math.isfinite(written["goal"])
    assert isinstance(spec.goal, str) or written["goal"] == spec.goal
    assert written["goal_met"] is spec.goal_met(written["value"], written["goal"])
    assert written["baseline_source"] == spec.baseline_source
    assert written["baseline_value"] is None or math.isfinite(written["baseline_value"])
    assert isinstance(written["baseline_name"], str) and written["baseline_name"]
    assert written["seconds"] >= 0
    for key in spec.timing_keys:
        assert key in written
    assert list((run.out).glob("*.png")), "every recipe draws at least one figure"


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_metrics(name, tmp_path_factory, tmp_path):
    first = smoke_run(name, tmp_path_factory).metrics
    again = recipes.run(name, recipes.get(name).Config.smoke(), seed=0, out=tmp_path,
                        verbose=False)
    assert _without_timing(again, name) == _without_timing(first, name)


def _gradkit_run(name: str, out: Path, *extra: str, kill_after: int | None = None) -> int:
    env = dict(os.environ)
    env.pop("GRADKIT_FAULT_KILL_AFTER_SAVES", None)
    if kill_after is not None:
        env["GRADKIT_FAULT_KILL_AFTER_SAVES"] = str(kill_after)
    done = subprocess.run([sys.executable, "-m", "gradkit.cli", "run", name, "--smoke",
                           "--quiet", "--out", str(out), *extra], env=env,
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


def killed_and_resumed(name: str, out: Path, kill_after: int) -> dict:
    """``gradkit run NAME`` killed with SIGKILL after its ``kill_after``-th checkpoint
    save, then resumed with ``--resume``; the resumed run's metrics."""
    status = _gradkit_run(name, out, kill_after=kill_after)
    assert status == -signal.SIGKILL, f"the run ended (status {status}) before it was killed"
    assert not (out / "metrics.json").exists()
    assert _gradkit_run(name, out, "--resume") == 0
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_sigkill_and_resume_equal_an_uninterrupted_run(name, tmp_path_factory, tmp_path):
    fresh = smoke_run(name, tmp_path_factory)
    assert fresh.saves >= 3, "a recipe checkpoints its settings and at least two stages"
    # Early (after the first stage) and late (before the last save): a mid-training
    # checkpoint for the recipes whose last saves are a training loop's epochs.
    for k in sorted({2, fresh.saves - 1}):
        resumed = killed_and_resumed(name, tmp_path / f"killed-{k}", k)
        assert _without_timing(resumed, name) == _without_timing(fresh.metrics, name)


def _fails_with(capsys, argv: list[str], code: int) -> str:
    assert cli.main(argv) == code
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    return captured.err


@pytest.mark.parametrize("name", NAMES)
def test_bad_set_is_one_line_and_exit_2(name, capsys):
    cfg = recipes.get(name).Config()
    fields = [f.name for f in dataclasses.fields(cfg)]
    err = _fails_with(capsys, ["run", name, "--set", "no_such_setting=1"], 2)
    assert "no_such_setting" in err and all(f in err for f in fields)
    err = _fails_with(capsys, ["run", name, "--set", "missing-equals"], 2)
    assert "key=value" in err
    numeric = [f.name for f in dataclasses.fields(cfg)
               if isinstance(getattr(cfg, f.name), int | float)
               and not isinstance(getattr(cfg, f.name), bool)]
    if numeric:
        err = _fails_with(capsys, ["run", name, "--set", f"{numeric[0]}=not-a-number"], 2)
        assert numeric[0] in err and "not-a-number" in err


@pytest.mark.parametrize("name", NAMES)
def test_list_shows_the_recipe(name, capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    spec = recipes.get(name).SPEC
    line = next(x for x in out.splitlines() if x.startswith(name + " "))
    assert spec.summary in line and spec.metric in line and spec.goal_text() in line


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.images, self.external = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("link", "script", "iframe") or (tag == "img" and not
                                                   attrs.get("src", "").startswith("data:")):
            self.external.append((tag, attrs))


def test_run_all_writes_the_scoreboard_and_the_report(tmp_path, capsys):
    from PIL import Image

    assert cli.main(["run", "all", "--smoke", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    board = json.loads((tmp_path / "scoreboard.json").read_text())
    assert [r["recipe"] for r in board["rows"]] == list(NAMES)
    markdown = (tmp_path / "scoreboard.md").read_text()
    for row in board["rows"]:
        assert row["status"] == "ok"
        m = json.loads((tmp_path / row["recipe"] / "metrics.json").read_text())
        assert row["value"] == m["value"] and row["goal_met"] == m["goal_met"]
        assert f"| {row['recipe']} " in markdown and f"| {row['recipe']} " in out
    assert cli.main(["report", "--runs", str(tmp_path)]) == 0
    page = _Page()
    page.feed((tmp_path / "report.html").read_text())
    assert {f"recipe-{n}" for n in NAMES} <= page.ids
    assert page.external == []
    pngs = sum(len(list((tmp_path / n).glob("*.png"))) for n in NAMES)
    assert len(page.images) == pngs >= len(NAMES)
    for src in page.images:
        head, _, data = src.partition(",")
        assert head == "data:image/png;base64"
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            im.load()
            assert im.size[0] > 100 and im.size[1] > 100


def test_a_failing_recipe_does_not_stop_the_others(tmp_path, capsys, monkeypatch):
    broken = NAMES[0]
    module = recipes.get(broken)

    def fails(cfg, rd):
        raise FloatingPointError("boom")

    monkeypatch.setattr(module, "run", fails)
    monkeypatch.setattr(_registry, "names", lambda: NAMES[:2])
    monkeypatch.setattr(_scoreboard, "names", lambda: NAMES[:2])
    assert cli.main(["run", "all", "--smoke", "--quiet", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and broken in err
    rows = json.loads((tmp_path / "scoreboard.json").read_text())["rows"]
    assert rows[0]["status"].startswith("failed: FloatingPointError: boom")
    assert rows[1]["status"] == "ok"


def test_report_without_runs_is_one_line_and_exit_1(tmp_path, capsys):
    err = _fails_with(capsys, ["report", "--runs", str(tmp_path / "none")], 1)
    assert "gradkit run all" in err


def test_run_all_refuses_settings(capsys):
    err = _fails_with(capsys, ["run", "all", "--set", "epochs=2"], 2)
    assert "--set" in err
