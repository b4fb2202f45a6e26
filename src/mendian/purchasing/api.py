"""Purchasing API: suggested and manual purchase orders (buyer, hq), the supplier portal (confirm,
ship notices, delivery slots, QC reports), goods receipts (store/warehouse managers) and the lot
recall query. Supplier users see only their own supplier's documents (404 for any other); a cashier
nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from mendian.core.errors import NotFound, PermissionDenied, unknown_code
from mendian.core.money import money_str
from mendian.core.timeutil import local_tz
from mendian.org.models import Location
from mendian.platform.idempotency import MissingIdempotencyKey, idempotent_create
from mendian.platform.schemas import ErrorOut

from . import domain, selectors, services
from .models import PurchaseOrder, QcReport, Receipt, ShipNotice, Supplier
from .schemas import (
    AppointmentIn,
    AppointmentOut,
    CancelIn,
    ConfirmIn,
    LineEditIn,
    LotTraceListOut,
    NoticeIn,
    NoticeListOut,
    NoticeOut,
    OrderIn,
    OrderListOut,
    OrderOut,
    QcReportOut,
    ReceiptIn,
    ReceiptOut,
    ScorecardOut,
    SlotListOut,
    SuggestIn,
    SuggestOut,
)
from .selectors import PurchasingAccess, purchasing_access

router = Router(tags=["purchasing"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _key(request: HttpRequest) -> str:
    key = request.headers.get("Idempotency-Key") or None
    if not key:
        raise MissingIdempotencyKey()
    return key


def _access(request: HttpRequest) -> PurchasingAccess:
    access = purchasing_access(request.user)
    if not access.any_access:
        raise PermissionDenied("purchasing is not part of your role")
    return access


def _sku_ids(codes: list[str], field: str = "sku") -> dict[str, int]:
    from mendian.catalog.models import Sku

    found = dict(Sku.objects.filter(code__in=set(codes)).values_list("code", "pk"))
    for c in codes:
        if c not in found:
            raise unknown_code(field, c)
    return found


def order_out(o: PurchaseOrder) -> dict:
    lines = list(o.lines.all())
    return {
        "number": o.number, "status": o.status, "supplier": o.supplier.code, "supplier_name": o.supplier.name,
        "location": o.location.code, "source": o.source, "expected_date": o.expected_date, "note": o.note,
        "total": money_str(sum((domain.line_cost(ln.effective_qty, ln.unit_cost) for ln in lines),
                               Decimal("0"))),
        "created_at": o.created_at, "approved_at": o.approved_at, "sent_at": o.sent_at,
        "confirmed_at": o.confirmed_at, "received_at": o.received_at, "cancelled_at": o.cancelled_at,
        "lines": [{"line": ln.line_no, "sku": ln.sku.code, "sku_name": ln.sku.name, "quantity": ln.quantity,
                   "pack_size": ln.pack_size, "packs": ln.quantity // max(ln.pack_size, 1),
                   "unit_cost": f"{ln.unit_cost:.4f}", "amount": money_str(domain.line_cost(ln.quantity, ln.unit_cost)),
                   "confirmed_qty": ln.confirmed_qty, "confirmed_date": ln.confirmed_date,
                   "accepted_qty": ln.accepted_qty, "rejected_qty": ln.rejected_qty, "suggestion": ln.suggestion}
                  for ln in lines],
    }


def _order(access: PurchasingAccess, number: str) -> dict:
    o = selectors.purchase_order_get(access=access, number=number)
    if o is None:
        raise NotFound(f"purchase order {number} not found", code="purchase_order_not_found")
    return order_out(o)


def notice_out(n: ShipNotice) -> dict:
    return {
        "number": n.number, "order": n.order.number, "supplier": n.supplier.code, "location": n.location.code,
        "status": n.status, "expected_at": n.expected_at, "carrier": n.carrier, "supplier_ref": n.supplier_ref,
        "created_at": n.created_at,
        "lines": [{"sku": ln.sku.code, "quantity": ln.quantity, "lot": ln.lot_code or None, "expiry": ln.expiry}
                  for ln in n.lines.all()],
        "appointments": [{"number": a.number, "status": a.status, "slot_start": a.slot.starts_at,
                          "slot_end": a.slot.ends_at} for a in n.appointments.all()],
        "qc_reports": [qc_out(r, n) for r in n.qc_reports.all()],
    }


def qc_out(r: QcReport, notice: ShipNotice) -> dict:
    return {"ship_notice": notice.number, "file": r.file.name, "original_name": r.original_name, "size": r.size,
            "sha256": r.sha256, "result": r.result, "note": r.note, "uploaded_at": r.uploaded_at}


def receipt_out(r: Receipt) -> dict:
    return {
        "number": r.number, "order": r.order.number, "ship_notice": r.notice.number if r.notice_id else None,
        "location": r.location.code, "order_status": r.order.status, "received_at": r.received_at,
        "lines": [{"sku": ln.sku.code, "received": ln.received_qty, "accepted": ln.accepted_qty,
                   "rejected": ln.rejected_qty, "reject_reason": ln.reject_reason, "lot": ln.lot_code or None,
                   "expiry": ln.expiry, "unit_cost": f"{ln.unit_cost:.4f}"} for ln in r.lines.all()],
        "discrepancies": [{"sku": d.sku.code, "kind": d.kind, "expected": d.expected_qty, "actual": d.actual_qty,
                           "note": d.note} for d in r.discrepancies.all()],
    }


# --- purchase orders ----------------------------------------------------------------------------------

@router.post("/purchase-orders/suggest", response={201: SuggestOut, **ERRORS}, summary="Suggest purchase orders")
def suggest(request: HttpRequest, payload: SuggestIn):
    """Draft orders per supplier and receiving location from planning's reorder points / order-up-to
    levels (or hand-set minimums) against available + on order, in whole packs and at least the MOQ.
    With `budget`, the least urgent lines are dropped first (the boundary line is cut to whole packs).
    Header `Idempotency-Key` required."""
    key = _key(request)
    access = _access(request)

    def create():
        res = services.purchase_order_suggest(actor=request.user, access=access, supplier_code=payload.supplier,
                                              location_codes=payload.locations or None, budget=payload.budget)
        orders = [selectors.purchase_order_get(access=access, number=o.number) for o in res.orders]
        return 201, {"orders": [order_out(o) for o in orders],
                     "dropped": [{**d, "cost": money_str(d["cost"])} for d in res.dropped], "cut": res.cut,
                     "total": money_str(res.total), "budget": money_str(res.budget) if res.budget is not None else None,
                     "pairs_considered": res.pairs_considered}

    stored = idempotent_create(user_id=request.user.pk, scope="purchase_order_suggest", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.post("/purchase-orders", response={201: OrderOut, **ERRORS}, summary="Create a purchase order by hand")
def create_order(request: HttpRequest, payload: OrderIn):
    key = _key(request)
    access = _access(request)
    loc = Location.objects.filter(code=payload.location).first()
    if loc is None:
        raise unknown_code("location", payload.location)
    skus = _sku_ids([ln.sku for ln in payload.lines])

    def create():
        o = services.purchase_order_create(actor=request.user, access=access, supplier_code=payload.supplier,
                                           location_id=loc.pk, note=payload.note,
                                           lines=[(skus[ln.sku], ln.quantity) for ln in payload.lines])
        return 201, _order(access, o.number)

    stored = idempotent_create(user_id=request.user.pk, scope="purchase_order", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.get("/purchase-orders", response={200: OrderListOut, **ERRORS})
def list_orders(request: HttpRequest, status: str | None = None, supplier: str | None = None,
                location: str | None = None, limit: int = 50, offset: int = 0):
    access = _access(request)
    items, count = selectors.purchase_order_list(access=access, status=status, supplier=supplier, location=location,
                                                 limit=max(1, min(limit, 500)), offset=max(0, offset))
    return {"items": [order_out(o) for o in items], "count": count}


@router.get("/purchase-orders/{number}", response={200: OrderOut, **ERRORS})
def get_order(request: HttpRequest, number: str):
    return _order(purchasing_access(request.user), number)


@router.post("/purchase-orders/{number}/lines", response={200: OrderOut, **ERRORS}, summary="Edit a draft's line")
def edit_line(request: HttpRequest, number: str, payload: LineEditIn):
    """Set a line's quantity (whole packs, at least the MOQ; 0 removes it; a new SKU adds a line)."""
    access = purchasing_access(request.user)
    sku_id = _sku_ids([payload.sku])[payload.sku]
    services.purchase_order_line_set(actor=request.user, access=access, number=number, sku_id=sku_id,
                                     quantity=payload.quantity, unit_cost=payload.unit_cost)
    return _order(access, number)


