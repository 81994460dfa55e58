"""Recipes: derivatives at work on real data, each against the baseline a practitioner uses.

Each recipe is one module here (``gradkit/recipes/<name>.py``) holding a frozen dataclass
``Config`` (its defaults meet the recipe's goal; ``Config.smoke()`` is a seconds-long
run), a :class:`Spec` (summary, primary metric, goal, baseline, optional packages) and
``run(cfg, rd) -> dict`` built from :class:`RunDir` stages. The registry discovers
them: ``gradkit list``, ``gradkit run NAME``, ``gradkit run all``, the scoreboard, the
HTML report (``gradkit report``) and the contract test all read it. They need the
``recipes`` extra (scikit-learn for bundled data and baselines, SciPy, matplotlib).

>>> from gradkit import recipes
>>> recipes.get("diagnosis").SPEC.metric
'test_accuracy'
"""

from ._registry import UnknownRecipe, failure_text, fmt, get, names, run, run_all, summary_line
from ._rundir import SCHEMA, SCHEMA_KEYS, RunDir
from ._spec import ConfigError, MissingDependency, Spec, override

__all__ = ["names", "get", "run", "run_all", "failure_text", "Spec", "RunDir", "override",
           "ConfigError", "MissingDependency", "UnknownRecipe", "SCHEMA", "SCHEMA_KEYS", "fmt",
           "summary_line"]
