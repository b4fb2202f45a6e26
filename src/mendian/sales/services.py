"""Write use-cases of sales: one function = one transaction, audited, with its outbox events.

Stock moves only through ``mendian.inventory.services``. Every use-case is one transaction and runs
in ``write_batch()`` (its audit entries and events are inserted in one statement each at the end).
``order_create``, the checkout's hot path, joins a caller's transaction (the idempotency record's)
without a SAVEPOINT (``atomic(savepoint=False)``): when it refuses, the caller's transaction must
roll back too — wrap the call in ``transaction.atomic()`` to carry on after a refusal. The other
use-cases nest normally.

Lock order, the same in every use-case, so that concurrent sales never deadlock: the order
sequence row of (store, day) when an order is created, or the order row for a state change; then
the stock rows, which the inventory locks in SKU order. Expiry locks one order per transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from mendian.catalog.pricing import price_lookup
from mendian.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mendian.core.money import ZERO, money_str, to_money
from mendian.core.timeutil import local_date
from mendian.inventory.errors import InsufficientStock
from mendian.inventory.services import (
    LotTake,
    StockLine,
    lost_demand_record,
    stock_issue_reserved,
    stock_release,
    stock_reserve,
    stock_return,
    stock_sell,
)
from mendian.org.models import ChainSettings
from mendian.platform.audit import audit_record
from mendian.platform.batch import write_batch
from mendian.platform.outbox import outbox_publish

from . import domain
from .domain import LineRequest, RefundRequestLine, TenderRequest
from .models import Order, OrderLine, OrderSequence, OrderStatus, Refund, Shift, Tender

DOC_TYPE = "order"
SYSTEM_ACTOR = "system"


# --- errors ---------------------------------------------------------------------------------------


class StockShortage(Conflict):
    """Not enough stock available for the order."""

    code = "insufficient_stock"

    def __init__(self, *, store_id: int, channel: str, short: list[tuple[int, str, int, int]]) -> None:
        # short: (sku_id, sku_code, requested, available)
        self.store_id = store_id
        self.channel = channel
        self.short = short
        super().__init__("not enough stock available", details={"lines": [
            {"sku": code, "requested": requested, "available": available}
            for _sku_id, code, requested, available in short]})


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaleContext:
    """What a sale at a store needs to know, read in one query (see selectors.sale_context_get)."""

    store_id: int
    store_code: str
    store_kind: str
    open_shift_id: int | None = None
    refuse_negative: bool = False
    unpaid_minutes: int = 30
    promotions_active: bool | None = None  # None: not known, ask the promotions' rule book
    region_id: int | None = None


@dataclass
class OrderResult:
    """An order with its lines (each carrying ``sku_code``) and tenders, as the API shows it."""

    order: Order
    store_code: str
    lines: list[OrderLine]
    tenders: list[Tender]
    refunds: list[Refund] = field(default_factory=list)
    hints: list[dict[str, Any]] = field(default_factory=list)  # upsell hints of the engine, at creation only
    not_applied: list[dict[str, Any]] = field(default_factory=list)  # rules that did not apply and why, ditto
    notes: list[str] = field(default_factory=list)  # e.g. flash units beyond a quota at the regular price, ditto


@dataclass
class RefundResult:
    refund: Refund
    tenders: list[Tender]
    order: OrderResult


# --- helpers --------------------------------------------------------------------------------------


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "pk", None)


def _next_sequence(store_id: int, day: dt.date) -> int:
    """One statement: insert the (store, day) counter at 1 or add one, returning the new value. The
    row stays locked to the end of the transaction, so numbers of one store and day never repeat."""
    table = connection.ops.quote_name(OrderSequence._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (store_id, day, last) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (store_id, day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [store_id, connection.ops.adapt_datefield_value(day)],
        )
        return cur.fetchone()[0]


def _iso(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="milliseconds") if value else None


def order_event_payload(result: OrderResult) -> dict[str, Any]:
    o = result.order
    return {
        "number": o.number, "store": result.store_code, "channel": o.channel, "fulfilment": o.fulfilment,
        "status": o.status, "subtotal": money_str(o.subtotal), "discount_total": money_str(o.discount_total),
        "total": money_str(o.total), "tax_total": money_str(o.tax_total), "cost_total": str(o.cost_total),
        "paid_total": money_str(o.paid_total), "change": money_str(o.change),
        "refunded_total": money_str(o.refunded_total), "created_at": _iso(o.created_at),
        "member": o.member_code, "points_used": o.points_used, "points_value": money_str(o.points_value),
        "paid_at": _iso(o.paid_at), "fulfilled_at": _iso(o.fulfilled_at), "completed_at": _iso(o.completed_at),
        "lines": [{"line": ln.line_no, "sku": ln.sku_code, "quantity": ln.quantity, "amount": money_str(ln.amount),
                   "discount": money_str(ln.discount), "cost": str(ln.cost), "refunded_qty": ln.refunded_qty} for ln in result.lines],
    }


def _publish(topics: Sequence[str], result: OrderResult, extra: dict[str, Any] | None = None) -> None:
    payload = order_event_payload(result)
    if extra:
        payload.update(extra)
    for topic in topics:
        outbox_publish(topic=topic, payload=payload, partition=result.store_code)


def _audit(actor: Any, action: str, result: OrderResult, before: dict | None, after: dict | None) -> None:
    audit_record(actor=actor, action=action, object_type="sales.order", object_ref=result.order.number,
                 before=before, after=after)


def _takes(line: OrderLine) -> list[LotTake]:
    return [LotTake(sku_id=t.sku_id, lot_id=t.lot_id, lot_code=t.lot_code, quantity=t.quantity, unit_cost=t.unit_cost)
            for t in domain.takes_from_json(line.sku_id, line.lots)]


def _all_takes(lines: Sequence[OrderLine]) -> list[LotTake]:
    return [t for line in lines for t in _takes(line)]


def _for_update(qs: QuerySet) -> QuerySet:
    """Lock only the rows of the queryset's own table, not those it joins (stores, users)."""
    if connection.features.has_select_for_update_of:
        return qs.select_for_update(of=("self",))
    return qs.select_for_update()


