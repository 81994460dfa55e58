"""Primitive cases: series."""
