"""Building and rearranging arrays: select, partition, rotations, stacking, splitting, grids."""

from __future__ import annotations

__all__: list[str] = []
