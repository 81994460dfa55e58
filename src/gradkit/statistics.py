"""Statistics over axes: cumprod, median, quantiles, averages, NaN-ignoring reductions, cov."""

from __future__ import annotations

__all__: list[str] = []
