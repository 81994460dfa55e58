"""Primitive cases: statistics."""
