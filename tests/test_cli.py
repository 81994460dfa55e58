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
