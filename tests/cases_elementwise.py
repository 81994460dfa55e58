"""Primitive cases: the elementwise functions of ``gradkit.elementwise``."""