def _lock_order(order_id: int) -> OrderResult:
    order = _for_update(Order.objects.select_related("store").filter(pk=order_id)).first()
    if order is None:
        raise NotFound("order not found", code="not_found")
    lines = list(OrderLine.objects.filter(order_id=order.pk).annotate(sku_code=F("sku__code")).order_by("line_no"))
    tenders = list(Tender.objects.filter(order_id=order.pk).order_by("id"))
    refunds = list(Refund.objects.filter(order_id=order.pk).order_by("id")) if order.refunded_total else []
    return OrderResult(order=order, store_code=order.store.code, lines=lines, tenders=tenders, refunds=refunds)


def _new_tenders(order: Order, tenders: Sequence[TenderRequest], now: dt.datetime, *, shift_id: int | None,
                 sign: int = 1, refund: Refund | None = None) -> list[Tender]:
    return [Tender(order=order, method=t.method, amount=to_money(t.amount) * sign, reference=t.reference or "",
                   created_at=now, shift_id=shift_id, refund=refund) for t in tenders]


def _assign_pickup_code(order: Order, fields: list[str]) -> None:
    """Save ``fields`` with a fresh 6-digit pickup code, unique among the store's paid orders (the
    database constraint decides; a collision draws again)."""
    for _attempt in range(20):
        order.pickup_code = domain.pickup_code_from(secrets.randbelow(1_000_000))
        try:
            with transaction.atomic():
                order.save(update_fields=[*fields, "pickup_code"])
            return
        except IntegrityError:
            continue
    raise Conflict("could not draw a free pickup code; try again", code="pickup_code_exhausted")


# --- promotions, coupons, points -------------------------------------------------------------------


@dataclass
class CartPricing:
    """What the promotions engine made of a cart: None ``result`` when no promotion is active and no
    member takes part (the lines then sell at the store price, at no extra query)."""

    member_code: str = ""
    result: Any = None  # promotions.domain.PricingResult

    @property
    def quoted(self) -> bool:
        return self.result is not None


def _adjustments(result: Any) -> list[dict[str, Any]]:
    return [{"rule": a.promotion, "kind": a.kind, "lines": [i + 1 for i in a.lines], "amount": money_str(a.saving),
             "reason": a.reason, "units": a.units} for a in result.applied]


def cart_pricing(*, ctx: SaleContext, channel: str, lines: Sequence[LineRequest], member: str = "",
                 coupons: Sequence[str] = (), points: int = 0, now: dt.datetime | None = None) -> CartPricing:
    """Price a cart with the promotions engine for the member (tier, first order…), the chosen
    wallet coupons and the points asked. No write. 422 naming the field for an unknown member, a
    coupon not usable here, or coupons/points without a member."""
    from mendian.members.selectors import member_pricing_context, points_policy, wallet_coupons_for_pricing
    from mendian.org.models import Location
    from mendian.promotions.selectors import active_rulebook
    from mendian.promotions.services import QuoteLine, pricing_quote

    now = now or timezone.now()
    member = (member or "").strip()
    if not member:
        if coupons:
            raise InvalidInput("coupons come from a member's wallet: give the member", code="member_required",
                               details={"field": "member"})
        if points:
            raise InvalidInput("points are a member's: give the member", code="member_required",
                               details={"field": "member"})
        if ctx.promotions_active is False or (ctx.promotions_active is None and not active_rulebook(at=now).rules):
            return CartPricing()
    if points < 0:
        raise InvalidInput("points are zero or more", code="invalid_points", details={"field": "points"})
    member_input = None
    wallet: dict[str, Any] = {}
    if member:
        member_input = member_pricing_context(member, at=now)
        if member_input is None:
            from mendian.core.errors import unknown_code

            raise unknown_code("member", member)
        if coupons:
            wallet = {c.code: c for c in wallet_coupons_for_pricing(member=member, store=ctx.store_code,
                                                                      channel=channel, at=now)}
    chosen = []
    for i, code in enumerate(coupons):
        if code not in wallet:
            raise InvalidInput(f"coupon {code} is not usable by {member} here and now", code="coupon_unavailable",
                               details={"field": f"coupons[{i}]", "value": code})
        if wallet[code] not in chosen:
            chosen.append(wallet[code])
    store = (Location(pk=ctx.store_id, code=ctx.store_code, kind=ctx.store_kind, region_id=ctx.region_id)
             if ctx.region_id is not None else Location.objects.get(pk=ctx.store_id))
    result = pricing_quote(store=store, channel=channel, lines=[QuoteLine(ln.sku, ln.quantity) for ln in lines],
                           member=member_input, coupons=chosen, points=points, at=now,
                           points_policy=points_policy() if points else None)
    return CartPricing(member_code=member, result=result)


