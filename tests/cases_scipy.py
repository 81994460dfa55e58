"""Primitive cases: scipy."""
