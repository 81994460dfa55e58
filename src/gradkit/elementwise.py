"""More elementwise primitives: remainders, fmax/fmin, float_power, sinc, angles, nan_to_num."""

from __future__ import annotations

__all__: list[str] = []
