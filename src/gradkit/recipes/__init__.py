"""Recipes: derivatives at work on real data.

Each recipe is a function here, a ``gradkit run NAME`` command, a test, and a page under
``docs/recipes/`` with its measured result against a recognised baseline. They need the
``recipes`` extra (scikit-learn for the bundled data and baselines, matplotlib for plots).
"""

from .diagnosis import diagnosis, textbook_descent

__all__ = ["diagnosis", "textbook_descent", "RECIPES"]

RECIPES = {"diagnosis": diagnosis}
