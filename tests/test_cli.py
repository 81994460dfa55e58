"""The command line and the demo."""

import subprocess
import sys

from gradkit import cli, demo


def test_demo_errors():
    lines = []
    errors = demo.run(out=lines.append)
    assert abs(errors["forward_error"] - 1e-5) < 1e-7  # the textbook snippet is off by 1e-5
    assert errors["central_error"] < 1e-9
    assert errors["autodiff_error"] == 0.0
    assert errors["gradient_error"] < 1e-12
    assert errors["hessian_error"] < 1e-12
    assert errors["jacobian_error"] < 1e-15
    assert any("automatic differentiation" in line for line in lines)


def test_cli_demo_runs():
    out = subprocess.run([sys.executable, "-m", "gradkit.cli", "demo"], capture_output=True,
                         text=True, check=True)
    assert "automatic differentiation" in out.stdout and "Hessian" in out.stdout


def test_cli_bad_arguments_exit_2(capsys):
    assert cli.main(["run", "no-such-recipe"]) == 2
    assert "unknown recipe 'no-such-recipe'" in capsys.readouterr().err
    try:
        cli.main(["--frobnicate"])
    except SystemExit as e:
        assert e.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments" in err


def _fails_with(capsys, argv, code):
    """``gradkit ARGV`` returns ``code`` with one line on stderr (no traceback)."""
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    err = _fails_with(capsys, ["run", "diagnosis", "--seed", "-1"], 2)
    assert "--seed must be an integer from 0 to 4294967295" in err and "-1" in err
    err = _fails_with(capsys, ["run", "diagnosis", "--seed", str(2**32)], 2)
    assert "--seed" in err and str(2**32) in err
    err = _fails_with(capsys, ["run", "diagnosis", "--epochs", "0"], 2)
    assert "--epochs must be at least 1" in err
    err = _fails_with(capsys, ["run", "diagnosis", "--out", str(a_file / "sub" / "dir")], 2)
    assert f"{a_file} is a file" in err
    err = _fails_with(capsys, ["run", "diagnosis", "--out", str(a_file)], 2)
    assert "not a folder" in err
    err = _fails_with(capsys, ["run", "nope", "--seed", "-1"], 2)
    assert "unknown recipe 'nope'" in err


def test_bad_options_from_the_shell_show_no_traceback(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for args in (["--seed", "-1"], ["--out", str(a_file / "sub")]):
        done = subprocess.run([sys.executable, "-m", "gradkit.cli", "run", "diagnosis", *args],
                              capture_output=True, text=True)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert done.stdout == ""


def test_failures_at_run_time_are_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    from gradkit import recipes
    from gradkit.errors import NaNError

    module = recipes.get("diagnosis")
    seen = {}
    failures = [
        (OSError(28, "No space left on device", str(tmp_path / "metrics.json")),
         "No space left on device"),
        (NaNError("diagnosis: stage 'adam' produced a non-finite 'loss'"), "non-finite"),
        (ValueError("could not convert string to float: 'x'\nin row 3"), "row 3"),
        (RuntimeError("boom"), "RuntimeError: boom"),
    ]
    for exc, words in failures:
        def run(cfg, rd, exc=exc):
            seen.update(epochs=cfg.epochs, seed=rd.seed, out=rd.path, resume=rd.resume)
            raise exc

        monkeypatch.setattr(module, "run", run)
        err = _fails_with(capsys, ["run", "diagnosis", "--epochs", "1", "--seed", "7",
                                   "--out", str(tmp_path / "run")], 1)
        assert err.startswith("gradkit run diagnosis: ") and words in err
    assert seen == dict(epochs=1, seed=7, out=tmp_path / "run", resume=False)
    # A developer can still ask for the traceback.
    monkeypatch.setenv("GRADKIT_TRACEBACK", "1")
    try:
        cli.main(["run", "diagnosis", "--out", str(tmp_path / "run")])
    except RuntimeError as e:
        assert str(e) == "boom"
    else:
        raise AssertionError("GRADKIT_TRACEBACK=1 should let the error through")


def test_settings_and_dependencies_are_checked_before_the_run(capsys, monkeypatch):
    import dataclasses

    from gradkit import recipes

    err = _fails_with(capsys, ["run", "edges", "--epochs", "3"], 2)
    assert "edges has no epochs" in err and "images" in err
    err = _fails_with(capsys, ["run", "mlp", "--set", "hidden=64,x"], 2)
    assert "hidden" in err and "an integer" in err
    err = _fails_with(capsys, ["run", "mlp", "--set", "dropout=1.5"], 2)
    assert "recipes.mlp.Config: dropout must be a number in [0, 0.99], got 1.5" in err
    err = _fails_with(capsys, ["run", "edges", "--set", "modes=reflect,sideways"], 2)
    assert "modes must be one or more of" in err
    module = recipes.get("diagnosis")
    spec = dataclasses.replace(module.SPEC, requires=("sklearn", "no_such_package_xyz"))
    monkeypatch.setattr(module, "SPEC", spec)
    err = _fails_with(capsys, ["run", "diagnosis"], 2)
    assert "no_such_package_xyz" in err and "pip install 'gradkit[recipes]'" in err


def test_list_is_a_table_of_every_recipe(capsys):
    from gradkit import recipes

    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["recipe", "summary"]
    assert [line.split()[0] for line in lines[1:]] == list(recipes.names())
