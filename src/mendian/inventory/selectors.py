"""Read use-cases of the stock ledger: balances per (location, SKU) with their lots, the movement
ledger of one SKU, count tasks. Every list is filtered by the caller's scope (location ids)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet, Sum

from .models import CountTask, StockLevel, StockMovement


def location_ref(code: str) -> tuple[int, str] | None:
    """(id, code) of a location by code, or None."""
    from mendian.org.models import Location

    row = Location.objects.filter(code=code).values_list("pk", "code").first()
    return (row[0], row[1]) if row else None


def sku_ref(code: str) -> tuple[int, str, bool] | None:
    """(id, code, lot_tracked) of a SKU by code, or None."""
    from mendian.catalog.models import Sku

    row = Sku.objects.filter(code=code).values_list("pk", "code", "lot_tracked").first()
    return (row[0], row[1], row[2]) if row else None


def sku_refs(codes: set[str]) -> dict[str, int]:
    from mendian.catalog.models import Sku

    return dict(Sku.objects.filter(code__in=codes).values_list("code", "pk"))


@dataclass(frozen=True)
class LotRow:
    lot: str | None
    expiry: object
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class StockRow:
    location: str
    sku: str
    sku_name: str
    lot_tracked: bool
    on_hand: int
    reserved: int
    lots: list[LotRow]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def _scoped(qs: QuerySet, location_ids: frozenset[int] | None) -> QuerySet:
    return qs if location_ids is None else qs.filter(location_id__in=location_ids)


def stock_list(*, location_ids: frozenset[int] | None, location_id: int | None = None, sku_id: int | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[StockRow], int]:
    """Balances summed over lots per (location, SKU), ordered by location and SKU code, with the lots
    of lot-tracked SKUs inside. Three queries: count, page, lots of the page."""
    qs = _scoped(StockLevel.objects.all(), location_ids)
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    if sku_id is not None:
        qs = qs.filter(sku_id=sku_id)
    grouped = (qs.values("location_id", "sku_id", "location__code", "sku__code", "sku__name", "sku__lot_tracked")
               .annotate(oh=Sum("on_hand"), rs=Sum("reserved")).order_by("location__code", "sku__code"))
    count = grouped.count()
    page = list(grouped[offset: offset + limit])
    lots: dict[tuple[int, int], list[LotRow]] = defaultdict(list)
    lot_pairs = [(r["location_id"], r["sku_id"]) for r in page if r["sku__lot_tracked"]]
    if lot_pairs:
        cond = Q()
        for loc, sku in lot_pairs:
            cond |= Q(location_id=loc, sku_id=sku)
        for loc, sku, code, expiry, oh, rs in (
                StockLevel.objects.filter(cond)
                .order_by("location_id", "sku_id", F("lot__expiry").asc(nulls_last=True), F("lot_id").asc(nulls_last=True))
                .values_list("location_id", "sku_id", "lot__code", "lot__expiry", "on_hand", "reserved")):
            lots[(loc, sku)].append(LotRow(code, expiry, oh, rs))
    rows = [StockRow(r["location__code"], r["sku__code"], r["sku__name"], r["sku__lot_tracked"], r["oh"] or 0,
                     r["rs"] or 0, lots.get((r["location_id"], r["sku_id"]), [])) for r in page]
    return rows, count


def movement_list(*, location_id: int, sku_id: int, limit: int = 50, offset: int = 0) -> tuple[list[StockMovement], int]:
    """The ledger of one SKU at one location, newest first."""
    qs = StockMovement.objects.filter(location_id=location_id, sku_id=sku_id)
    count = qs.count()
    rows = list(qs.select_related("lot", "user").order_by("-created_at", "-id")[offset: offset + limit])
    return rows, count


def count_task_list(*, location_ids: frozenset[int] | None, location_id: int | None = None,
                    status: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[CountTask], int]:
    qs = _scoped(CountTask.objects.all(), location_ids)
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    if status:
        qs = qs.filter(status=status)
    count = qs.count()
    rows = list(qs.select_related("location", "sku").order_by("-created_at", "-id")[offset: offset + limit])
    return rows, count


def stock_totals(*, location_id: int, sku_id: int) -> tuple[int, int]:
    agg = StockLevel.objects.filter(location_id=location_id, sku_id=sku_id).aggregate(oh=Sum("on_hand"), rs=Sum("reserved"))
    return agg["oh"] or 0, agg["rs"] or 0
