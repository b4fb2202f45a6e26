"""Sales API: orders of every channel, payments, fulfilment, refunds, pickup verification, shifts.

Authorisation: cashiers, store managers, regional directors and HQ sell, verify pickups, run shifts
and refund at the stores in their scope; buyers (chain-wide, purchasing) may read orders but not
sell. A store outside the caller's scope is a 404 — named in a path or in a body alike, so that a
caller cannot learn which stores exist beyond its scope by probing; a store code that does not exist
at all in a body is a 422 ``unknown_code`` naming the field.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Field as NField
from ninja import Query, Router, Schema, Status

from mendian.core.errors import InvalidInput, NotFound, PermissionDenied, unknown_code
from mendian.org.scope import Scope, user_scope
from mendian.platform.idempotency import MissingIdempotencyKey, idempotent_create
from mendian.platform.schemas import ErrorOut

from . import selectors, services
from .schemas import (
    CartIn,
    CartOut,
    OrderIn,
    OrderListOut,
    OrderOut,
    PayIn,
    PickupVerifyIn,
    RefundIn,
    RefundOut,
    ShiftCloseIn,
    ShiftListOut,
    ShiftOpenIn,
    ShiftOut,
    cart_out,
    order_out,
    refund_out,
    shift_out,
    tender_requests,
)

router = Router(tags=["sales"])

SELL_ROLES = ("hq", "region", "store_manager", "cashier")
MANAGE_ROLES = ("hq", "region", "store_manager")
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _key(request: HttpRequest) -> str | None:
    return request.headers.get("Idempotency-Key") or None


def _store_ref(scope: Scope, code: str, *, field: str = "store", in_body: bool = True) -> tuple[int, str]:
    ref = selectors.location_ref(code)
    if ref is None:
        if in_body:
            raise unknown_code(field, code)
        raise NotFound(f"store {code} not found")
    if not scope.sees(ref[0]):
        raise NotFound(f"store {code} not found")
    return ref


def _require_seller(scope: Scope, store_id: int) -> None:
    if not scope.has_role(*SELL_ROLES, location_id=store_id):
        raise PermissionDenied("your role may not sell at this store", code="forbidden")


def _order_ref(scope: Scope, number: str) -> tuple[int, int]:
    ref = selectors.order_ref(number=number)
    if ref is None or not scope.sees(ref[1]):
        raise NotFound(f"order {number} not found")
    return ref


def _run(request: HttpRequest, scope_name: str, payload: dict, create, status: int = 200):
    stored = idempotent_create(user_id=request.user.pk, scope=scope_name, key=_key(request), payload=payload,
                               create=lambda: (status, create()), required=False)
    return Status(stored.status, stored.body)


# --- orders ---------------------------------------------------------------------------------------


@router.post("/orders", response={201: OrderOut, **ERRORS}, summary="Create an order (POS sale or online order)")
def order_create(request: HttpRequest, payload: OrderIn):
    """Header `Idempotency-Key` required: a retry with the same key and body returns the first
    result; the same key with another body is a 422. POS sales are created paid and completed and
    need the caller's open shift at the store; online orders reserve stock (409
    `insufficient_stock` with `details.lines` when short) and wait for payment."""
    key = _key(request)
    if not key:
        raise MissingIdempotencyKey()
    user = request.user
    scope = user_scope(user)
    ctx = selectors.sale_context_get(store_code=payload.store, user_id=user.pk)
    if ctx is None:
        raise unknown_code("store", payload.store)
    if not scope.sees(ctx.store_id):
        raise NotFound(f"store {payload.store} not found")
    _require_seller(scope, ctx.store_id)

    def create():
        result = services.order_create(
            actor=user, ctx=ctx, channel=payload.channel, fulfilment=payload.fulfilment_or_default(),
            lines=payload.line_requests(), tenders=tender_requests(payload.tenders),
            max_lines=settings.MENDIAN_MAX_ORDER_LINES, member=payload.member, coupons=payload.coupons,
            points=payload.points)
        return 201, order_out(result)

    try:
        stored = idempotent_create(user_id=user.pk, scope="orders.create", key=key,
                                   payload=payload.model_dump(mode="json"), create=create)
    except services.StockShortage as shortage:
        services.order_lost_demand_record(shortage=shortage)  # after the rollback: it survives the refusal
        raise
    # The body is built from the order as JSON-ready primitives (and stored as is for replays), so it
    # goes out directly: re-validating it against OrderOut would cost the checkout ~0.3 ms for nothing.
    return HttpResponse(json.dumps(stored.body), status=stored.status, content_type="application/json")


@router.post("/carts/price", response={200: CartOut, **ERRORS}, summary="Price a cart before payment (no write)")
def cart_price(request: HttpRequest, payload: CartIn):
    """The order's pricing without creating it: promotions, the member's tier, coupons and points,
    per-line discounts, gifts, adjustments explained and upsell hints. No Idempotency-Key."""
    scope = user_scope(request.user)
    ctx = selectors.sale_context_get(store_code=payload.store, user_id=request.user.pk)
    if ctx is None:
        raise unknown_code("store", payload.store)
    if not scope.sees(ctx.store_id):
        raise NotFound(f"store {payload.store} not found")
    _require_seller(scope, ctx.store_id)
    if ctx.store_kind != "store":
        raise InvalidInput(f"{ctx.store_code} is not a store", code="not_a_store", details={"field": "store"})
    pricing, lines = services.cart_price(ctx=ctx, channel=payload.channel, lines=payload.line_requests(),
                                         member=payload.member, coupons=payload.coupons, points=payload.points,
                                         max_lines=settings.MENDIAN_MAX_ORDER_LINES)
    return Status(200, cart_out(store=ctx.store_code, channel=payload.channel, lines=lines, pricing=pricing))


class OrderFilters(Schema):
    store: str | None = None
    status: str | None = None
    channel: str | None = None
    limit: int = NField(50, ge=1, le=500)
    offset: int = NField(0, ge=0)


@router.get("/orders", response={200: OrderListOut, **ERRORS}, summary="List orders in your scope")
def order_list(request: HttpRequest, filters: Query[OrderFilters]):
    scope = user_scope(request.user)
    store_id = _store_ref(scope, filters.store)[0] if filters.store else None
    items, count = selectors.order_list(scope=scope, store_id=store_id, status=filters.status,
                                        channel=filters.channel, limit=filters.limit, offset=filters.offset)
    return {"items": [order_out(r) for r in items], "count": count}


@router.get("/orders/{number}", response={200: OrderOut, **ERRORS}, summary="One order")
def order_get(request: HttpRequest, number: str):
    order_id, _store_id = _order_ref(user_scope(request.user), number)
    return order_out(selectors.order_detail(order_id=order_id))


def _order_action(request: HttpRequest, number: str, action: str, payload: dict, call):
    scope = user_scope(request.user)
    order_id, store_id = _order_ref(scope, number)
    _require_seller(scope, store_id)
    return _run(request, f"orders.{action}", {"number": number, **payload},
                lambda: order_out(call(order_id)))


@router.post("/orders/{number}/pay", response={200: OrderOut, **ERRORS}, summary="Pay a pending order")
def order_pay(request: HttpRequest, number: str, payload: PayIn):
    return _order_action(request, number, "pay", payload.model_dump(mode="json"), lambda oid: services.order_pay(
        actor=request.user, order_id=oid, tenders=tender_requests(payload.tenders)))


@router.post("/orders/{number}/fulfil", response={200: OrderOut, **ERRORS}, summary="Hand over or ship a paid order")
def order_fulfil(request: HttpRequest, number: str):
    return _order_action(request, number, "fulfil", {}, lambda oid: services.order_fulfil(
        actor=request.user, order_id=oid))


@router.post("/orders/{number}/complete", response={200: OrderOut, **ERRORS}, summary="Complete a fulfilled order")
def order_complete(request: HttpRequest, number: str):
    return _order_action(request, number, "complete", {}, lambda oid: services.order_complete(
        actor=request.user, order_id=oid))


@router.post("/orders/{number}/cancel", response={200: OrderOut, **ERRORS},
             summary="Cancel a pending or paid order (reservation released, payment refunded)")
def order_cancel(request: HttpRequest, number: str):
    return _order_action(request, number, "cancel", {}, lambda oid: services.order_cancel(
        actor=request.user, order_id=oid))


@router.post("/orders/{number}/refund", response={201: RefundOut, **ERRORS},
             summary="Refund whole or partial lines of a handed-over order")
def order_refund(request: HttpRequest, number: str, payload: RefundIn):
    scope = user_scope(request.user)
    order_id, store_id = _order_ref(scope, number)
    _require_seller(scope, store_id)
    return _run(request, "orders.refund", {"number": number, **payload.model_dump(mode="json")},
                lambda: refund_out(services.order_refund(
                    actor=request.user, order_id=order_id, lines=payload.line_requests(),
                    tenders=tender_requests(payload.tenders))), status=201)


# --- pickups --------------------------------------------------------------------------------------


@router.post("/pickups/verify", response={200: OrderOut, **ERRORS}, summary="Verify a pickup code (核销)")
def pickup_verify(request: HttpRequest, payload: PickupVerifyIn):
    """Hands over and completes the paid pickup order carrying the code at the store: 404 when no
    order carries it, 409 `pickup_code_used` when it was already verified."""
    scope = user_scope(request.user)
    store_id, _kind = _store_ref(scope, payload.store)
    _require_seller(scope, store_id)
    return _run(request, "pickups.verify", payload.model_dump(mode="json"), lambda: order_out(
        services.pickup_verify(actor=request.user, store_id=store_id, code=payload.code)))


# --- shifts ---------------------------------------------------------------------------------------


@router.post("/shifts", response={201: ShiftOut, **ERRORS}, summary="Open your shift at a store")
def shift_open(request: HttpRequest, payload: ShiftOpenIn):
    scope = user_scope(request.user)
    store_id, kind = _store_ref(scope, payload.store)
    _require_seller(scope, store_id)

    def create():
        shift = services.shift_open(actor=request.user, store_id=store_id, store_kind=kind,
                                    opening_float=payload.opening_float)
        return shift_out(selectors.shift_get(shift_id=shift.pk))

    return _run(request, "shifts.open", payload.model_dump(mode="json"), create, status=201)


def _shift_ref(scope: Scope, shift_id: int):
    shift = selectors.shift_get(shift_id=shift_id)
    if shift is None or not scope.sees(shift.store_id):
        raise NotFound(f"shift {shift_id} not found")
    return shift


@router.post("/shifts/{shift_id}/close", response={200: ShiftOut, **ERRORS},
             summary="Close a shift with the counted cash")
def shift_close(request: HttpRequest, shift_id: int, payload: ShiftCloseIn):
    scope = user_scope(request.user)
    shift = _shift_ref(scope, shift_id)
    _require_seller(scope, shift.store_id)
    may_close_others = scope.has_role(*MANAGE_ROLES, location_id=shift.store_id)

    def close():
        services.shift_close(actor=request.user, shift_id=shift_id, counted_cash=payload.counted_cash,
                             may_close_others=may_close_others)
        return shift_out(selectors.shift_get(shift_id=shift_id))

    return _run(request, "shifts.close", {"id": shift_id, **payload.model_dump(mode="json")}, close)


class ShiftFilters(Schema):
    store: str | None = None
    status: str | None = None
    limit: int = NField(50, ge=1, le=500)
    offset: int = NField(0, ge=0)


@router.get("/shifts", response={200: ShiftListOut, **ERRORS}, summary="List shifts in your scope")
def shift_list(request: HttpRequest, filters: Query[ShiftFilters]):
    scope = user_scope(request.user)
    store_id = _store_ref(scope, filters.store)[0] if filters.store else None
    items, count = selectors.shift_list(scope=scope, store_id=store_id, status=filters.status,
                                        limit=filters.limit, offset=filters.offset)
    return {"items": [shift_out(s) for s in items], "count": count}


@router.get("/shifts/{shift_id}", response={200: ShiftOut, **ERRORS}, summary="One shift")
def shift_get(request: HttpRequest, shift_id: int):
    return shift_out(_shift_ref(user_scope(request.user), shift_id))
