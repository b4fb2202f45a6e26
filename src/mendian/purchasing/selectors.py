"""Purchasing reads, scoped in the query layer.

Who sees what (``PurchasingAccess``):
- hq and buyer (chain-wide): everything;
- regional director / store manager: the documents of the locations in their scope (read), and
  store managers post receipts at their own location;
- a supplier portal user (``SupplierUser``): their own supplier's orders once sent, ship notices,
  appointments and QC reports; anything else is 404;
- cashier (and anyone else): nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet, Sum

from mendian.org.scope import Scope, user_scope

from . import domain
from .models import (
    OPEN_STATUSES,
    DockSlot,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    ShipNotice,
    Supplier,
    SupplierUser,
)

SUPPLIER_VISIBLE = (PurchaseOrder.Status.SENT, PurchaseOrder.Status.CONFIRMED,
                    PurchaseOrder.Status.PARTIALLY_RECEIVED, PurchaseOrder.Status.RECEIVED,
                    PurchaseOrder.Status.CANCELLED)


@dataclass(frozen=True)
class PurchasingAccess:
    scope: Scope
    supplier_id: int | None  # a supplier portal user

    @property
    def is_supplier(self) -> bool:
        return self.supplier_id is not None

    @property
    def is_buyer(self) -> bool:
        """hq or buyer with chain-wide scope: creates, edits, approves, sends and cancels orders."""
        return not self.is_supplier and self.scope.chain_wide and bool({"hq", "buyer"} & self.scope.roles)

    @property
    def reads_locations(self) -> bool:
        return not self.is_supplier and bool({"hq", "buyer", "region", "store_manager"} & self.scope.roles)

    def may_receive_at(self, location_id: int) -> bool:
        if self.is_supplier:
            return False
        return self.is_buyer or self.scope.has_role("store_manager", location_id=location_id)

    @property
    def any_access(self) -> bool:
        return self.is_supplier or self.reads_locations


def purchasing_access(user) -> PurchasingAccess:
    cached = getattr(user, "_mendian_purchasing_access", None)
    if cached is not None:
        return cached
    scope = user_scope(user)
    supplier_id = None
    if user is not None and user.is_authenticated:
        supplier_id = SupplierUser.objects.filter(user_id=user.pk).values_list("supplier_id", flat=True).first()
    access = PurchasingAccess(scope=scope, supplier_id=supplier_id)
    if user is not None and user.is_authenticated:
        user._mendian_purchasing_access = access
    return access


def _none(qs: QuerySet) -> QuerySet:
    return qs.none()


def orders_visible(access: PurchasingAccess) -> QuerySet[PurchaseOrder]:
    qs = PurchaseOrder.objects.all()
    if access.is_supplier:
        return qs.filter(supplier_id=access.supplier_id, status__in=SUPPLIER_VISIBLE, sent_at__isnull=False)
    if access.is_buyer:
        return qs
    if access.reads_locations:
        return access.scope.filter_locations(qs, "location")
    return _none(qs)


def _with_lines(qs: QuerySet[PurchaseOrder]) -> QuerySet[PurchaseOrder]:
    return qs.select_related("supplier", "location").prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("sku").order_by("line_no")))


def purchase_order_get(*, access: PurchasingAccess, number: str) -> PurchaseOrder | None:
    return _with_lines(orders_visible(access).filter(number=number)).first()


def purchase_order_list(*, access: PurchasingAccess, status: str | None = None, supplier: str | None = None,
                        location: str | None = None, limit: int = 50, offset: int = 0
                        ) -> tuple[list[PurchaseOrder], int]:
    qs = orders_visible(access)
    if status:
        qs = qs.filter(status=status)
    if supplier:
        qs = qs.filter(supplier__code=supplier)
    if location:
        qs = qs.filter(location__code=location)
    count = qs.count()
    return list(_with_lines(qs.order_by("-created_at", "-id"))[offset:offset + limit]), count


def notices_visible(access: PurchasingAccess) -> QuerySet[ShipNotice]:
    qs = ShipNotice.objects.all()
    if access.is_supplier:
        return qs.filter(supplier_id=access.supplier_id)
    if access.is_buyer:
        return qs
    if access.reads_locations:
        return access.scope.filter_locations(qs, "location")
    return _none(qs)


def ship_notice_get(*, access: PurchasingAccess, number: str) -> ShipNotice | None:
    return (notices_visible(access).filter(number=number).select_related("order", "supplier", "location")
            .prefetch_related("lines__sku", "appointments__slot", "qc_reports").first())


def ship_notice_list(*, access: PurchasingAccess, order: str | None = None, limit: int = 50, offset: int = 0
                     ) -> tuple[list[ShipNotice], int]:
    qs = notices_visible(access)
    if order:
        qs = qs.filter(order__number=order)
    count = qs.count()
    return list(qs.select_related("order", "supplier", "location")
                .prefetch_related("lines__sku", "appointments__slot", "qc_reports")
                .order_by("-created_at", "-id")[offset:offset + limit]), count


def receipts_visible(access: PurchasingAccess) -> QuerySet[Receipt]:
    qs = Receipt.objects.all()
    if access.is_supplier:
        return qs.filter(order__supplier_id=access.supplier_id)
    if access.is_buyer:
        return qs
    if access.reads_locations:
        return access.scope.filter_locations(qs, "location")
    return _none(qs)


def receipt_get(*, access: PurchasingAccess, number: str) -> Receipt | None:
    return (receipts_visible(access).filter(number=number).select_related("order", "notice", "location")
            .prefetch_related("lines__sku", "discrepancies__sku").first())


def dock_slots_free(*, location_id: int, start: dt.datetime, end: dt.datetime) -> list[DockSlot]:
    """Slots of a location between two times that still have room (for the portal's slot picker)."""
    from django.db.models import F

    return list(DockSlot.objects.filter(location_id=location_id, starts_at__gte=start, starts_at__lt=end,
                                        booked__lt=F("capacity")).order_by("starts_at"))


# --- inputs of suggestions ----------------------------------------------------------------------------

Pair = tuple[int, int]


def available_by_pair(location_ids: Iterable[int], sku_ids: Iterable[int]) -> dict[Pair, int]:
    """on hand − reserved per (location, SKU), all lots (read-only query of the inventory ledger)."""
    from mendian.inventory.models import StockLevel

    rows = (StockLevel.objects.filter(location_id__in=list(location_ids), sku_id__in=list(sku_ids))
            .values_list("location_id", "sku_id").annotate(oh=Sum("on_hand"), rs=Sum("reserved")).order_by())
    return {(loc, sku): int(oh or 0) - int(rs or 0) for loc, sku, oh, rs in rows}


def on_order_by_pair(location_ids: Iterable[int], sku_ids: Iterable[int]) -> dict[Pair, int]:
    """Quantity still to come on open orders (draft included, so a second suggestion does not order
    the same need twice): max(0, expected − accepted) per line."""
    out: dict[Pair, int] = defaultdict(int)
    rows = PurchaseOrderLine.objects.filter(order__status__in=OPEN_STATUSES, order__location_id__in=list(location_ids),
                                            sku_id__in=list(sku_ids)).values_list(
        "order__location_id", "sku_id", "quantity", "confirmed_qty", "accepted_qty")
    for loc, sku, qty, conf, acc in rows:
        expected = qty if conf is None else conf
        out[(loc, sku)] += max(0, expected - acc)
    return dict(out)


# --- scorecard and recall -------------------------------------------------------------------------------

def supplier_scorecard(*, supplier_id: int, since: dt.datetime | None = None) -> domain.Scorecard:
    """On-time rate, fill rate, QC reject rate, lead time mean and spread of one supplier.

    Per order sent (and not cancelled): lead time = first receipt − sent; on time when the first
    receipt's local date is on or before the latest confirmed date (or the expected date; no date:
    within the supplier's lead time). Fill rate = accepted ÷ ordered over orders that are closed."""
    from mendian.core.timeutil import local_date

    supplier = Supplier.objects.get(pk=supplier_id)
    orders = PurchaseOrder.objects.filter(supplier_id=supplier_id, sent_at__isnull=False).exclude(
        status=PurchaseOrder.Status.CANCELLED)
    if since is not None:
        orders = orders.filter(sent_at__gte=since)
    orders = list(orders.prefetch_related("lines", "receipts"))
    deliveries: list[tuple[float, bool]] = []
    ordered = accepted = 0
    for o in orders:
        receipts = sorted(o.receipts.all(), key=lambda r: r.received_at)
        lines = list(o.lines.all())
        if receipts:
            first = receipts[0].received_at
            days = (first - o.sent_at).total_seconds() / 86400
            promised = max((ln.confirmed_date for ln in lines if ln.confirmed_date), default=None) or o.expected_date
            if promised is not None:
                on_time = local_date(first) <= promised
            else:
                on_time = days <= float(supplier.lead_time_days)
            deliveries.append((days, on_time))
        if o.status == PurchaseOrder.Status.RECEIVED:
            ordered += sum(ln.quantity for ln in lines)
            accepted += sum(ln.accepted_qty for ln in lines)
    agg = ReceiptLine.objects.filter(receipt__order__supplier_id=supplier_id).aggregate(
        r=Sum("received_qty"), j=Sum("rejected_qty"))
    return domain.scorecard(deliveries=deliveries, ordered=ordered, accepted=accepted, received=int(agg["r"] or 0),
                            rejected=int(agg["j"] or 0), orders=len(orders))


@dataclass(frozen=True)
class LotTrace:
    sku_code: str
    sku_name: str
    lot_code: str
    expiry: dt.date | None
    receipts: list[dict]
    movements: list[dict]  # grouped by location, reason and document
    on_hand: list[dict]  # where units are now


def lot_trace(*, access: PurchasingAccess, code: str, sku_code: str | None = None) -> list[LotTrace]:
    """Recall query: for each lot with this code (one per SKU), the receipts that brought it in and
    where its units went, from the inventory ledger (read-only), limited to the caller's locations."""
    from mendian.inventory.models import Lot, StockLevel, StockMovement

    lots = Lot.objects.filter(code=code).select_related("sku").order_by("sku__code")
    if sku_code:
        lots = lots.filter(sku__code=sku_code)
    out = []
    loc_filter = None if access.is_buyer else access.scope.location_ids
    for lot in lots:
        rl = (ReceiptLine.objects.filter(sku_id=lot.sku_id, lot_code=lot.code)
              .select_related("receipt__order__supplier", "receipt__location", "receipt__notice")
              .order_by("receipt__received_at", "id"))
        mv = StockMovement.objects.filter(lot_id=lot.pk)
        lv = StockLevel.objects.filter(lot_id=lot.pk)
        if loc_filter is not None:
            rl = rl.filter(receipt__location_id__in=loc_filter)
            mv = mv.filter(location_id__in=loc_filter)
            lv = lv.filter(location_id__in=loc_filter)
        receipts = [{
            "receipt": r.receipt.number, "order": r.receipt.order.number, "supplier": r.receipt.order.supplier.code,
            "ship_notice": r.receipt.notice.number if r.receipt.notice_id else None,
            "location": r.receipt.location.code, "received_at": r.receipt.received_at, "accepted": r.accepted_qty,
            "rejected": r.rejected_qty, "expiry": r.expiry} for r in rl]
        groups = (mv.values("location__code", "reason", "doc_type", "doc_ref")
                  .annotate(quantity=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
                  .order_by("location__code", "reason", "doc_type", "doc_ref"))
        movements = [{"location": g["location__code"], "reason": g["reason"], "doc_type": g["doc_type"],
                      "doc_ref": g["doc_ref"], "quantity": int(g["quantity"] or 0),
                      "reserved": int(g["reserved"] or 0)} for g in groups]
        on_hand = [{"location": c, "on_hand": oh, "reserved": rs} for c, oh, rs in
                   lv.filter(Q(on_hand__gt=0) | Q(reserved__gt=0) | Q(on_hand__lt=0))
                   .values_list("location__code", "on_hand", "reserved").order_by("location__code")]
        if loc_filter is not None and not (receipts or movements or on_hand):
            continue
        out.append(LotTrace(lot.sku.code, lot.sku.name, lot.code, lot.expiry, receipts, movements, on_hand))
    return out


def order_total(order: PurchaseOrder) -> Decimal:
    return sum((domain.line_cost(ln.effective_qty, ln.unit_cost) for ln in order.lines.all()), Decimal("0.00"))


# --- for a console page ---------------------------------------------------------------------------------

def purchase_order_status_counts(*, access: PurchasingAccess) -> dict[str, int]:
    """Orders per status within the caller's view (one GROUP BY)."""
    from django.db.models import Count

    return dict(orders_visible(access).values_list("status").annotate(n=Count("id")).order_by())


def purchase_orders_overdue(*, access: PurchasingAccess, today: dt.date | None = None, limit: int = 50
                            ) -> list[PurchaseOrder]:
    """Open orders sent to the supplier whose expected date has passed (oldest first)."""
    from mendian.core.timeutil import local_date

    today = today or local_date()
    return list(orders_visible(access).filter(
        status__in=(PurchaseOrder.Status.SENT, PurchaseOrder.Status.CONFIRMED,
                    PurchaseOrder.Status.PARTIALLY_RECEIVED), expected_date__lt=today)
        .select_related("supplier", "location").order_by("expected_date", "number")[:limit])


def appointments_for_day(*, access: PurchasingAccess, location_id: int, day: dt.date) -> list:
    """The dock's booked deliveries of a day in slot order (the receiving team's plan)."""
    from mendian.core.timeutil import local_tz

    from .models import DeliveryAppointment

    start = dt.datetime.combine(day, dt.time(0), tzinfo=local_tz())
    qs = DeliveryAppointment.objects.filter(status=DeliveryAppointment.Status.BOOKED, slot__location_id=location_id,
                                            slot__starts_at__gte=start, slot__starts_at__lt=start + dt.timedelta(days=1),
                                            notice__in=notices_visible(access))
    return list(qs.select_related("slot", "notice__order", "notice__supplier").order_by("slot__starts_at", "number"))


@dataclass(frozen=True)
class SupplierParams:
    supplier_code: str
    lead_time_days: Decimal
    lead_time_std_days: Decimal
    review_period_days: Decimal
    measured: bool = False  # lead time and spread from the scorecard's deliveries, not the configured values


# Deliveries a supplier needs before its measured lead time replaces the configured one.
MIN_MEASURED_DELIVERIES = 3
SCORECARD_WINDOW = dt.timedelta(days=365)


def supplier_params_for(sku_ids: Iterable[int]) -> dict[int, SupplierParams]:
    """Lead time, its spread and review period of each SKU's preferred supplier (lowest rank, then
    cost): the input planning's safety stock needs for purchased goods. Once the supplier has
    ``MIN_MEASURED_DELIVERIES`` deliveries in the last year, the scorecard's measured lead-time mean and
    spread are used instead of the configured ones."""
    from django.utils import timezone

    from .models import SupplierSku

    chosen: dict[int, tuple[int, str, Decimal, Decimal, Decimal]] = {}
    for sku_id, sup_id, code, lt, sd, rp in (
            SupplierSku.objects.filter(sku_id__in=list(sku_ids), active=True, supplier__active=True)
            .order_by("sku_id", "rank", "cost_price", "supplier__code")
            .values_list("sku_id", "supplier_id", "supplier__code", "supplier__lead_time_days",
                         "supplier__lead_time_std_days", "supplier__review_period_days")):
        chosen.setdefault(sku_id, (sup_id, code, lt, sd, rp))
    since = timezone.now() - SCORECARD_WINDOW
    measured: dict[int, domain.Scorecard] = {}
    for sup_id in {c[0] for c in chosen.values()}:
        card = supplier_scorecard(supplier_id=sup_id, since=since)
        if card.deliveries >= MIN_MEASURED_DELIVERIES and card.lead_time_mean_days is not None:
            measured[sup_id] = card
    out: dict[int, SupplierParams] = {}
    for sku_id, (sup_id, code, lt, sd, rp) in chosen.items():
        card = measured.get(sup_id)
        if card is not None:
            out[sku_id] = SupplierParams(code, Decimal(str(round(card.lead_time_mean_days, 2))),
                                         Decimal(str(round(card.lead_time_std_days or 0, 2))), rp, measured=True)
        else:
            out[sku_id] = SupplierParams(code, lt, sd, rp)
    return out
