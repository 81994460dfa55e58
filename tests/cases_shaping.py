"""Primitive cases: shaping."""
