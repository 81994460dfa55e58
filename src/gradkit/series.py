"""Sequences: differences, integrals, interpolation, convolution, polynomials, cross, kron."""

from __future__ import annotations

__all__: list[str] = []
