from __future__ import annotations

from dataclasses import dataclass

from mendian.core.errors import Conflict


@dataclass(frozen=True)
class ShortLine:
    sku_id: int
    requested: int
    available: int


class InsufficientStock(Conflict):
    """Not enough stock available."""

    code = "insufficient_stock"

    def __init__(self, lines: list[ShortLine], message: str = "not enough stock available") -> None:
        self.lines = lines
        super().__init__(message, details={"lines": [
            {"sku_id": s.sku_id, "requested": s.requested, "available": s.available} for s in lines]})
