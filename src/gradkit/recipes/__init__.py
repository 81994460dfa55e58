"""Recipes: derivatives at work on real data.

Each recipe is a function here, a ``gradkit run NAME`` command, a test, and a page under
``docs/recipes/`` with its measured result against a recognised baseline. They need the
``recipes`` extra (scikit-learn for the bundled data and baselines, matplotlib for plots).
"""

from .cnn import cnn
from .diagnosis import diagnosis, textbook_descent
from .mlp import mlp

__all__ = ["diagnosis", "textbook_descent", "mlp", "cnn", "RECIPES"]

RECIPES = {"diagnosis": diagnosis, "mlp": mlp, "cnn": cnn}
