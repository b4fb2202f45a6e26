"""Stock API: balances, adjustments, counts, the movement ledger, count tasks.

Conventions chosen here:
- A location code in a query that does not exist, or that is outside the caller's scope, is a 404
  (``not_found``, ``details.field`` = the parameter) — the same answer for both, so that nobody learns
  which stores exist beyond their scope; an unknown SKU code in a query is a 404 as well (a typo must
  not look like "no stock"). Without ``location`` the lists cover every location in scope.
- In a body, an unknown code is a 422 ``unknown_code`` naming the field; a location outside the
  scope is a 404.
- Adjustments and counts: ``hq``, ``region`` (their region's locations) and ``store_manager`` (their
  locations); cashiers and buyers get 403. Both accept an ``Idempotency-Key``.
- ``unit_cost`` is a decimal string with 4 places (a cost per base unit, which may be a gram).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field as NField
from ninja import Query, Router, Schema, Status

from mendian.core.errors import NotFound, PermissionDenied, unknown_code
from mendian.org.scope import Scope, user_scope
from mendian.platform.idempotency import idempotent_create
from mendian.platform.schemas import ErrorOut

from . import selectors, services
from .schemas import (
    AdjustmentIn,
    AdjustmentOut,
    CountIn,
    CountOut,
    CountTaskListOut,
    MovementListOut,
    StockListOut,
)

router = Router(tags=["inventory"])

MANAGE_ROLES = ("hq", "region", "store_manager")
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class Page(Schema):
    limit: int = NField(50, ge=1, le=500)
    offset: int = NField(0, ge=0, le=10_000_000)


class StockFilters(Page):
    location: str | None = NField(None, max_length=16)
    sku: str | None = NField(None, max_length=32)


class MovementFilters(Page):
    location: str = NField(..., max_length=16)
    sku: str = NField(..., max_length=32)


class CountTaskFilters(Page):
    location: str | None = NField(None, max_length=16)
    status: str | None = NField(None, description="open or done", max_length=8)


def _query_location(scope: Scope, code: str) -> int:
    ref = selectors.location_ref(code)
    if ref is None or not scope.sees(ref[0]):
        raise NotFound(f"location {code} not found", details={"field": "location", "value": code})
    return ref[0]


def _query_sku(code: str) -> int:
    ref = selectors.sku_ref(code)
    if ref is None:
        raise NotFound(f"SKU {code} not found", details={"field": "sku", "value": code})
    return ref[0]


def _body_location(scope: Scope, code: str) -> tuple[int, str]:
    ref = selectors.location_ref(code)
    if ref is None:
        raise unknown_code("location", code)
    if not scope.sees(ref[0]):
        raise NotFound(f"location {code} not found")
    return ref


def _require_manager(scope: Scope, location_id: int) -> None:
    if not scope.has_role(*MANAGE_ROLES, location_id=location_id):
        raise PermissionDenied("your role may not change stock at this location")


def _key(request: HttpRequest) -> str | None:
    return request.headers.get("Idempotency-Key") or None


@router.get("/stock", response={200: StockListOut, **ERRORS}, summary="Stock balances (summed over lots)")
def stock_list(request: HttpRequest, filters: Query[StockFilters]):
    """Balances per location and SKU in the caller's scope: `on_hand`, `reserved`, `available`
    summed over lots, the lots of lot-tracked SKUs listed inside (earliest expiry first)."""
    scope = user_scope(request.user)
    location_id = _query_location(scope, filters.location) if filters.location else None
    sku_id = _query_sku(filters.sku) if filters.sku else None
    rows, count = selectors.stock_list(location_ids=scope.location_ids, location_id=location_id, sku_id=sku_id,
                                       limit=filters.limit, offset=filters.offset)
    return {"items": [
        {"location": r.location, "sku": r.sku, "sku_name": r.sku_name, "on_hand": r.on_hand, "reserved": r.reserved,
         "available": r.available,
         "lots": [{"lot": lt.lot, "expiry": lt.expiry, "on_hand": lt.on_hand, "reserved": lt.reserved,
                   "available": lt.available} for lt in r.lots]}
        for r in rows], "count": count}


@router.post("/stock/adjustments", response={201: AdjustmentOut, **ERRORS}, summary="Adjust stock")
def stock_adjust(request: HttpRequest, payload: AdjustmentIn):
    """`delta` in base units (negative takes stock off, never below zero on hand); `reason` one of
    `correction`, `damage`, `theft`, `found`, `expired`, `other`. Audited. Optional
    `Idempotency-Key`."""
    scope = user_scope(request.user)
    loc_id, _code = _body_location(scope, payload.location)
    _require_manager(scope, loc_id)
    sku = selectors.sku_ref(payload.sku)
    if sku is None:
        raise unknown_code("sku", payload.sku)
    user = request.user

    def create():
        r = services.stock_adjust(location_id=loc_id, sku_id=sku[0], delta=payload.delta, reason=payload.reason,
                                  note=payload.note, user=user, lot_code=payload.lot)
        return 201, {"location": r.location_code, "sku": r.sku_code, "delta": r.delta, "reason": r.reason,
                     "note": r.note, "on_hand": r.on_hand, "reserved": r.reserved,
                     "available": r.on_hand - r.reserved,
                     "lots": [{"lot": t.lot_code, "quantity": t.quantity if r.delta > 0 else -t.quantity}
                              for t in r.takes]}

    stored = idempotent_create(user_id=user.pk, scope="stock.adjustments", key=_key(request),
                               payload=payload.model_dump(mode="json"), create=create, required=False)
    return Status(stored.status, stored.body)


@router.post("/stock/counts", response={201: CountOut, **ERRORS}, summary="Record a stock count")
def stock_count(request: HttpRequest, payload: CountIn):
    """Counted quantities (0 or more) per SKU (optionally per `lot`); the variance against the book
    becomes count movements and open count tasks of those SKUs are closed. Audited. Optional
    `Idempotency-Key`."""
    scope = user_scope(request.user)
    loc_id, code = _body_location(scope, payload.location)
    _require_manager(scope, loc_id)
    ids = selectors.sku_refs({ln.sku for ln in payload.lines})
    for i, ln in enumerate(payload.lines):
        if ln.sku not in ids:
            raise unknown_code(f"lines[{i}].sku", ln.sku)
    user = request.user
    codes = {v: k for k, v in ids.items()}

    def create():
        lines = [(ids[ln.sku], ln.counted, ln.lot) if ln.lot else (ids[ln.sku], ln.counted) for ln in payload.lines]
        count = services.stock_count_record(location_id=loc_id, lines=lines, user=user, note=payload.note)
        return 201, {"number": count.number, "location": code, "created_at": timezone.localtime(count.created_at),
                     "note": count.note, "lines": [
                         {"sku": codes[cl.sku_id], "lot": pl.lot, "book": cl.book_qty, "counted": cl.counted_qty,
                          "variance": cl.variance} for cl, pl in zip(count.recorded_lines, payload.lines, strict=True)]}

    stored = idempotent_create(user_id=user.pk, scope="stock.counts", key=_key(request),
                               payload=payload.model_dump(mode="json"), create=create, required=False)
    return Status(stored.status, stored.body)


@router.get("/stock/movements", response={200: MovementListOut, **ERRORS}, summary="The ledger of one SKU")
def stock_movements(request: HttpRequest, filters: Query[MovementFilters]):
    """Movements of one SKU at one location, newest first."""
    scope = user_scope(request.user)
    loc_id = _query_location(scope, filters.location)
    sku_id = _query_sku(filters.sku)
    rows, count = selectors.movement_list(location_id=loc_id, sku_id=sku_id, limit=filters.limit,
                                          offset=filters.offset)
    return {"items": [
        {"id": m.pk, "at": timezone.localtime(m.created_at), "reason": m.reason, "cause": m.cause,
         "lot": m.lot.code if m.lot_id else None, "on_hand_delta": m.on_hand_delta,
         "reserved_delta": m.reserved_delta, "unit_cost": None if m.unit_cost is None else f"{m.unit_cost:.4f}",
         "doc_type": m.doc_type, "doc_ref": m.doc_ref, "note": m.note,
         "user": m.user.username if m.user_id else None}
        for m in rows], "count": count}


@router.get("/count-tasks", response={200: CountTaskListOut, **ERRORS}, summary="Count tasks")
def count_tasks(request: HttpRequest, filters: Query[CountTaskFilters]):
    """Requests to count a SKU (e.g. after a POS sale drove on hand below zero), newest first."""
    scope = user_scope(request.user)
    loc_id = _query_location(scope, filters.location) if filters.location else None
    rows, count = selectors.count_task_list(location_ids=scope.location_ids, location_id=loc_id,
                                            status=filters.status, limit=filters.limit, offset=filters.offset)
    return {"items": [
        {"id": t.pk, "location": t.location.code, "sku": t.sku.code, "sku_name": t.sku.name, "reason": t.reason,
         "status": t.status, "created_at": timezone.localtime(t.created_at),
         "done_at": timezone.localtime(t.done_at) if t.done_at else None}
        for t in rows], "count": count}