def cart_price(*, ctx: SaleContext, channel: str, lines: Sequence[LineRequest], member: str = "",
               coupons: Sequence[str] = (), points: int = 0, max_lines: int = 500,
               now: dt.datetime | None = None) -> tuple[CartPricing, list[domain.PricedLine]]:
    """The price an order of this cart would get now (for terminals before payment). No write."""
    now = now or timezone.now()
    domain.validate_order_request(channel=channel, fulfilment="in_store" if channel == "pos" else "pickup",
                                  lines=lines, tenders=(), max_lines=max_lines, require_tenders=False)
    pricing = cart_pricing(ctx=ctx, channel=channel, lines=lines, member=member, coupons=coupons, points=points,
                           now=now)
    priced, _skus = _priced_lines(pricing, lines, ctx, now)
    return pricing, priced


def _priced_lines(pricing: CartPricing, lines: Sequence[LineRequest], ctx: SaleContext,
                  now: dt.datetime) -> tuple[list[domain.PricedLine], dict]:
    gifts = [domain.GiftRequest(g.promotion, g.sku, g.quantity) for g in pricing.result.gifts] if pricing.quoted else []
    codes = list(dict.fromkeys([ln.sku for ln in lines] + [g.sku for g in gifts]))
    skus = price_lookup(location_id=ctx.store_id, sku_codes=codes, at=now)
    if not pricing.quoted:
        return domain.price_lines(lines, skus), skus
    quoted = [domain.QuotedLine(unit_price=pl.unit_price, list_amount=pl.list_amount, discount=pl.discount)
              for pl in pricing.result.lines]
    return domain.price_lines_quoted(lines, skus, quoted, gifts), skus


# --- create ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    fields: list[Any]
    columns: str  # quoted, comma-separated
    array_casts: list[str]  # per field: the array type to unnest it from (PostgreSQL)
    is_json: list[bool]


_COLUMNS: dict[type, _Columns] = {}


def _columns(model: type) -> _Columns:
    """The model's concrete non-pk fields with their column list and types, computed once per model."""
    cols = _COLUMNS.get(model)
    if cols is None:
        conn = connections[DEFAULT_DB_ALIAS]
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        is_json = [f.get_internal_type() == "JSONField" for f in fields]
        cols = _Columns(fields=fields, columns=", ".join(conn.ops.quote_name(f.column) for f in fields),
                        array_casts=["text[]::jsonb[]" if j else f"{f.db_type(conn)}[]"
                                     for f, j in zip(fields, is_json, strict=True)],
                        is_json=is_json)
        _COLUMNS[model] = cols
    return cols


