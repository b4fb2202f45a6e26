"""Purchasing write use-cases. One use-case = one function = one transaction; every state change is
audited and published to the outbox (``purchase_order.*``, ``ship_notice.*``, ``appointment.*``,
``qc_report.*``, ``receipt.*``; partition = receiving location code).

Stock enters only through ``mendian.inventory.services.stock_receive`` (which keeps the
moving-average cost). Purchase orders are locked (``select_for_update``; SQLite serialises writers)
before their state is checked, so two concurrent actions on one order run one after the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from mendian.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mendian.core.timeutil import local_date
from mendian.org.models import Location
from mendian.platform.audit import audit_record
from mendian.platform.batch import write_batch
from mendian.platform.outbox import outbox_publish

from . import domain
from .models import (
    DeliveryAppointment,
    DockSlot,
    LocationMinimum,
    PurchaseOrder,
    PurchaseOrderLine,
    QcReport,
    Receipt,
    ReceiptDiscrepancy,
    ReceiptLine,
    ShipNotice,
    ShipNoticeLine,
    Supplier,
    SupplierSku,
    SupplierUser,
)
from .selectors import PurchasingAccess, available_by_pair, on_order_by_pair, orders_visible

Status = PurchaseOrder.Status
DOC_TYPE_RECEIPT = "purchase_receipt"
QC_MAX_BYTES = 10 * 1024 * 1024


# --- helpers ----------------------------------------------------------------------------------------

def _placeholder() -> str:
    return f"tmp-{uuid.uuid4().hex}"


def _assign_number(obj: Any, prefix: str) -> str:
    """Business number from the row id: collision-free under concurrency, readable, sortable by day."""
    obj.number = f"{prefix}{local_date():%Y%m%d}{obj.pk:06d}"
    type(obj).objects.filter(pk=obj.pk).update(number=obj.number)
    return obj.number


def order_snapshot(order: PurchaseOrder, lines: Sequence[PurchaseOrderLine] | None = None) -> dict:
    lines = list(order.lines.select_related("sku").order_by("line_no")) if lines is None else lines
    return {"status": order.status, "supplier": order.supplier.code, "location": order.location.code,
            "lines": [{"sku": ln.sku.code, "quantity": ln.quantity, "unit_cost": str(ln.unit_cost),
                       "confirmed_qty": ln.confirmed_qty,
                       "confirmed_date": ln.confirmed_date.isoformat() if ln.confirmed_date else None,
                       "accepted_qty": ln.accepted_qty, "rejected_qty": ln.rejected_qty} for ln in lines]}


def _order_event(order: PurchaseOrder, verb: str, actor: Any, before: dict | None, after: dict,
                 extra: dict | None = None) -> None:
    audit_record(actor=actor, action=f"purchase_order.{verb}", object_type="purchase_order",
                 object_ref=order.number, before=before, after=after)
    outbox_publish(topic=f"purchase_order.{verb}",
                   payload={"number": order.number, "supplier": order.supplier.code,
                            "location": order.location.code, "status": order.status, **(extra or {})},
                   partition=order.location.code)


def _lock_order(access: PurchasingAccess, number: str) -> PurchaseOrder:
    """The order, row-locked, if the caller may see it (else 404)."""
    order = (orders_visible(access).filter(number=number).select_for_update(of=("self",))
             .select_related("supplier", "location").first())
    if order is None:
        raise NotFound(f"purchase order {number} not found", code="purchase_order_not_found")
    return order


def _require_buyer(access: PurchasingAccess) -> None:
    if not access.is_buyer:
        raise PermissionDenied("only hq and buyers manage purchase orders")


def _require_state(order: PurchaseOrder, *allowed: str, action: str) -> None:
    if order.status not in allowed:
        raise Conflict(f"purchase order {order.number} is {order.status}; cannot {action}",
                       code="invalid_state", details={"status": order.status, "allowed": list(allowed)})


# --- master data --------------------------------------------------------------------------------------

def supplier_save(*, actor: Any, code: str, name: str, email: str = "", lead_time_days: Decimal | int = 7,
                  lead_time_std_days: Decimal | int = 0, review_period_days: Decimal | int = 7,
                  active: bool = True) -> Supplier:
    """Create or update a supplier (audited)."""
    if Decimal(lead_time_days) < 0 or Decimal(lead_time_std_days) < 0 or Decimal(review_period_days) < 0:
        raise InvalidInput("lead time, its spread and the review period must not be negative", code="invalid_days")
    fields = {"name": name, "email": email, "lead_time_days": Decimal(lead_time_days),
              "lead_time_std_days": Decimal(lead_time_std_days), "review_period_days": Decimal(review_period_days),
              "active": active}
    with transaction.atomic():
        before = Supplier.objects.filter(code=code).values(*fields).first()
        supplier, _ = Supplier.objects.update_or_create(code=code, defaults=fields)
        audit_record(actor=actor, action="supplier.save", object_type="supplier", object_ref=code,
                     before=before, after=fields)
        # planning's safety stock uses lead time, its spread and the review period
        outbox_publish(topic="supplier.saved", payload={"code": code, **fields})
    return supplier


def supplier_sku_save(*, actor: Any, supplier_code: str, sku_id: int, cost_price: Decimal, pack_size: int = 1,
                      moq: int = 0, supplier_item_code: str = "", rank: int = 1, active: bool = True) -> SupplierSku:
    if pack_size < 1 or moq < 0 or Decimal(cost_price) < 0:
        raise InvalidInput("pack size ≥ 1, MOQ ≥ 0 and a non-negative cost are required", code="invalid_supplier_sku")
    supplier = Supplier.objects.filter(code=supplier_code).first()
    if supplier is None:
        raise NotFound(f"supplier {supplier_code} not found")
    fields = {"cost_price": Decimal(cost_price), "pack_size": pack_size, "moq": moq,
              "supplier_item_code": supplier_item_code, "rank": rank, "active": active}
    with transaction.atomic():
        before = SupplierSku.objects.filter(supplier=supplier, sku_id=sku_id).values(*fields).first()
        item, _ = SupplierSku.objects.update_or_create(supplier=supplier, sku_id=sku_id, defaults=fields)
        audit_record(actor=actor, action="supplier_sku.save", object_type="supplier_sku",
                     object_ref=f"{supplier_code}:{sku_id}", before=before, after=fields)
    return item


def supplier_user_link(*, actor: Any, user: Any, supplier_code: str) -> SupplierUser:
    supplier = Supplier.objects.filter(code=supplier_code).first()
    if supplier is None:
        raise NotFound(f"supplier {supplier_code} not found")
    with transaction.atomic():
        link, _ = SupplierUser.objects.update_or_create(user=user, defaults={"supplier": supplier})
        audit_record(actor=actor, action="supplier_user.link", object_type="supplier_user",
                     object_ref=user.username, after={"supplier": supplier_code})
    return link


def location_minimum_set(*, actor: Any, location_id: int, sku_id: int, minimum: int, order_up_to: int) -> LocationMinimum:
    if minimum < 0 or order_up_to < minimum:
        raise InvalidInput("order-up-to must be at least the minimum", code="invalid_minimum")
    with transaction.atomic():
        row, _ = LocationMinimum.objects.update_or_create(location_id=location_id, sku_id=sku_id,
                                                          defaults={"minimum": minimum, "order_up_to": order_up_to})
        audit_record(actor=actor, action="location_minimum.set", object_type="location_minimum",
                     object_ref=f"{location_id}:{sku_id}", after={"minimum": minimum, "order_up_to": order_up_to})
    return row


def dock_slots_create(*, actor: Any, location_id: int, day: dt.date, start: dt.time, end: dt.time,
                      slot_minutes: int = 60, capacity: int = 1) -> int:
    """Dock capacity of one day as slots of ``slot_minutes`` from ``start`` to ``end`` (local time);
    existing slots keep their bookings. Returns the number of slots created."""
    from mendian.core.timeutil import local_tz

    if slot_minutes <= 0 or capacity < 0 or end <= start:
        raise InvalidInput("slots need a positive length, capacity ≥ 0 and end after start", code="invalid_slots")
    tz = local_tz()
    at = dt.datetime.combine(day, start, tzinfo=tz)
    stop = dt.datetime.combine(day, end, tzinfo=tz)
    step = dt.timedelta(minutes=slot_minutes)
    rows = []
    while at + step <= stop:
        rows.append(DockSlot(location_id=location_id, starts_at=at, ends_at=at + step, capacity=capacity))
        at += step
    with transaction.atomic():
        existing = set(DockSlot.objects.filter(location_id=location_id, starts_at__in=[r.starts_at for r in rows])
                       .values_list("starts_at", flat=True))
        new = [r for r in rows if r.starts_at not in existing]
        DockSlot.objects.bulk_create(new)
        audit_record(actor=actor, action="dock_slots.create", object_type="location", object_ref=str(location_id),
                     after={"day": day.isoformat(), "slots": len(new), "capacity": capacity})
    return len(new)


# --- suggestions --------------------------------------------------------------------------------------

@dataclass
class SuggestionResult:
    orders: list[PurchaseOrder]
    dropped: list[dict] = field(default_factory=list)
    cut: list[dict] = field(default_factory=list)
    total: Decimal = Decimal("0.00")
    budget: Decimal | None = None
    pairs_considered: int = 0


def _sources(supplier_code: str | None) -> dict[int, SupplierSku]:
    """The preferred active supplier-SKU per SKU: lowest rank, then lowest cost, then supplier code."""
    best: dict[int, SupplierSku] = {}
    qs = (SupplierSku.objects.filter(active=True, supplier__active=True).select_related("supplier")
          .order_by("sku_id", "rank", "cost_price", "supplier__code"))
    for item in qs:
        best.setdefault(item.sku_id, item)
    if supplier_code:
        best = {k: v for k, v in best.items() if v.supplier.code == supplier_code}
    return best


def purchase_order_suggest(*, actor: Any, access: PurchasingAccess, supplier_code: str | None = None,
                           location_codes: Sequence[str] | None = None, budget: Decimal | None = None
                           ) -> SuggestionResult:
    """Draft purchase orders per (supplier, receiving location) from planning's reorder points and
    order-up-to levels (or the hand-set ``LocationMinimum`` where planning has none) against
    available + on order, rounded to packs and MOQ, within ``budget`` (total of this suggestion)."""
    from mendian.planning.selectors import stock_policies_for

    _require_buyer(access)
    if budget is not None and Decimal(budget) < 0:
        raise InvalidInput("budget must not be negative", code="invalid_budget")
    if supplier_code and not Supplier.objects.filter(code=supplier_code).exists():
        raise InvalidInput(f"unknown supplier: {supplier_code!r}", code="unknown_code",
                           details={"field": "supplier", "value": supplier_code})
    locs = Location.objects.filter(status=Location.Status.ACTIVE).exclude(kind=Location.Kind.TRANSIT)
    if location_codes:
        found = dict(Location.objects.filter(code__in=set(location_codes)).values_list("code", "pk"))
        for c in location_codes:
            if c not in found:
                raise InvalidInput(f"unknown location: {c!r}", code="unknown_code",
                                   details={"field": "locations", "value": c})
        locs = locs.filter(code__in=set(location_codes))
    loc_codes = dict(locs.values_list("pk", "code"))
    sources = _sources(supplier_code)
    sku_ids = list(sources)
    loc_ids = list(loc_codes)
    policies = stock_policies_for(loc_ids, sku_ids) if sku_ids and loc_ids else {}
    minimums = {(m.location_id, m.sku_id): m for m in
                LocationMinimum.objects.filter(location_id__in=loc_ids, sku_id__in=sku_ids)} if sku_ids else {}
    pairs = sorted(set(policies) | set(minimums))
    available = available_by_pair(loc_ids, sku_ids) if pairs else {}
    on_order = on_order_by_pair(loc_ids, sku_ids) if pairs else {}
    suggested: list[domain.SuggestedLine] = []
    for pair in pairs:
        src = sources[pair[1]]
        pol = policies.get(pair)
        if pol is not None:
            rop, out, ss, abc, origin = pol.reorder_point, pol.order_up_to, pol.safety_stock, pol.abc, "planning"
        else:
            m = minimums[pair]
            rop, out, ss, abc, origin = m.minimum, m.order_up_to, 0, "C", "minimum"
        line = domain.suggest_line(domain.NeedInput(
            location_id=pair[0], sku_id=pair[1], available=available.get(pair, 0), on_order=on_order.get(pair, 0),
            reorder_point=rop, order_up_to=out, pack_size=src.pack_size, moq=src.moq, unit_cost=src.cost_price,
            safety_stock=ss, abc=abc, source=origin))
        if line is not None:
            suggested.append(line)
    packs = {(ln.location_id, ln.sku_id): sources[ln.sku_id].pack_size for ln in suggested}
    moqs = {(ln.location_id, ln.sku_id): sources[ln.sku_id].moq for ln in suggested}
    res = domain.apply_budget(suggested, Decimal(budget) if budget is not None else None, moq_of=moqs, pack_of=packs)
    from mendian.catalog.models import Sku

    sku_codes = dict(Sku.objects.filter(pk__in={ln.sku_id for ln in suggested}).values_list("pk", "code"))
    result = SuggestionResult(orders=[], total=res.total, budget=Decimal(budget) if budget is not None else None,
                              pairs_considered=len(pairs))
    result.dropped = [{"location": loc_codes[ln.location_id], "sku": sku_codes[ln.sku_id], "quantity": ln.quantity,
                       "cost": ln.cost} for ln in res.dropped]
    result.cut = [{"location": loc_codes[ln.location_id], "sku": sku_codes[ln.sku_id], "quantity": ln.quantity,
                   "suggested_quantity": before} for ln, before in res.cut]
    groups: dict[tuple[int, int], list[domain.SuggestedLine]] = defaultdict(list)
    for ln in res.kept:
        groups[(sources[ln.sku_id].supplier_id, ln.location_id)].append(ln)
    now = timezone.now()
    with transaction.atomic(), write_batch():
        for (_supplier_id, location_id), lines in sorted(groups.items()):
            supplier = sources[lines[0].sku_id].supplier
            lead = math.ceil(float(supplier.lead_time_days))
            order = PurchaseOrder.objects.create(
                number=_placeholder(), supplier=supplier, location_id=location_id, status=Status.DRAFT,
                source="suggested", expected_date=local_date(now) + dt.timedelta(days=lead), created_by=_user(actor),
                created_at=now)
            _assign_number(order, "PO")
            rows = [PurchaseOrderLine(order=order, line_no=i, sku_id=ln.sku_id, quantity=ln.quantity,
                                      unit_cost=ln.unit_cost, pack_size=sources[ln.sku_id].pack_size,
                                      suggestion={**ln.explanation, "supplier_item_code":
                                                  sources[ln.sku_id].supplier_item_code})
                    for i, ln in enumerate(sorted(lines, key=lambda x: sku_codes[x.sku_id]), start=1)]
            PurchaseOrderLine.objects.bulk_create(rows)
            order = PurchaseOrder.objects.select_related("supplier", "location").get(pk=order.pk)
            _order_event(order, "created", actor, None, order_snapshot(order),
                         {"source": "suggested", "budget": str(budget) if budget is not None else None})
            result.orders.append(order)
    return result


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) is not None else None


def purchase_order_create(*, actor: Any, access: PurchasingAccess, supplier_code: str, location_id: int,
                          lines: Sequence[tuple[int, int]], note: str = "") -> PurchaseOrder:
    """A hand-made draft order: lines (sku_id, quantity) of SKUs the supplier sells, in whole packs."""
    _require_buyer(access)
    supplier = Supplier.objects.filter(code=supplier_code).first()
    if supplier is None:
        raise InvalidInput(f"unknown supplier: {supplier_code!r}", code="unknown_code",
                           details={"field": "supplier", "value": supplier_code})
    if not lines:
        raise InvalidInput("no lines", code="no_lines")
    items = {i.sku_id: i for i in SupplierSku.objects.filter(supplier=supplier, sku_id__in=[s for s, _ in lines])}
    seen = set()
    for sku_id, qty in lines:
        _check_orderable(items.get(sku_id), sku_id, qty)
        if sku_id in seen:
            raise InvalidInput("a SKU appears twice", code="duplicate_sku", details={"sku_id": sku_id})
        seen.add(sku_id)
    now = timezone.now()
    with transaction.atomic(), write_batch():
        order = PurchaseOrder.objects.create(
            number=_placeholder(), supplier=supplier, location_id=location_id, source="manual", note=note,
            expected_date=local_date(now) + dt.timedelta(days=math.ceil(float(supplier.lead_time_days))),
            created_by=_user(actor), created_at=now)
        _assign_number(order, "PO")
        PurchaseOrderLine.objects.bulk_create([
            PurchaseOrderLine(order=order, line_no=i, sku_id=sku_id, quantity=qty, unit_cost=items[sku_id].cost_price,
                              pack_size=items[sku_id].pack_size)
            for i, (sku_id, qty) in enumerate(lines, start=1)])
        order = PurchaseOrder.objects.select_related("supplier", "location").get(pk=order.pk)
        _order_event(order, "created", actor, None, order_snapshot(order), {"source": "manual"})
    return order


def _check_orderable(item: SupplierSku | None, sku_id: int, qty: int) -> None:
    if item is None or not item.active:
        raise InvalidInput("the supplier does not sell this SKU", code="not_supplied", details={"sku_id": sku_id})
    if qty <= 0 or qty % item.pack_size or qty < item.moq:
        raise InvalidInput(f"quantity must be a positive multiple of the pack ({item.pack_size}) and at least the "
                           f"MOQ ({item.moq})", code="invalid_quantity",
                           details={"sku_id": sku_id, "quantity": qty, "pack_size": item.pack_size, "moq": item.moq})


def purchase_order_line_set(*, actor: Any, access: PurchasingAccess, number: str, sku_id: int, quantity: int,
                            unit_cost: Decimal | None = None) -> PurchaseOrder:
    """Buyer's edit of a draft: set a line's quantity (0 removes it; a new SKU adds a line) and
    optionally its cost. Quantities stay whole packs and at least the MOQ."""
    _require_buyer(access)
    with transaction.atomic(), write_batch():
        order = _lock_order(access, number)
        _require_state(order, Status.DRAFT, action="edit lines")
        before = order_snapshot(order)
        line = order.lines.filter(sku_id=sku_id).first()
        if quantity == 0:
            if line is None:
                raise InvalidInput("no such line", code="no_such_line", details={"sku_id": sku_id})
            line.delete()
        else:
            item = SupplierSku.objects.filter(supplier_id=order.supplier_id, sku_id=sku_id).first()
            _check_orderable(item, sku_id, quantity)
            if unit_cost is not None and Decimal(unit_cost) < 0:
                raise InvalidInput("unit cost must not be negative", code="invalid_cost")
            if line is None:
                last = order.lines.order_by("-line_no").values_list("line_no", flat=True).first() or 0
                PurchaseOrderLine.objects.create(order=order, line_no=last + 1, sku_id=sku_id, quantity=quantity,
                                                 unit_cost=Decimal(unit_cost) if unit_cost is not None else item.cost_price,
                                                 pack_size=item.pack_size, suggestion={"edited": True})
            else:
                line.quantity = quantity
                if unit_cost is not None:
                    line.unit_cost = Decimal(unit_cost)
                line.suggestion = {**line.suggestion, "edited_from": before_qty(before, line)}
                line.save(update_fields=["quantity", "unit_cost", "suggestion"])
        _order_event(order, "edited", actor, before, order_snapshot(order))
    return order


def before_qty(snapshot: dict, line: PurchaseOrderLine) -> int | None:
    for ln in snapshot["lines"]:
        if ln["sku"] == line.sku.code:
            return ln["quantity"]
    return None


def purchase_order_approve(*, actor: Any, access: PurchasingAccess, number: str) -> PurchaseOrder:
    _require_buyer(access)
    with transaction.atomic(), write_batch():
        order = _lock_order(access, number)
        _require_state(order, Status.DRAFT, action="approve")
        if not order.lines.exists():
            raise Conflict("an order without lines cannot be approved", code="no_lines")
        before = order_snapshot(order)
        order.status, order.approved_at = Status.APPROVED, timezone.now()
        order.save(update_fields=["status", "approved_at"])
        _order_event(order, "approved", actor, before, order_snapshot(order))
    return order


def purchase_order_send(*, actor: Any, access: PurchasingAccess, number: str) -> PurchaseOrder:
    """Approved → sent. The ``purchase_order.sent`` event carries the order; the subscriber in
    ``subscribers.py`` e-mails it to the supplier (at least once, marked ``emailed_at``)."""
    _require_buyer(access)
    with transaction.atomic(), write_batch():
        order = _lock_order(access, number)
        _require_state(order, Status.APPROVED, action="send")
        before = order_snapshot(order)
        order.status, order.sent_at = Status.SENT, timezone.now()
        order.save(update_fields=["status", "sent_at"])
        after = order_snapshot(order)
        _order_event(order, "sent", actor, before, after, {"email": order.supplier.email, "lines": after["lines"]})
    return order


def purchase_order_cancel(*, actor: Any, access: PurchasingAccess, number: str, reason: str = "") -> PurchaseOrder:
    """Cancel an order nothing has been received or shipped against."""
    _require_buyer(access)
    with transaction.atomic(), write_batch():
        order = _lock_order(access, number)
        _require_state(order, Status.DRAFT, Status.APPROVED, Status.SENT, Status.CONFIRMED, action="cancel")
        if order.ship_notices.filter(status=ShipNotice.Status.SHIPPED).exists():
            raise Conflict("goods are on their way for this order (an open ship notice)", code="shipment_in_transit")
        before = order_snapshot(order)
        order.status, order.cancelled_at = Status.CANCELLED, timezone.now()
        order.save(update_fields=["status", "cancelled_at"])
        _order_event(order, "cancelled", actor, before, order_snapshot(order),
                     {"reason": reason, "was_sent": order.sent_at is not None, "email": order.supplier.email})
    return order


@dataclass(frozen=True)
class ConfirmLine:
    sku_id: int
    quantity: int
    date: dt.date | None = None


def purchase_order_confirm(*, actor: Any, access: PurchasingAccess, number: str,
                           lines: Sequence[ConfirmLine] = (), date: dt.date | None = None,
                           note: str = "") -> PurchaseOrder:
    """The supplier confirms a sent order, or changes quantities and dates; lines not named are
    confirmed as ordered on ``date`` (default: the order's expected date). Re-confirming is allowed
    until goods are shipped."""
    if not access.is_supplier and not access.is_buyer:
        raise PermissionDenied("only the supplier confirms an order")
    with transaction.atomic(), write_batch():
        order = _lock_order(access, number)
        _require_state(order, Status.SENT, Status.CONFIRMED, action="confirm")
        if order.ship_notices.exclude(status=ShipNotice.Status.CANCELLED).exists():
            raise Conflict("goods have been shipped; the confirmation can no longer change", code="already_shipped")
        rows = list(order.lines.select_related("sku").order_by("line_no"))
        before = order_snapshot(order, rows)
        by_sku = {ln.sku_id: ln for ln in rows}
        given: dict[int, ConfirmLine] = {}
        for c in lines:
            if c.sku_id not in by_sku:
                raise InvalidInput("this SKU is not on the order", code="not_on_order", details={"sku_id": c.sku_id})
            if c.quantity < 0:
                raise InvalidInput("quantities must not be negative", code="invalid_quantity")
            given[c.sku_id] = c
        default_date = date or order.expected_date
        changes = []
        for ln in rows:
            c = given.get(ln.sku_id)
            ln.confirmed_qty = c.quantity if c else ln.quantity
            ln.confirmed_date = (c.date if c and c.date else None) or default_date
            if ln.confirmed_qty != ln.quantity:
                changes.append({"sku": ln.sku.code, "ordered": ln.quantity, "confirmed": ln.confirmed_qty})
        PurchaseOrderLine.objects.bulk_update(rows, ["confirmed_qty", "confirmed_date"])
        order.status, order.confirmed_at = Status.CONFIRMED, timezone.now()
        if note:
            order.note = note[:500]
        order.save(update_fields=["status", "confirmed_at", "note"])
        _order_event(order, "confirmed", actor, before, order_snapshot(order, rows), {"changes": changes})
    return order


# --- ship notices, appointments, QC -------------------------------------------------------------------

@dataclass(frozen=True)
class NoticeLine:
    sku_id: int
    quantity: int
    lot_code: str = ""
    expiry: dt.date | None = None


def ship_notice_create(*, actor: Any, access: PurchasingAccess, order_number: str, lines: Sequence[NoticeLine],
                       expected_at: dt.datetime | None = None, carrier: str = "", supplier_ref: str = "") -> ShipNotice:
    """The supplier's advance ship notice for a confirmed order; quantities at most what is still to
    come (confirmed − accepted − on other open notices)."""
    if not access.is_supplier and not access.is_buyer:
        raise PermissionDenied("only the supplier sends ship notices")
    if not lines:
        raise InvalidInput("no lines", code="no_lines")
    with transaction.atomic(), write_batch():
        order = _lock_order(access, order_number)
        _require_state(order, Status.CONFIRMED, Status.PARTIALLY_RECEIVED, action="ship")
        by_sku = {ln.sku_id: ln for ln in order.lines.all()}
        in_transit: dict[int, int] = defaultdict(int)
        for sku_id, qty in ShipNoticeLine.objects.filter(notice__order=order, notice__status=ShipNotice.Status.SHIPPED
                                                         ).values_list("sku_id", "quantity"):
            in_transit[sku_id] += qty
        wanted: dict[int, int] = defaultdict(int)
        for ln in lines:
            if ln.sku_id not in by_sku:
                raise InvalidInput("this SKU is not on the order", code="not_on_order", details={"sku_id": ln.sku_id})
            if ln.quantity <= 0:
                raise InvalidInput("quantities must be positive", code="invalid_quantity")
            wanted[ln.sku_id] += ln.quantity
        for sku_id, qty in wanted.items():
            po = by_sku[sku_id]
            open_qty = po.effective_qty - po.accepted_qty - in_transit[sku_id]
            if qty > open_qty:
                raise InvalidInput("more than is still to come on the order", code="over_shipment",
                                   details={"sku_id": sku_id, "quantity": qty, "open": max(open_qty, 0)})
        notice = ShipNotice.objects.create(number=_placeholder(), order=order, supplier_id=order.supplier_id,
                                           location_id=order.location_id, expected_at=expected_at, carrier=carrier,
                                           supplier_ref=supplier_ref, created_by=_user(actor), created_at=timezone.now())
        _assign_number(notice, "ASN")
        ShipNoticeLine.objects.bulk_create([
            ShipNoticeLine(notice=notice, order_line=by_sku[ln.sku_id], sku_id=ln.sku_id, quantity=ln.quantity,
                           lot_code=ln.lot_code or "", expiry=ln.expiry) for ln in lines])
        payload = {"number": notice.number, "order": order.number, "supplier": order.supplier.code,
                   "location": order.location.code, "expected_at": expected_at,
                   "lines": [{"sku_id": ln.sku_id, "quantity": ln.quantity, "lot": ln.lot_code} for ln in lines]}
        audit_record(actor=actor, action="ship_notice.created", object_type="ship_notice", object_ref=notice.number,
                     after=payload)
        outbox_publish(topic="ship_notice.created", payload=payload, partition=order.location.code)
    return notice


def _notice(access: PurchasingAccess, number: str, *, lock: bool = False) -> ShipNotice:
    from .selectors import notices_visible

    qs = notices_visible(access).filter(number=number).select_related("order", "supplier", "location")
    if lock:
        qs = qs.select_for_update(of=("self",))
    notice = qs.first()
    if notice is None:
        raise NotFound(f"ship notice {number} not found", code="ship_notice_not_found")
    return notice


def appointment_book(*, actor: Any, access: PurchasingAccess, notice_number: str, slot_start: dt.datetime
                     ) -> DeliveryAppointment:
    """Book the receiving location's dock slot that starts at ``slot_start`` for a ship notice.

    The slot's ``booked`` counter grows by a conditional UPDATE (``booked < capacity``): of any
    number of concurrent bookings exactly ``capacity`` succeed; the others get 409 ``slot_full``."""
    if not access.is_supplier and not access.is_buyer:
        raise PermissionDenied("only the supplier books delivery slots")
    if slot_start.tzinfo is None:
        raise InvalidInput("slot time needs a time zone", code="naive_datetime")
    try:
        with transaction.atomic(), write_batch():
            notice = _notice(access, notice_number, lock=True)
            if notice.status != ShipNotice.Status.SHIPPED:
                raise Conflict(f"ship notice {notice.number} is {notice.status}", code="invalid_state")
            if notice.appointments.filter(status=DeliveryAppointment.Status.BOOKED).exists():
                raise Conflict("this shipment already has a booked slot", code="already_booked")
            slot = DockSlot.objects.filter(location_id=notice.location_id, starts_at=slot_start).first()
            if slot is None:
                raise InvalidInput("no dock slot starts at this time at the receiving location", code="unknown_slot",
                                   details={"location": notice.location.code, "slot_start": slot_start.isoformat()})
            if slot.starts_at <= timezone.now():
                raise InvalidInput("this slot has already begun", code="slot_past")
            n = DockSlot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(booked=F("booked") + 1)
            if n == 0:
                raise Conflict("this dock slot is fully booked", code="slot_full",
                               details={"slot_start": slot.starts_at.isoformat(), "capacity": slot.capacity})
            appt = DeliveryAppointment.objects.create(number=_placeholder(), notice=notice, slot=slot,
                                                      booked_by=_user(actor), booked_at=timezone.now())
            _assign_number(appt, "AP")
            payload = {"number": appt.number, "ship_notice": notice.number, "order": notice.order.number,
                       "location": notice.location.code, "slot_start": slot.starts_at, "slot_end": slot.ends_at}
            audit_record(actor=actor, action="appointment.booked", object_type="delivery_appointment",
                         object_ref=appt.number, after=payload)
            outbox_publish(topic="appointment.booked", payload=payload, partition=notice.location.code)
    except IntegrityError as exc:  # a concurrent booking for the same notice won
        raise Conflict("this shipment already has a booked slot", code="already_booked") from exc
    return appt


def appointment_cancel(*, actor: Any, access: PurchasingAccess, number: str) -> DeliveryAppointment:
    """Give a booked slot back (the counter goes down in the same transaction)."""
    if not access.is_supplier and not access.is_buyer:
        raise PermissionDenied("only the supplier cancels delivery slots")
    with transaction.atomic(), write_batch():
        appt = (DeliveryAppointment.objects.select_for_update(of=("self",)).select_related("notice", "slot")
                .filter(number=number).first())
        if appt is None or (access.is_supplier and appt.notice.supplier_id != access.supplier_id):
            raise NotFound(f"appointment {number} not found")
        if appt.status != DeliveryAppointment.Status.BOOKED:
            raise Conflict("this appointment is not booked", code="invalid_state")
        DockSlot.objects.filter(pk=appt.slot_id, booked__gt=0).update(booked=F("booked") - 1)
        appt.status = DeliveryAppointment.Status.CANCELLED
        appt.save(update_fields=["status"])
        audit_record(actor=actor, action="appointment.cancelled", object_type="delivery_appointment",
                     object_ref=appt.number, before={"status": "booked"}, after={"status": "cancelled"})
        outbox_publish(topic="appointment.cancelled", payload={"number": appt.number,
                                                               "ship_notice": appt.notice.number})
    return appt


def qc_report_upload(*, actor: Any, access: PurchasingAccess, notice_number: str, content: bytes, filename: str,
                     content_type: str = "", result: str = QcReport.Result.PASS, note: str = "") -> QcReport:
    """Store a QC report file for a shipment under MEDIA_ROOT (purchasing/qc/<ASN>/…)."""
    if not access.is_supplier and not access.is_buyer:
        raise PermissionDenied("only the supplier uploads QC reports")
    if not content:
        raise InvalidInput("the file is empty", code="empty_file")
    if len(content) > QC_MAX_BYTES:
        raise InvalidInput(f"the file is larger than {QC_MAX_BYTES // (1024 * 1024)} MB", code="file_too_large")
    if result not in QcReport.Result.values:
        raise InvalidInput(f"result must be one of {QcReport.Result.values}", code="invalid_result")
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic(), write_batch():
        notice = _notice(access, notice_number)
        report = QcReport(notice=notice, original_name=(filename or "report")[:200], content_type=content_type[:100],
                          size=len(content), sha256=digest, result=result, note=note[:500], uploaded_by=_user(actor),
                          uploaded_at=timezone.now())
        report.file.save(filename or "report", ContentFile(content), save=False)
        report.save()
        payload = {"ship_notice": notice.number, "order": notice.order.number, "file": report.file.name,
                   "sha256": digest, "size": len(content), "result": result}
        audit_record(actor=actor, action="qc_report.uploaded", object_type="ship_notice", object_ref=notice.number,
                     after=payload)
        outbox_publish(topic="qc_report.uploaded", payload=payload, partition=notice.location.code)
    return report


# --- receipts -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReceiveLine:
    sku_id: int
    received: int
    rejected: int = 0
    reject_reason: str = ""
    lot_code: str = ""
    expiry: dt.date | None = None


def receipt_create(*, actor: Any, access: PurchasingAccess, lines: Sequence[ReceiveLine],
                   order_number: str | None = None, notice_number: str | None = None, note: str = "",
                   close: bool = False) -> Receipt:
    """Goods receipt (GRN) against an order or one of its ship notices.

    accepted = received − rejected enters stock through ``stock_receive`` at the order line's cost
    (the moving average is kept there); short, over, rejected and lot-differs-from-ASN are recorded
    as discrepancies. The order becomes received when every line has its expected quantity accepted
    (or ``close``), else partially received."""
    from mendian.inventory import services as inventory

    if not lines:
        raise InvalidInput("no lines", code="no_lines")
    if not order_number and not notice_number:
        raise InvalidInput("name the order or the ship notice", code="no_document")
    for ln in lines:
        if ln.received < 0 or ln.rejected < 0 or ln.rejected > ln.received:
            raise InvalidInput("received ≥ rejected ≥ 0 on every line", code="invalid_quantity",
                               details={"sku_id": ln.sku_id})
    with transaction.atomic(), write_batch():
        notice = None
        if notice_number:
            notice = _notice(access, notice_number, lock=True)
            if order_number and notice.order.number != order_number:
                raise InvalidInput("the ship notice belongs to another order", code="notice_order_mismatch")
            order_number = notice.order.number
        order = _lock_order(access, order_number)
        if not access.may_receive_at(order.location_id):
            raise PermissionDenied("you may not receive goods at this location")
        _require_state(order, Status.SENT, Status.CONFIRMED, Status.PARTIALLY_RECEIVED, action="receive")
        if notice is not None and notice.status != ShipNotice.Status.SHIPPED:
            raise Conflict(f"ship notice {notice.number} is {notice.status}", code="invalid_state")
        po_lines = {ln.sku_id: ln for ln in order.lines.select_related("sku").order_by("line_no")}
        before = order_snapshot(order, list(po_lines.values()))
        expected: dict[int, int] = {}
        asn_lots: dict[int, set[str]] = defaultdict(set)
        if notice is not None:
            for nl in notice.lines.all():
                expected[nl.sku_id] = expected.get(nl.sku_id, 0) + nl.quantity
                if nl.lot_code:
                    asn_lots[nl.sku_id].add(nl.lot_code)
        else:
            expected = {s: max(0, ln.effective_qty - ln.accepted_qty) for s, ln in po_lines.items()}
        if notice is not None:  # a line without a lot takes the ASN's lot when the ASN names exactly one
            lines = [replace(ln, lot_code=next(iter(asn_lots[ln.sku_id])),
                             expiry=ln.expiry or _asn_expiry(notice, ln.sku_id))
                     if not ln.lot_code and len(asn_lots.get(ln.sku_id, ())) == 1 else ln for ln in lines]
        received: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for ln in lines:
            if ln.sku_id not in po_lines:
                raise InvalidInput("this SKU is not on the order", code="not_on_order", details={"sku_id": ln.sku_id})
            received[ln.sku_id][0] += ln.received
            received[ln.sku_id][1] += ln.rejected
        now = timezone.now()
        receipt = Receipt.objects.create(number=_placeholder(), order=order, notice=notice,
                                         location_id=order.location_id, received_by=_user(actor), received_at=now,
                                         note=note[:500])
        _assign_number(receipt, "GRN")
        ReceiptLine.objects.bulk_create([
            ReceiptLine(receipt=receipt, order_line=po_lines[ln.sku_id], sku_id=ln.sku_id, received_qty=ln.received,
                        accepted_qty=ln.received - ln.rejected, rejected_qty=ln.rejected,
                        reject_reason=ln.reject_reason[:200], lot_code=ln.lot_code or "", expiry=ln.expiry,
                        unit_cost=po_lines[ln.sku_id].unit_cost) for ln in lines])
        # discrepancies: every SKU expected (or received)
        rows = [domain.ReceivedQty(s, expected.get(s, 0), received[s][0] if s in received else 0,
                                   received[s][1] if s in received else 0)
                for s in sorted(set(expected) | set(received)) if expected.get(s, 0) or s in received]
        disc = [ReceiptDiscrepancy(receipt=receipt, sku_id=s, kind=k, expected_qty=e, actual_qty=a)
                for s, k, e, a in domain.discrepancies(rows)]
        for ln in lines:
            if ln.sku_id in asn_lots and ln.lot_code and ln.lot_code not in asn_lots[ln.sku_id]:
                disc.append(ReceiptDiscrepancy(receipt=receipt, sku_id=ln.sku_id, kind="lot_mismatch",
                                               expected_qty=expected.get(ln.sku_id, 0), actual_qty=ln.received,
                                               note=f"lot {ln.lot_code} not in ASN ({', '.join(sorted(asn_lots[ln.sku_id]))})"[:200]))
        ReceiptDiscrepancy.objects.bulk_create(disc)
        stock_lines = [inventory.ReceiptLine(sku_id=ln.sku_id, quantity=ln.received - ln.rejected,
                                             unit_cost=po_lines[ln.sku_id].unit_cost, lot_code=ln.lot_code or None,
                                             expiry=ln.expiry)
                       for ln in lines if ln.received - ln.rejected > 0]
        if stock_lines:
            inventory.stock_receive(location_id=order.location_id, lines=stock_lines, doc_type=DOC_TYPE_RECEIPT,
                                    doc_ref=receipt.number, user_id=getattr(_user(actor), "pk", None))
        for sku_id, (rec, rej) in received.items():
            po = po_lines[sku_id]
            po.accepted_qty += rec - rej
            po.rejected_qty += rej
        PurchaseOrderLine.objects.bulk_update(list(po_lines.values()), ["accepted_qty", "rejected_qty"])
        order.status = domain.order_status_after_receipt(
            [(ln.effective_qty, ln.accepted_qty) for ln in po_lines.values()], close=close)
        if order.status == Status.RECEIVED:
            order.received_at = now
        order.save(update_fields=["status", "received_at"])
        if notice is not None:
            notice.status = ShipNotice.Status.RECEIVED
            notice.save(update_fields=["status"])
        payload = {"number": receipt.number, "order": order.number, "ship_notice": notice.number if notice else None,
                   "location": order.location.code, "supplier": order.supplier.code,
                   "lines": [{"sku_id": ln.sku_id, "received": ln.received, "rejected": ln.rejected,
                              "lot": ln.lot_code or None, "expiry": ln.expiry} for ln in lines],
                   "discrepancies": [{"sku_id": d.sku_id, "kind": d.kind, "expected": d.expected_qty,
                                      "actual": d.actual_qty} for d in disc]}
        audit_record(actor=actor, action="receipt.created", object_type="receipt", object_ref=receipt.number,
                     after=payload)
        outbox_publish(topic="receipt.created", payload=payload, partition=order.location.code)
        _order_event(order, order.status, actor, before, order_snapshot(order, list(po_lines.values())),
                     {"receipt": receipt.number})
    return receipt


def _asn_expiry(notice: ShipNotice, sku_id: int) -> dt.date | None:
    return next((nl.expiry for nl in notice.lines.all() if nl.sku_id == sku_id and nl.expiry), None)


def purchase_order_mark_emailed(*, order_id: int) -> bool:
    """Set ``emailed_at`` once; False when it was already set (the e-mail went out before)."""
    return PurchaseOrder.objects.filter(pk=order_id, emailed_at__isnull=True).update(emailed_at=timezone.now()) == 1


# --- demo ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoSetupResult:
    suppliers: int
    supplier_skus: int
    portal_users: int
    dock_slots: int


def purchasing_demo_setup(*, days: int = 14, capacity: int = 2, cost_share: Decimal = Decimal("0.70"),
                          password: str = "demo") -> DemoSetupResult:
    """Suppliers for the demo chain: one per top-level category (all its SKUs, one pack MOQ, cost
    ``cost_share`` of the VAT-exclusive list price), a portal user ``supplier.<code>`` each, and
    hourly dock slots 08:00–18:00 at every warehouse for the next ``days`` days. Idempotent."""
    from django.contrib.auth import get_user_model

    from mendian.catalog.models import Category, Sku
    from mendian.core.timeutil import local_tz

    User = get_user_model()  # noqa: N806
    top: dict[int, Category] = {}
    cats = {c.pk: c for c in Category.objects.all()}

    def root(cid: int) -> Category:
        c = cats[cid]
        while c.parent_id is not None:
            c = cats[c.parent_id]
        return c

    with transaction.atomic(), write_batch():
        by_root: dict[int, list] = defaultdict(list)
        for sku in Sku.objects.filter(status=Sku.Status.ACTIVE).select_related("product"):
            r = root(sku.product.category_id)
            top[r.pk] = r
            by_root[r.pk].append(sku)
        suppliers = {}
        for i, (rid, cat) in enumerate(sorted(top.items(), key=lambda kv: kv[1].code), start=1):
            code = f"SUP{i:03d}"
            suppliers[rid], _ = Supplier.objects.get_or_create(code=code, defaults={
                "name": f"{cat.name} 供应商 Supplier", "email": f"orders@{code.lower()}.example",
                "lead_time_days": Decimal(3 + i % 5), "lead_time_std_days": Decimal("1.0"),
                "review_period_days": Decimal(7)})
        rows = []
        for rid, skus in by_root.items():
            for sku in skus:
                net = Decimal(sku.list_price) / (1 + Decimal(sku.vat_rate) / 100) / max(sku.price_unit_qty, 1)
                rows.append(SupplierSku(supplier=suppliers[rid], sku=sku, supplier_item_code=f"{suppliers[rid].code}-{sku.code}",
                                        pack_size=max(sku.pack_size, 1), moq=max(sku.pack_size, 1),
                                        cost_price=(net * cost_share).quantize(Decimal("0.0001"))))
        SupplierSku.objects.bulk_create(rows, ignore_conflicts=True)
        users = 0
        for s in suppliers.values():
            username = f"supplier.{s.code}"
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username=username, password=password)
            _, created = SupplierUser.objects.get_or_create(user=user, defaults={"supplier": s})
            users += int(created)
        tz = local_tz()
        today = local_date()
        slots = []
        for wh in Location.objects.filter(kind=Location.Kind.WAREHOUSE, status=Location.Status.ACTIVE):
            for d in range(1, days + 1):
                day = today + dt.timedelta(days=d)
                for h in range(8, 18):
                    at = dt.datetime.combine(day, dt.time(h), tzinfo=tz)
                    slots.append(DockSlot(location=wh, starts_at=at, ends_at=at + dt.timedelta(hours=1),
                                          capacity=capacity))
        DockSlot.objects.bulk_create(slots, ignore_conflicts=True)
        result = DemoSetupResult(len(suppliers), len(rows), users, len(slots))
        audit_record(actor="purchasing-demo-setup", action="purchasing.demo_setup", object_type="purchasing",
                     object_ref="demo", after=result.__dict__)
    return result