@router.post("/purchase-orders/{number}/approve", response={200: OrderOut, **ERRORS})
def approve(request: HttpRequest, number: str):
    access = purchasing_access(request.user)
    services.purchase_order_approve(actor=request.user, access=access, number=number)
    return _order(access, number)


@router.post("/purchase-orders/{number}/send", response={200: OrderOut, **ERRORS})
def send(request: HttpRequest, number: str):
    """Approved → sent: a `purchase_order.sent` event, and the order e-mailed to the supplier."""
    access = purchasing_access(request.user)
    services.purchase_order_send(actor=request.user, access=access, number=number)
    return _order(access, number)


@router.post("/purchase-orders/{number}/cancel", response={200: OrderOut, **ERRORS})
def cancel(request: HttpRequest, number: str, payload: CancelIn | None = None):
    access = purchasing_access(request.user)
    services.purchase_order_cancel(actor=request.user, access=access, number=number,
                                   reason=payload.reason if payload else "")
    return _order(access, number)


@router.post("/purchase-orders/{number}/confirm", response={200: OrderOut, **ERRORS})
def confirm(request: HttpRequest, number: str, payload: ConfirmIn):
    """The supplier confirms the order, or changes quantities and dates per line."""
    access = purchasing_access(request.user)
    skus = _sku_ids([ln.sku for ln in payload.lines]) if payload.lines else {}
    services.purchase_order_confirm(actor=request.user, access=access, number=number, date=payload.date,
                                    note=payload.note,
                                    lines=[services.ConfirmLine(skus[ln.sku], ln.quantity, ln.date)
                                           for ln in payload.lines])
    return _order(access, number)


