"""Request and response shapes of the sales API. Money is a decimal string with two places; times
are ISO 8601 in the chain's time zone. Validators check shape only: the rules (quantities above
zero, tenders covering the total, …) live in ``domain.py`` so that every caller gets them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from ninja import Field, Schema

from mendian.core.money import money_str

from .domain import LineRequest, RefundRequestLine, TenderRequest
from .services import OrderResult, RefundResult


class LineIn(Schema):
    sku: str = Field(..., max_length=64, description="SKU code")
    quantity: int = Field(..., description="base units (pieces, or grams for goods by weight); above zero")


class TenderIn(Schema):
    method: str = Field(..., max_length=16, description="cash | card | wechat_pay | alipay")
    amount: Decimal = Field(..., max_digits=14, decimal_places=2, description="above zero; cash may exceed the total")
    reference: str = Field("", max_length=64, description="the terminal's or payment provider's reference")


class OrderIn(Schema):
    store: str = Field(..., max_length=32, description="store code, e.g. KM001")
    channel: str = Field(..., max_length=16, description="pos | online | miniprogram | app")
    fulfilment: str | None = Field(None, max_length=16,
                                   description="in_store | pickup | delivery (default: in_store for pos, else pickup)")
    lines: list[LineIn]
    tenders: list[TenderIn] = Field(default_factory=list, description="required for pos")
    member: str = Field("", max_length=32, description="member code (会员); prices for the member's tier")
    coupons: list[str] = Field(default_factory=list, max_length=20, description="coupon codes from the member's wallet")
    points: int = Field(0, ge=0, description="member points to redeem (a points tender; capped by the chain's share)")

    def line_requests(self) -> list[LineRequest]:
        return [LineRequest(sku=ln.sku, quantity=ln.quantity) for ln in self.lines]

    def fulfilment_or_default(self) -> str:
        return self.fulfilment or ("in_store" if self.channel == "pos" else "pickup")


def tender_requests(tenders: list[TenderIn]) -> list[TenderRequest]:
    return [TenderRequest(method=t.method, amount=t.amount, reference=t.reference or "") for t in tenders]


class CartIn(Schema):
    store: str = Field(..., max_length=32, description="store code, e.g. KM001")
    channel: str = Field(..., max_length=16, description="pos | online | miniprogram | app")
    lines: list[LineIn]
    member: str = Field("", max_length=32)
    coupons: list[str] = Field(default_factory=list, max_length=20)
    points: int = Field(0, ge=0)

    def line_requests(self) -> list[LineRequest]:
        return [LineRequest(sku=ln.sku, quantity=ln.quantity) for ln in self.lines]


class AdjustmentOut(Schema):
    rule: str
    kind: str
    lines: list[int]
    amount: str
    reason: str
    units: int = 0


class HintOut(Schema):
    promotion: str
    add_amount: str
    saving: str
    message: str


class CartLineOut(Schema):
    line: int
    sku: str
    quantity: int
    unit_price: str
    list_amount: str
    discount: str
    amount: str
    gift_of: str = ""


class CartOut(Schema):
    store: str
    channel: str
    member: str
    lines: list[CartLineOut]
    subtotal: str
    discount_total: str
    total: str
    points_used: int
    points_value: str
    payable: str
    coupons_used: list[str]
    adjustments: list[AdjustmentOut]
    not_applied: list[dict[str, Any]]
    hints: list[HintOut]
    notes: list[str] = Field(default_factory=list, description="e.g. flash-sale units beyond the quota at the regular price")


class PayIn(Schema):
    tenders: list[TenderIn]


class RefundLineIn(Schema):
    line: int = Field(..., description="the line's number within the order")
    quantity: int


class RefundIn(Schema):
    lines: list[RefundLineIn]
    tenders: list[TenderIn] = Field(default_factory=list,
                                    description="how the money goes out; default: back the way it came")

    def line_requests(self) -> list[RefundRequestLine]:
        return [RefundRequestLine(line=ln.line, quantity=ln.quantity) for ln in self.lines]


class PickupVerifyIn(Schema):
    store: str = Field(..., max_length=32)
    code: str = Field(..., max_length=16, description="the customer's 6-digit pickup code")


class ShiftOpenIn(Schema):
    store: str = Field(..., max_length=32)
    opening_float: Decimal = Field(..., max_digits=14, decimal_places=2)


class ShiftCloseIn(Schema):
    counted_cash: Decimal = Field(..., max_digits=14, decimal_places=2)


class LineOut(Schema):
    line: int
    sku: str
    quantity: int
    unit_price: str
    price_unit_qty: int
    discount: str
    amount: str
    tax: str
    vat_rate: str
    refunded_qty: int


class TenderOut(Schema):
    method: str
    amount: str
    reference: str
    created_at: str
    refund: str | None = None


class OrderOut(Schema):
    number: str
    store: str
    channel: str
    fulfilment: str
    status: str
    lines: list[LineOut]
    subtotal: str
    discount_total: str
    total: str
    tax_total: str
    paid_total: str
    change: str
    refunded_total: str
    pickup_code: str | None
    tenders: list[TenderOut]
    refunds: list[str] = Field(default_factory=list, description="refund document numbers")
    member: str = ""
    points_used: int = 0
    points_value: str = "0.00"
    adjustments: list[AdjustmentOut] = Field(default_factory=list)
    hints: list[HintOut] = Field(default_factory=list)
    not_applied: list[dict[str, Any]] = Field(default_factory=list, description="at creation: rules that did not apply, why")
    notes: list[str] = Field(default_factory=list,
                             description="at creation: e.g. flash-sale units beyond the quota charged at the regular price")
    shift: int | None
    created_at: str
    paid_at: str | None
    expires_at: str | None
    fulfilled_at: str | None
    completed_at: str | None
    cancelled_at: str | None


class OrderListOut(Schema):
    items: list[OrderOut]
    count: int


class RefundLineOut(Schema):
    line: int
    sku: str
    quantity: int
    amount: str
    tax: str | None = None


class RefundOut(Schema):
    number: str
    order: str
    amount: str
    lines: list[RefundLineOut]
    tenders: list[TenderOut]
    created_at: str
    order_detail: OrderOut


class ShiftOut(Schema):
    id: int
    store: str
    user: str
    status: str
    opening_float: str
    opened_at: str
    closed_at: str | None
    expected_cash: str | None
    counted_cash: str | None
    variance: str | None


class ShiftListOut(Schema):
    items: list[ShiftOut]
    count: int


def iso(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="milliseconds") if value else None


def _m(value) -> str | None:
    return None if value is None else money_str(value)


def order_out(result: OrderResult) -> dict[str, Any]:
    """The order as JSON-ready primitives (stored as is for idempotent replays)."""
    o = result.order
    refund_numbers = {r.pk: r.number for r in result.refunds}
    return {
        "number": o.number, "store": result.store_code, "channel": o.channel, "fulfilment": o.fulfilment,
        "status": o.status,
        "lines": [{"line": ln.line_no, "sku": ln.sku_code, "quantity": ln.quantity, "unit_price": money_str(ln.unit_price),
                   "price_unit_qty": ln.price_unit_qty, "discount": money_str(ln.discount),
                   "amount": money_str(ln.amount), "tax": money_str(ln.tax), "vat_rate": str(ln.vat_rate),
                   "refunded_qty": ln.refunded_qty} for ln in result.lines],
        "subtotal": money_str(o.subtotal), "discount_total": money_str(o.discount_total), "total": money_str(o.total),
        "tax_total": money_str(o.tax_total), "paid_total": money_str(o.paid_total), "change": money_str(o.change),
        "refunded_total": money_str(o.refunded_total), "pickup_code": o.pickup_code or None,
        "tenders": [{"method": t.method, "amount": money_str(t.amount), "reference": t.reference,
                     "created_at": iso(t.created_at), "refund": refund_numbers.get(t.refund_id) if t.refund_id else None}
                    for t in result.tenders],
        "refunds": [r.number for r in result.refunds],
        "member": o.member_code, "points_used": o.points_used, "points_value": money_str(o.points_value),
        "adjustments": o.adjustments or [], "hints": result.hints, "not_applied": result.not_applied,
        "notes": result.notes,
        "shift": o.shift_id, "created_at": iso(o.created_at), "paid_at": iso(o.paid_at),
        "expires_at": iso(o.expires_at) if o.status == "pending" else None, "fulfilled_at": iso(o.fulfilled_at),
        "completed_at": iso(o.completed_at), "cancelled_at": iso(o.cancelled_at),
    }


def hints_out(result: Any) -> list[dict[str, Any]]:
    return [{"promotion": h.promotion, "add_amount": money_str(h.add_amount), "saving": money_str(h.saving),
             "message": h.message} for h in result.hints]


def cart_out(*, store: str, channel: str, lines: list, pricing: Any) -> dict[str, Any]:
    """The price of a cart as the order would take it (``lines``: sales.domain.PricedLine)."""
    from .services import _adjustments

    r = pricing.result
    list_amounts = {}
    if r is not None:
        list_amounts = {i + 1: pl.list_amount for i, pl in enumerate(r.lines)}
    subtotal = sum((ln.amount + ln.discount for ln in lines), Decimal("0"))
    discount = sum((ln.discount for ln in lines), Decimal("0"))
    total = sum((ln.amount for ln in lines), Decimal("0"))
    points_value = r.points_value if r is not None and r.points_used else Decimal("0")
    return {
        "store": store, "channel": channel, "member": pricing.member_code,
        "lines": [{"line": ln.line_no, "sku": ln.sku_code, "quantity": ln.quantity,
                   "unit_price": money_str(ln.unit_price),
                   "list_amount": money_str(list_amounts.get(ln.line_no, ln.amount + ln.discount) if not ln.gift_of
                                            else Decimal("0")),
                   "discount": money_str(ln.discount), "amount": money_str(ln.amount), "gift_of": ln.gift_of}
                  for ln in lines],
        "subtotal": money_str(subtotal), "discount_total": money_str(discount), "total": money_str(total),
        "points_used": r.points_used if r is not None else 0, "points_value": money_str(points_value),
        "payable": money_str(total - points_value), "coupons_used": list(r.coupons_used) if r is not None else [],
        "adjustments": _adjustments(r) if r is not None else [],
        "not_applied": [{"promotion": n.promotion, "reason_code": n.reason_code, "reason": n.reason}
                        for n in r.not_applied] if r is not None else [],
        "hints": hints_out(r) if r is not None else [],
        "notes": list(r.notes) if r is not None else [],
    }


def refund_out(result: RefundResult) -> dict[str, Any]:
    r = result.refund
    return {
        "number": r.number, "order": result.order.order.number, "amount": money_str(r.amount), "lines": r.lines,
        "tenders": [{"method": t.method, "amount": money_str(t.amount), "reference": t.reference,
                     "created_at": iso(t.created_at), "refund": r.number} for t in result.tenders],
        "created_at": iso(r.created_at), "order_detail": order_out(result.order),
    }


def shift_out(s) -> dict[str, Any]:
    return {"id": s.pk, "store": s.store.code, "user": s.user.username, "status": s.status,
            "opening_float": money_str(s.opening_float), "opened_at": iso(s.opened_at), "closed_at": iso(s.closed_at),
            "expected_cash": _m(s.expected_cash), "counted_cash": _m(s.counted_cash), "variance": _m(s.variance)}
