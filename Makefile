# Two entry points: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[recipes]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.demo-installed

# The core demo, every recipe (ending with the scoreboard), then runs/report.html.
demo: $(VENV)/.demo-installed
	$(VENV)/bin/gradkit demo
	$(VENV)/bin/gradkit run all
	$(VENV)/bin/gradkit report

test: $(VENV)/.test-installed
	$(VENV)/bin/ruff check src tests bench
	$(PY) -m pytest src tests

# The peers (PyTorch, autograd, JAX) live in their own environment, never in the test run.
.venv-bench/bin/python:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --upgrade pip

.venv-bench/.installed: pyproject.toml | .venv-bench/bin/python
	.venv-bench/bin/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: .venv-bench/.installed
	.venv-bench/bin/python bench/autodiff.py
	.venv-bench/bin/python bench/dropin_vs_jax.py
	.venv-bench/bin/python bench/recipes.py
	.venv-bench/bin/python bench/embeddings.py
	.venv-bench/bin/python bench/gan.py
	.venv-bench/bin/python bench/rl.py
	.venv-bench/bin/python bench/supply.py
	.venv-bench/bin/python bench/pathplan.py
	.venv-bench/bin/python bench/vmap.py
	.venv-bench/bin/python bench/bigdata.py

clean:
	rm -rf $(VENV) .venv-bench build src/*.egg-info .pytest_cache .hypothesis
