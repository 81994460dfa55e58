"""The README's example runs and says what it claims."""

import re
from pathlib import Path

import numpy as onp

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    first_block = text.split("```")[1]
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()[1:]] == [
        "make demo", "make test"]


def test_readme_example_runs():
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    scope: dict = {}
    exec(code, scope)
    assert scope["g"].shape == (3,) and scope["H"].shape == (3, 3)
    assert onp.array_equal(scope["t"].grad.numpy(), [2.0, 4.0, 6.0])
