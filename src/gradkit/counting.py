"""Non-differentiable searching and counting: unique, searchsorted, digitize, histogram."""

from __future__ import annotations

__all__: list[str] = []