# --- supplier portal: ship notices, slots, QC ---------------------------------------------------------

@router.post("/ship-notices", response={201: NoticeOut, **ERRORS}, summary="Send a ship notice (ASN)")
def create_notice(request: HttpRequest, payload: NoticeIn):
    key = _key(request)
    access = purchasing_access(request.user)
    skus = _sku_ids([ln.sku for ln in payload.lines])

    def create():
        n = services.ship_notice_create(
            actor=request.user, access=access, order_number=payload.order, expected_at=payload.expected_at,
            carrier=payload.carrier, supplier_ref=payload.supplier_ref,
            lines=[services.NoticeLine(skus[ln.sku], ln.quantity, ln.lot, ln.expiry) for ln in payload.lines])
        return 201, notice_out(selectors.ship_notice_get(access=access, number=n.number))

    stored = idempotent_create(user_id=request.user.pk, scope="ship_notice", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.get("/ship-notices", response={200: NoticeListOut, **ERRORS})
def list_notices(request: HttpRequest, order: str | None = None, limit: int = 50, offset: int = 0):
    items, count = selectors.ship_notice_list(access=_access(request), order=order, limit=max(1, min(limit, 500)),
                                              offset=max(0, offset))
    return {"items": [notice_out(n) for n in items], "count": count}


@router.get("/ship-notices/{number}", response={200: NoticeOut, **ERRORS})
def get_notice(request: HttpRequest, number: str):
    n = selectors.ship_notice_get(access=purchasing_access(request.user), number=number)
    if n is None:
        raise NotFound(f"ship notice {number} not found", code="ship_notice_not_found")
    return notice_out(n)


@router.get("/dock-slots", response={200: SlotListOut, **ERRORS}, summary="Free dock slots of a location")
def dock_slots(request: HttpRequest, location: str, date: dt.date, days: int = 1):
    _access(request)
    loc = Location.objects.filter(code=location).first()
    if loc is None:
        raise unknown_code("location", location)
    start = dt.datetime.combine(date, dt.time(0), tzinfo=local_tz())
    slots = selectors.dock_slots_free(location_id=loc.pk, start=start,
                                      end=start + dt.timedelta(days=max(1, min(days, 31))))
    return {"items": [{"starts_at": s.starts_at, "ends_at": s.ends_at, "capacity": s.capacity, "booked": s.booked,
                       "free": s.capacity - s.booked} for s in slots], "count": len(slots)}


@router.post("/appointments", response={201: AppointmentOut, **ERRORS}, summary="Book a delivery slot")
def book(request: HttpRequest, payload: AppointmentIn):
    """Book the receiving dock's slot starting at `slot_start` for a ship notice; 409 `slot_full`
    when the slot has no capacity left. Header `Idempotency-Key` required."""
    key = _key(request)
    access = purchasing_access(request.user)

    def create():
        a = services.appointment_book(actor=request.user, access=access, notice_number=payload.ship_notice,
                                      slot_start=payload.slot_start)
        return 201, {"number": a.number, "ship_notice": a.notice.number, "location": a.notice.location.code,
                     "status": a.status, "slot_start": a.slot.starts_at, "slot_end": a.slot.ends_at,
                     "booked_at": a.booked_at}

    stored = idempotent_create(user_id=request.user.pk, scope="appointment", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.post("/appointments/{number}/cancel", response={200: dict, **ERRORS})
def cancel_appointment(request: HttpRequest, number: str):
    a = services.appointment_cancel(actor=request.user, access=purchasing_access(request.user), number=number)
    return {"number": a.number, "status": a.status}


@router.post("/ship-notices/{number}/qc-report", response={201: QcReportOut, **ERRORS}, summary="Upload a QC report")
def qc_report(request: HttpRequest, number: str, file: UploadedFile = File(...),  # noqa: B008
              result: str = Form("pass"), note: str = Form("")):  # noqa: B008
    """Multipart upload (`file`, optional `result` pass/fail/partial and `note`), at most 10 MB,
    stored under MEDIA_ROOT."""
    access = purchasing_access(request.user)
    content = file.read(services.QC_MAX_BYTES + 1)
    r = services.qc_report_upload(actor=request.user, access=access, notice_number=number, content=content,
                                  filename=file.name or "report", content_type=file.content_type or "",
                                  result=result, note=note)
    return Status(201, qc_out(r, r.notice))


# --- receipts and recall --------------------------------------------------------------------------------

@router.post("/receipts", response={201: ReceiptOut, **ERRORS}, summary="Receive goods (GRN)")
def receive(request: HttpRequest, payload: ReceiptIn):
    """Against an order or one of its ship notices: received and rejected per line, lot and expiry;
    accepted goods enter stock through the ledger. Header `Idempotency-Key` required."""
    key = _key(request)
    access = _access(request)
    skus = _sku_ids([ln.sku for ln in payload.lines])

    def create():
        r = services.receipt_create(
            actor=request.user, access=access, order_number=payload.order, notice_number=payload.ship_notice,
            note=payload.note, close=payload.close,
            lines=[services.ReceiveLine(skus[ln.sku], ln.received, ln.rejected, ln.reject_reason, ln.lot, ln.expiry)
                   for ln in payload.lines])
        return 201, receipt_out(selectors.receipt_get(access=access, number=r.number))

    stored = idempotent_create(user_id=request.user.pk, scope="purchase_receipt", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.get("/receipts/{number}", response={200: ReceiptOut, **ERRORS})
def get_receipt(request: HttpRequest, number: str):
    r = selectors.receipt_get(access=purchasing_access(request.user), number=number)
    if r is None:
        raise NotFound(f"receipt {number} not found")
    return receipt_out(r)


@router.get("/lots/{code}/trace", response={200: LotTraceListOut, **ERRORS}, summary="Recall: trace a lot")
def trace(request: HttpRequest, code: str, sku: str | None = None):
    """The receipts that brought the lot in and where its units went (ledger movements grouped by
    location, reason and document), within your scope."""
    access = _access(request)
    if access.is_supplier:
        raise PermissionDenied("the recall query is for hq, buyers and location managers")
    items = selectors.lot_trace(access=access, code=code, sku_code=sku)
    if not items:
        raise NotFound(f"lot {code} not found")
    return {"items": [{"sku": t.sku_code, "sku_name": t.sku_name, "lot": t.lot_code, "expiry": t.expiry,
                       "receipts": t.receipts, "movements": t.movements, "on_hand": t.on_hand} for t in items],
            "count": len(items)}


@router.get("/suppliers/{code}/scorecard", response={200: ScorecardOut, **ERRORS})
def scorecard(request: HttpRequest, code: str):
    """On-time rate, fill rate, QC reject rate, lead time mean and spread (hq, buyers, the supplier)."""
    access = _access(request)
    supplier = Supplier.objects.filter(code=code).first()
    if supplier is None or (access.is_supplier and supplier.pk != access.supplier_id):
        raise NotFound(f"supplier {code} not found")
    if not access.is_supplier and not access.is_buyer:
        raise PermissionDenied("scorecards are for hq and buyers")
    sc = selectors.supplier_scorecard(supplier_id=supplier.pk)
    return {"supplier": supplier.code, "orders": sc.orders, "on_time_rate": sc.on_time_rate,
            "fill_rate": sc.fill_rate, "reject_rate": sc.reject_rate,
            "lead_time_mean_days": sc.lead_time_mean_days, "lead_time_std_days": sc.lead_time_std_days,
            "lead_time_days": str(supplier.lead_time_days), "lead_time_std_days_set": str(supplier.lead_time_std_days)}
