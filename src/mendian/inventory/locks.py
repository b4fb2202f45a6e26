"""Row locks of the stock ledger, always taken in one global order so that concurrent use-cases over
overlapping SKUs never deadlock:

1. ``StockCost`` rows (only use-cases that change the moving average: receipts, returns, transfers
   in), ordered by (location id, SKU id);
2. ``StockLevel`` rows ordered by (location id, lot id with the lot-less row first, id).

The POS fast path (``services._sell_fast``) locks the lot-less rows of one location ordered by id in
a ``FOR UPDATE`` CTE, which is a prefix of order 2; whatever it cannot do goes through
:func:`lock_levels`, which continues in the same order. On SQLite ``select_for_update`` is a no-op:
writers are serialised by IMMEDIATE transactions there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, OuterRef, Subquery

from .models import StockCost, StockLevel


@dataclass
class LevelRow:
    """A locked balance with what the services need to decide (lot expiry, average cost)."""

    id: int
    location_id: int
    location_code: str
    sku_id: int
    lot_id: int | None
    lot_code: str | None
    expiry: dt.date | None
    on_hand: int
    reserved: int
    avg_cost: Decimal


def to_cost(value) -> Decimal:
    if value is None:
        return Decimal("0.0000")
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.0001"))
    return Decimal(str(value)).quantize(Decimal("0.0001"))


def lock_levels(*, location_ids: Iterable[int], sku_ids: Iterable[int]) -> list[LevelRow]:
    """Lock (PostgreSQL: ``SELECT … FOR UPDATE`` in the global order) every balance of these SKUs at
    these locations, all lots included, and return them with their lot and average cost."""
    loc_ids = sorted(set(location_ids))
    skus = sorted(set(sku_ids))
    if not loc_ids or not skus:
        return []
    cost = StockCost.objects.filter(location_id=OuterRef("location_id"), sku_id=OuterRef("sku_id")).values("avg_cost")[:1]
    qs = (
        StockLevel.objects.filter(location_id__in=loc_ids, sku_id__in=skus)
        .annotate(avg=Subquery(cost))
        .select_for_update(of=("self",))
        .order_by("location_id", F("lot_id").asc(nulls_first=True), "id")
        .values_list("id", "location_id", "location__code", "sku_id", "lot_id", "lot__code", "lot__expiry",
                     "on_hand", "reserved", "avg")
    )
    return [LevelRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], to_cost(r[9])) for r in qs]


def lock_costs(*, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StockCost]:
    """Create missing cost rows for (location id, SKU id) and lock them all in the global order."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    StockCost.objects.bulk_create([StockCost(location_id=loc, sku_id=sku, avg_cost=Decimal("0")) for loc, sku in wanted],
                                  ignore_conflicts=True)
    loc_ids = {k[0] for k in wanted}
    sku_ids = {k[1] for k in wanted}
    rows = (StockCost.objects.filter(location_id__in=loc_ids, sku_id__in=sku_ids)
            .select_for_update().order_by("location_id", "sku_id"))
    want = set(wanted)
    return {(c.location_id, c.sku_id): c for c in rows if (c.location_id, c.sku_id) in want}