def _insert_order(order: Order, lines: Sequence[OrderLine], tenders: Sequence[Tender]) -> None:
    """Insert the order, its lines and its tenders.

    On PostgreSQL one statement of constant text whatever the number of lines (data-modifying CTEs:
    the order's INSERT returns its id, the lines and tenders are unnested from one array per
    column), so that psycopg prepares it once per connection. Built from the models' fields; the
    values are the instances' own (Decimal, aware datetime, int, str — what psycopg adapts as they
    are), JSON is serialised here. Elsewhere three statements (order, bulk lines, bulk tenders)."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql":
        order.save(force_insert=True)
        OrderLine.objects.bulk_create(lines)
        if tenders:
            Tender.objects.bulk_create(tenders)
        return
    qn = conn.ops.quote_name
    cols = _columns(Order)
    params: list[Any] = [json.dumps(getattr(order, f.attname), cls=DjangoJSONEncoder) if j else getattr(order, f.attname)
                         for f, j in zip(cols.fields, cols.is_json, strict=True)]
    marks = ", ".join("%s::jsonb" if j else "%s" for j in cols.is_json)
    parts = [f"o AS (INSERT INTO {qn(Order._meta.db_table)} ({cols.columns}) VALUES ({marks}) RETURNING id)"]
    for alias, model, objs in (("l", OrderLine, lines), ("t", Tender, tenders)):
        if not objs:
            continue
        cols = _columns(model)
        select: list[str] = []
        arrays: list[str] = []
        names: list[str] = []
        for i, (f, cast, j) in enumerate(zip(cols.fields, cols.array_casts, cols.is_json, strict=True)):
            if f.attname == "order_id":
                select.append("o.id")
                continue
            select.append(f"u.c{i}")
            names.append(f"c{i}")
            arrays.append(f"%s::{cast}")
            attname = f.attname
            params.append([json.dumps(getattr(obj, attname), cls=DjangoJSONEncoder) for obj in objs] if j
                          else [getattr(obj, attname) for obj in objs])
        parts.append(f"{alias} AS (INSERT INTO {qn(model._meta.db_table)} ({cols.columns}) SELECT {', '.join(select)} "
                     f"FROM o, unnest({', '.join(arrays)}) AS u({', '.join(names)}))")
    with conn.cursor() as cur:
        cur.execute("WITH " + ", ".join(parts) + " SELECT id FROM o", params)
        order.pk = cur.fetchone()[0]
    order._state.adding = False
    order._state.db = conn.alias
    for obj in (*lines, *tenders):
        obj.order_id = order.pk


def order_create(*, actor: Any, ctx: SaleContext, channel: str, fulfilment: str, lines: Sequence[LineRequest],
                 tenders: Sequence[TenderRequest] = (), max_lines: int = 500, member: str = "",
                 coupons: Sequence[str] = (), points: int = 0, now: dt.datetime | None = None) -> OrderResult:
    """Create an order at ``ctx``'s store.

    POS: created paid and completed at once; stock leaves with ``stock_sell`` (not refused for book
    stock unless the chain says so); attached to the actor's open shift (409 ``no_open_shift``).
    Online channels: stock is reserved (409 ``insufficient_stock`` naming each short SKU; the caller
    records the lost demand after the rollback with ``order_lost_demand_record``); the order waits
    for payment (or is paid at once when tenders come with it) and expires unpaid.
    """
    now = now or timezone.now()
    domain.validate_order_request(channel=channel, fulfilment=fulfilment, lines=lines, tenders=tenders,
                                  max_lines=max_lines)
    if ctx.store_kind != "store":
        raise InvalidInput(f"{ctx.store_code} is not a store", code="not_a_store", details={"field": "store"})
    is_pos = channel == "pos"
    if is_pos and ctx.open_shift_id is None:
        raise Conflict(f"open a shift at {ctx.store_code} before selling", code="no_open_shift")
    if is_pos and not tenders:
        raise InvalidInput("a POS sale is paid at the till: give its tenders", code="tenders_required",
                           details={"field": "tenders"})
    with transaction.atomic(savepoint=False), write_batch():
        q = _checkout_pricing(ctx=ctx, channel=channel, lines=lines, tenders=tenders, member=member,
                              coupons=coupons, points=points, now=now)
        pricing, priced, skus, totals, settlement, number = (q.pricing, q.priced, q.skus, q.totals, q.settlement,
                                                              q.number)
        result_q = pricing.result
        points_used, points_value = q.points_used, q.points_value
        stock_lines = [StockLine(sku_id=s, quantity=q) for s, q in domain.stock_quantities(priced)]
        try:
            if is_pos:
                lot_takes = stock_sell(location_id=ctx.store_id, lines=stock_lines, doc_type=DOC_TYPE, doc_ref=number,
                                       user_id=_actor_id(actor), refuse_negative=ctx.refuse_negative)
            else:
                lot_takes = stock_reserve(location_id=ctx.store_id, lines=stock_lines, doc_type=DOC_TYPE,
                                          doc_ref=number, user_id=_actor_id(actor))
        except InsufficientStock as exc:
            codes = {p.sku_id: p.code for p in skus.values()}
            raise StockShortage(store_id=ctx.store_id, channel=channel, short=[
                (s.sku_id, codes.get(s.sku_id, str(s.sku_id)), s.requested, s.available) for s in exc.lines]) from exc
        per_line = domain.split_takes(priced, [
            domain.Take(t.sku_id, t.lot_id, t.lot_code, t.quantity, t.unit_cost) for t in lot_takes])

        paid = settlement is not None
        status = OrderStatus.COMPLETED if is_pos else (OrderStatus.PAID if paid else OrderStatus.PENDING)
        order = Order(
            number=number, store_id=ctx.store_id, channel=channel, fulfilment=fulfilment, status=status,
            subtotal=totals.subtotal, discount_total=totals.discount_total, total=totals.total,
            tax_total=totals.tax_total, paid_total=(settlement.paid if paid else ZERO) + points_value,
            member_code=pricing.member_code, points_used=points_used, points_value=points_value,
            adjustments=_adjustments(result_q) if pricing.quoted else [],
            change=settlement.change if paid else ZERO, shift_id=ctx.open_shift_id if is_pos else None,
            created_by_id=_actor_id(actor), created_at=now, paid_at=now if paid else None,
            expires_at=None if paid else now + dt.timedelta(minutes=ctx.unpaid_minutes),
            fulfilled_at=now if is_pos else None, completed_at=now if is_pos else None,
        )
        order_lines: list[OrderLine] = []
        cost_total = Decimal("0")
        for p in priced:
            takes = per_line[p.line_no]
            cost = domain.takes_cost(takes)
            cost_total += cost
            ln = OrderLine(order=order, line_no=p.line_no, sku_id=p.sku_id, quantity=p.quantity,
                           unit_price=p.unit_price, price_unit_qty=p.price_unit_qty, discount=p.discount,
                           amount=p.amount, tax=p.tax, vat_rate=p.vat_rate, cost=cost,
                           lots=domain.takes_to_json(takes))
            ln.sku_code = p.sku_code
            order_lines.append(ln)
        order.cost_total = cost_total
        tender_rows = _new_tenders(order, tenders, now, shift_id=order.shift_id)
        if points_used:
            tender_rows.insert(0, Tender(order=order, method=domain.POINTS_METHOD, amount=points_value,
                                         reference=f"{points_used} points", created_at=now, shift_id=None))
        _insert_order(order, order_lines, tender_rows)
        if pricing.quoted:
            _redeem(pricing, number, now, points_used, totals.total)
        if paid and not is_pos and fulfilment == "pickup":
            _assign_pickup_code(order, ["status"])
        result = OrderResult(order=order, store_code=ctx.store_code, lines=order_lines, tenders=tender_rows)
        if pricing.quoted:
            result.hints = [{"promotion": h.promotion, "add_amount": money_str(h.add_amount),
                             "saving": money_str(h.saving), "message": h.message} for h in result_q.hints]
            result.not_applied = [{"promotion": n.promotion, "reason_code": n.reason_code, "reason": n.reason}
                                  for n in result_q.not_applied]
            result.notes = list(result_q.notes)
        after = {"status": status, "channel": channel, "total": str(order.total), "paid_total": str(order.paid_total),
                 "lines": len(order_lines)}
        if result.notes:
            after["notes"] = result.notes
        _audit(actor, "order.create", result, None, after)
        # A POS sale is born paid, handed over and completed: it announces its birth and its end
        # (the payload carries paid_at and fulfilled_at); online orders announce each step as it comes.
        # A member's POS sale also says it is paid (the members app awards growth and points on it).
        topics = (["order.created", "order.paid", "order.completed"] if order.member_code else
                  ["order.created", "order.completed"]) if is_pos else (
            ["order.created", "order.paid"] if paid else ["order.created"])
        _publish(topics, result)
    return result


def _redeem(pricing: CartPricing, number: str, now: dt.datetime, points_used: int, total: Decimal) -> None:
    """Coupons (one conditional UPDATE each: of concurrent orders exactly one wins) and points; any
    refusal rolls the whole order back. (The promotions' usage is recorded earlier, by the pricing.)"""
    from mendian.members.services import coupon_redeem, points_redeem

    code = pricing.member_code
    for c in sorted(pricing.result.coupons_used):
        coupon_redeem(coupon_code=c, order_number=number, member=code, at=now)
    if points_used:
        points_redeem(member=code, order_number=number, points=points_used, order_payable=total, at=now)


# How many times a checkout prices its cart again when a flash sale's quota (or a budget) moved under
# it before it gives up with 409 promotion_quota_exhausted. Every failed try means another checkout
# took the units meanwhile, so a few tries are plenty.
REPRICE_ATTEMPTS = 6


@dataclass
class _CheckoutPricing:
    pricing: CartPricing
    priced: list[domain.PricedLine]
    skus: dict
    totals: domain.Totals
    settlement: domain.Settlement | None
    number: str
    points_used: int
    points_value: Decimal


def _checkout_pricing(*, ctx: SaleContext, channel: str, lines: Sequence[LineRequest],
                      tenders: Sequence[TenderRequest], member: str, coupons: Sequence[str], points: int,
                      now: dt.datetime) -> _CheckoutPricing:
    """Price the cart, check the tenders against it, draw the order number and take what the order
    uses of the promotions' quotas and budgets (``promotion_usage_record``), inside the order's
    transaction and before anything else of the order is written.

    When a counter cannot move (another checkout took the last flash units between our quote and our
    UPDATE), the recording leaves nothing behind and the cart is priced again against the fresh
    counters: the units beyond the quota at the regular price, said in the result's ``notes``. A
    promotion the merchant set to refuse (``refuse_over_quota``) refuses the order instead (409
    ``promotion_quota_exhausted``), whether the quote or the counter found it short. When the new
    price is not what the tenders pay (a card paid the flash total), 409 ``price_changed`` gives the new
    total and writes nothing. After ``REPRICE_ATTEMPTS`` quotes the order is refused (409).
    """
    from mendian.promotions.services import (
        PromotionQuotaExhausted,
        promotion_quota_check,
        promotion_usage_record,
    )

    number = ""
    first_total: Decimal | None = None
    for attempt in range(REPRICE_ATTEMPTS):
        pricing = cart_pricing(ctx=ctx, channel=channel, lines=lines, member=member, coupons=coupons, points=points,
                               now=now)
        result_q = pricing.result
        if pricing.quoted:
            promotion_quota_check(result=result_q)
        priced, skus = _priced_lines(pricing, lines, ctx, now)
        totals = domain.order_totals(priced)
        points_used = result_q.points_used if pricing.quoted else 0
        points_value = to_money(result_q.points_value) if points_used else ZERO
        payable = to_money(totals.total - points_value)
        if first_total is None:
            first_total = totals.total
            settlement = domain.settle(payable, tenders) if tenders else None
        else:
            try:
                settlement = domain.settle(payable, tenders) if tenders else None
            except InvalidInput as exc:
                raise Conflict(
                    f"the price changed during checkout: a promotion ran out; the total is now {money_str(totals.total)}"
                    f" (payable {money_str(payable)}), tender it again",
                    code="price_changed",
                    details={"field": "tenders", "quoted_total": money_str(first_total),
                             "total": money_str(totals.total), "payable": money_str(payable),
                             "tendered": exc.details.get("tendered"), "notes": list(result_q.notes)}) from exc
        if not number:
            number = domain.order_number(ctx.store_code, local_date(now),
                                         _next_sequence(ctx.store_id, local_date(now)))
        if pricing.quoted and result_q.applied:
            try:
                promotion_usage_record(order_ref=number, member_code=pricing.member_code, result=result_q, at=now)
            except PromotionQuotaExhausted as exc:
                if exc.details.get("refuse") or attempt == REPRICE_ATTEMPTS - 1:
                    raise
                continue
        return _CheckoutPricing(pricing=pricing, priced=priced, skus=skus, totals=totals, settlement=settlement,
                                number=number, points_used=points_used, points_value=points_value)
    raise AssertionError("unreachable")  # the last attempt returns or raises


def order_lost_demand_record(*, shortage: StockShortage) -> None:
    """Record the refused quantities of a short order as lost demand. Call it after the refusing
    transaction has rolled back (the record is its own transaction, so it survives the refusal)."""
    lost_demand_record(location_id=shortage.store_id, channel=shortage.channel,
                       items=[StockLine(sku_id=sku_id, quantity=requested)
                              for sku_id, _code, requested, _available in shortage.short])


# --- state changes --------------------------------------------------------------------------------


def order_pay(*, actor: Any, order_id: int, tenders: Sequence[TenderRequest],
              now: dt.datetime | None = None) -> OrderResult:
    """Pay a pending order. Pickup orders get their 6-digit pickup code now."""
    now = now or timezone.now()
    if not tenders:
        raise InvalidInput("give the tenders that pay the order", code="tenders_required", details={"field": "tenders"})
    domain.validate_tenders(tenders)
    with transaction.atomic(), write_batch():
        result = _lock_order(order_id)
        order = result.order
        domain.check_transition(order.status, "pay", order.number)
        minutes = ChainSettings.current().unpaid_order_minutes
        if order.created_at <= now - dt.timedelta(minutes=minutes):
            raise Conflict(f"order {order.number} was not paid within {minutes} minutes", code="order_expired")
        settlement = domain.settle(to_money(order.total - order.points_value), tenders)
        order.status, order.paid_total, order.change, order.paid_at = (
            OrderStatus.PAID, to_money(settlement.paid + order.points_value), settlement.change, now)
        fields = ["status", "paid_total", "change", "paid_at"]
        if order.fulfilment == "pickup":
            _assign_pickup_code(order, fields)
        else:
            order.save(update_fields=fields)
        rows = _new_tenders(order, tenders, now, shift_id=None)
        Tender.objects.bulk_create(rows)
        result.tenders.extend(rows)
        _audit(actor, "order.pay", result, {"status": "pending"},
               {"status": "paid", "paid_total": str(order.paid_total), "change": str(order.change)})
        _publish(["order.paid"], result)
    return result


def _fulfil(actor: Any, result: OrderResult, now: dt.datetime, *, complete: bool) -> None:
    order = result.order
    stock_issue_reserved(location_id=order.store_id, takes=_all_takes(result.lines), doc_type=DOC_TYPE,
                         doc_ref=order.number, user_id=_actor_id(actor))
    before = order.status
    order.status = OrderStatus.COMPLETED if complete else OrderStatus.FULFILLED
    order.fulfilled_at = now
    fields = ["status", "fulfilled_at"]
    if complete:
        order.completed_at = now
        fields.append("completed_at")
    order.save(update_fields=fields)
    _audit(actor, "order.fulfil" if not complete else "order.pickup_verify", result, {"status": before},
           {"status": order.status})
    _publish(["order.fulfilled", "order.completed"] if complete else ["order.fulfilled"], result)


def order_fulfil(*, actor: Any, order_id: int, now: dt.datetime | None = None) -> OrderResult:
    """Goods of a paid order leave the store (handed over or shipped): the reservation is issued."""
    now = now or timezone.now()
    with transaction.atomic(), write_batch():
        result = _lock_order(order_id)
        domain.check_transition(result.order.status, "fulfil", result.order.number)
        _fulfil(actor, result, now, complete=False)
    return result


def order_complete(*, actor: Any, order_id: int, now: dt.datetime | None = None) -> OrderResult:
    now = now or timezone.now()
    with transaction.atomic(), write_batch():
        result = _lock_order(order_id)
        order = result.order
        domain.check_transition(order.status, "complete", order.number)
        order.status, order.completed_at = OrderStatus.COMPLETED, now
        order.save(update_fields=["status", "completed_at"])
        _audit(actor, "order.complete", result, {"status": "fulfilled"}, {"status": "completed"})
        _publish(["order.completed"], result)
    return result


def pickup_verify(*, actor: Any, store_id: int, code: str, now: dt.datetime | None = None) -> OrderResult:
    """核销: the customer shows the pickup code at the store; the paid pickup order is handed over
    (its reservation issued) and completed. 404 for a code no order carries, 409 once it is used."""
    now = now or timezone.now()
    code = (code or "").strip()
    with transaction.atomic(), write_batch():
        qs = Order.objects.filter(store_id=store_id, fulfilment="pickup", pickup_code=code)
        paid = qs.filter(status=OrderStatus.PAID).select_for_update().values_list("pk", flat=True).first() \
            if code else None
        if paid is None:
            other = qs.order_by("-id").values_list("number", "status").first() if code else None
            if other is None:
                raise NotFound("no order carries this pickup code at this store", code="pickup_code_not_found")
            number, status = other
            if status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
                raise Conflict(f"order {number} is {status}", code="invalid_state", details={"status": status})
            raise Conflict(f"pickup code already used (order {number})", code="pickup_code_used",
                           details={"number": number, "status": status})
        result = _lock_order(paid)
        domain.check_transition(result.order.status, "verify_pickup", result.order.number)
        _fulfil(actor, result, now, complete=True)
    return result


def order_cancel(*, actor: Any, order_id: int, now: dt.datetime | None = None) -> OrderResult:
    """Cancel a pending or paid (not yet handed over) order: its reservation is released and what
    was paid is refunded in full, by the way it came."""
    now = now or timezone.now()
    with transaction.atomic(), write_batch():
        result = _lock_order(order_id)
        order = result.order
        domain.check_transition(order.status, "cancel", order.number)
        before = order.status
        stock_release(location_id=order.store_id, takes=_all_takes(result.lines), doc_type=DOC_TYPE,
                      doc_ref=order.number, user_id=_actor_id(actor))
        fields = ["status", "cancelled_at"]
        refund = None
        if before == OrderStatus.PAID:
            held = domain.net_payments([(t.method, t.amount, t.reference) for t in result.tenders], order.change)
            amount = to_money(sum((p.amount for p in held), ZERO))
            if amount > 0:
                refund = Refund.objects.create(
                    order=order, number=_refund_number(order), amount=amount, created_by_id=_actor_id(actor),
                    created_at=now, lines=[{"line": ln.line_no, "sku": ln.sku_code, "quantity": ln.quantity,
                                            "amount": money_str(ln.amount)} for ln in result.lines])
                payouts = [TenderRequest(p.method, p.amount, p.reference) for p in held]
                rows = _new_tenders(order, payouts, now, shift_id=None, sign=-1, refund=refund)
                Tender.objects.bulk_create(rows)
                result.tenders.extend(rows)
                order.refunded_total = amount
                fields.append("refunded_total")
        order.status, order.cancelled_at = OrderStatus.CANCELLED, now
        order.save(update_fields=fields)
        _audit(actor, "order.cancel", result, {"status": before},
               {"status": "cancelled", "refunded_total": str(order.refunded_total)})
        _publish(["order.cancelled"], result, {"refund": refund.number if refund else None})
        if refund:
            result.refunds.append(refund)
    return result


def order_expire(*, order_id: int, now: dt.datetime | None = None) -> bool:
    """Expire one unpaid order and release its reservation. False when it is no longer pending."""
    now = now or timezone.now()
    with transaction.atomic(), write_batch():
        result = _lock_order(order_id)
        order = result.order
        if order.status != OrderStatus.PENDING:
            return False
        stock_release(location_id=order.store_id, takes=_all_takes(result.lines), doc_type=DOC_TYPE,
                      doc_ref=order.number, user_id=None)
        order.status, order.cancelled_at = OrderStatus.EXPIRED, now
        order.save(update_fields=["status", "cancelled_at"])
        _audit(SYSTEM_ACTOR, "order.expire", result, {"status": "pending"}, {"status": "expired"})
        _publish(["order.expired"], result)
    return True


def orders_expire_due(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Expire unpaid orders older than ChainSettings.unpaid_order_minutes (one transaction each, so
    that the job never holds the stock rows of many orders at once). Returns how many expired."""
    now = now or timezone.now()
    minutes = ChainSettings.current().unpaid_order_minutes
    cutoff = now - dt.timedelta(minutes=minutes)
    ids = list(Order.objects.filter(status=OrderStatus.PENDING, created_at__lte=cutoff)
               .order_by("id").values_list("pk", flat=True)[:limit])
    return sum(1 for pk in ids if order_expire(order_id=pk, now=now))


# --- refunds --------------------------------------------------------------------------------------


def _refund_number(order: Order) -> str:
    n = Refund.objects.filter(order_id=order.pk).count() + 1
    return f"{order.number}-R{n:02d}"


def _open_shift_id(user_id: int | None, store_id: int) -> int | None:
    if user_id is None:
        return None
    return Shift.objects.filter(user_id=user_id, store_id=store_id, status=Shift.Status.OPEN).values_list(
        "pk", flat=True).first()


def order_refund(*, actor: Any, order_id: int, lines: Sequence[RefundRequestLine],
                 tenders: Sequence[TenderRequest] = (), now: dt.datetime | None = None) -> RefundResult:
    """Refund whole or partial line quantities of a handed-over order: the goods come back into the
    lots they left at their recorded cost, the money goes out as negative tenders (by the given
    tenders, or back the way it came), and a Refund document records it."""
    now = now or timezone.now()
    with transaction.atomic(), write_batch():
        result = _lock_order(order_id)
        order = result.order
        domain.check_transition(order.status, "refund", order.number)
        states = [domain.LineState(ln.line_no, ln.sku_id, ln.sku_code, ln.quantity, ln.refunded_qty, ln.amount, ln.tax)
                  for ln in result.lines]
        plan = domain.plan_refund(states, lines)
        held = domain.net_payments([(t.method, t.amount, t.reference) for t in result.tenders], order.change)
        # the points tender's share goes back as points (the members app returns them on order.refunded)
        share = domain.points_share(order.points_value, order.total, order.refunded_total, plan.amount)
        payouts = domain.refund_tenders(to_money(plan.amount - share),
                                        [p for p in held if p.method != domain.POINTS_METHOD], tenders)
        if share > 0:
            payouts.append(TenderRequest(domain.POINTS_METHOD, share, "points returned"))
        by_no = {ln.line_no: ln for ln in result.lines}
        back: list[LotTake] = []
        for r in plan.lines:
            ln = by_no[r.line_no]
            for t in domain.takes_slice(domain.takes_from_json(ln.sku_id, ln.lots), r.refunded_from, r.quantity):
                back.append(LotTake(sku_id=t.sku_id, lot_id=t.lot_id, lot_code=t.lot_code, quantity=t.quantity,
                                    unit_cost=t.unit_cost))
            ln.refunded_qty += r.quantity
        number = _refund_number(order)
        stock_return(location_id=order.store_id, takes=back, doc_type="refund", doc_ref=number,
                     user_id=_actor_id(actor))
        OrderLine.objects.bulk_update([by_no[r.line_no] for r in plan.lines], ["refunded_qty"])
        refund = Refund.objects.create(
            order=order, number=number, amount=plan.amount, created_by_id=_actor_id(actor), created_at=now,
            lines=[{"line": r.line_no, "sku": r.sku_code, "quantity": r.quantity, "amount": money_str(r.amount),
                    "tax": money_str(r.tax)} for r in plan.lines])
        rows = _new_tenders(order, payouts, now, shift_id=_open_shift_id(_actor_id(actor), order.store_id), sign=-1,
                            refund=refund)
        Tender.objects.bulk_create(rows)
        result.tenders.extend(rows)
        before = order.status
        order.refunded_total = to_money(order.refunded_total + plan.amount)
        order.status = OrderStatus.REFUNDED if plan.fully_refunded else OrderStatus.PARTIALLY_REFUNDED
        order.save(update_fields=["refunded_total", "status"])
        audit_record(actor=actor, action="order.refund", object_type="sales.order", object_ref=order.number,
                     before={"status": before},
                     after={"status": order.status, "refund": number, "amount": str(plan.amount),
                            "lines": refund.lines})
        _publish(["order.refunded"], result, {"refund": {"number": number, "amount": money_str(plan.amount),
                                                         "lines": refund.lines}})
        result.refunds.append(refund)
    return RefundResult(refund=refund, tenders=rows, order=result)


# --- shifts ---------------------------------------------------------------------------------------


def shift_open(*, actor: Any, store_id: int, store_kind: str = "store", opening_float: Decimal,
               now: dt.datetime | None = None) -> Shift:
    """Open the actor's shift at a store with a cash float; one open shift per user and store."""
    now = now or timezone.now()
    if store_kind != "store":
        raise InvalidInput("shifts are opened at stores", code="not_a_store", details={"field": "store"})
    if opening_float < 0 or opening_float != to_money(opening_float) or opening_float > domain.MAX_AMOUNT:
        raise InvalidInput("the opening float is zero or more with at most two decimals", code="invalid_amount",
                           details={"field": "opening_float"})
    with transaction.atomic(), write_batch():
        shift = Shift(store_id=store_id, user_id=actor.pk, opening_float=opening_float, opened_at=now)
        try:
            with transaction.atomic():
                shift.save(force_insert=True)
        except IntegrityError:
            raise Conflict("you already have an open shift at this store", code="shift_already_open") from None
        audit_record(actor=actor, action="shift.open", object_type="sales.shift", object_ref=str(shift.pk),
                     after={"store_id": store_id, "opening_float": str(opening_float)})
    return shift


def shift_cash(shift: Shift) -> domain.ShiftCash:
    cash = Tender.objects.filter(shift_id=shift.pk, method="cash")
    cash_in = cash.filter(amount__gt=0).aggregate(s=Sum("amount"))["s"] or ZERO
    cash_out = cash.filter(amount__lt=0).aggregate(s=Sum("amount"))["s"] or ZERO
    change = Order.objects.filter(shift_id=shift.pk).aggregate(s=Sum("change"))["s"] or ZERO
    return domain.ShiftCash(opening_float=shift.opening_float, cash_in=to_money(cash_in), change=to_money(change),
                            cash_refunds=to_money(-cash_out))


def shift_close(*, actor: Any, shift_id: int, counted_cash: Decimal, may_close_others: bool = False,
                now: dt.datetime | None = None) -> Shift:
    """Close a shift with the counted cash: expected = float + cash taken − change − cash refunds;
    variance = counted − expected. The owner closes it, or a manager of the store."""
    now = now or timezone.now()
    if counted_cash < 0 or counted_cash != to_money(counted_cash) or counted_cash > domain.MAX_AMOUNT:
        raise InvalidInput("counted cash is zero or more with at most two decimals", code="invalid_amount",
                           details={"field": "counted_cash"})
    with transaction.atomic(), write_batch():
        shift = _for_update(Shift.objects.select_related("store", "user").filter(pk=shift_id)).first()
        if shift is None:
            raise NotFound("shift not found")
        if shift.user_id != actor.pk and not may_close_others:
            raise PermissionDenied("only the cashier of the shift or a manager of the store closes it")
        if shift.status != Shift.Status.OPEN:
            raise Conflict(f"shift {shift.pk} is already closed", code="invalid_state", details={"status": shift.status})
        cash = shift_cash(shift)
        shift.expected_cash = cash.expected
        shift.counted_cash = to_money(counted_cash)
        shift.variance = domain.shift_variance(cash.expected, shift.counted_cash)
        shift.status, shift.closed_at = Shift.Status.CLOSED, now
        shift.save(update_fields=["expected_cash", "counted_cash", "variance", "status", "closed_at"])
        after = {"status": "closed", "opening_float": str(shift.opening_float), "cash_in": str(cash.cash_in),
                 "change": str(cash.change), "cash_refunds": str(cash.cash_refunds),
                 "expected_cash": str(shift.expected_cash), "counted_cash": str(shift.counted_cash),
                 "variance": str(shift.variance)}
        audit_record(actor=actor, action="shift.close", object_type="sales.shift", object_ref=str(shift.pk),
                     before={"status": "open"}, after=after)
        outbox_publish(topic="shift.closed", payload={"id": shift.pk, "store": shift.store.code,
                                                      "user": getattr(shift.user, "username", ""), **after},
                       partition=shift.store.code)
    return shift
