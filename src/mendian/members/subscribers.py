"""Order events → members: growth value and points when an order is paid, proportional clawback and
return of redeemed points on a refund, coupons and points given back when an order is cancelled or
fully refunded, or expires unpaid. Every handler is idempotent (per order, per refund number), so at-least-once
delivery is safe; a business refusal (unknown member, …) is logged and never blocks the partition.

The member comes from the payload's ``member`` (or ``member_code``) or, failing that, from the
order's ``member_code`` column (a read of the sales table, never a write).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from mendian.core.errors import MendianError
from mendian.core.money import allocate, to_money
from mendian.platform.models import OutboxEvent
from mendian.platform.outbox import subscriber

from . import services
from .models import Member, PointsEntry

log = logging.getLogger(__name__)


def _member_code(payload: dict[str, Any]) -> str:
    code = payload.get("member") or payload.get("member_code") or ""
    if not code and payload.get("number"):
        from mendian.sales.models import Order

        code = Order.objects.filter(number=payload["number"]).values_list("member_code", flat=True).first() or ""
    return code if code and Member.objects.filter(code=code).exists() else ""


def _category_amounts(lines: list[dict[str, Any]], base: Decimal) -> dict[str, Decimal]:
    """Line amounts per category code, scaled so they sum exactly to ``base`` (what money paid)."""
    from mendian.catalog.models import Sku

    lines = [ln for ln in lines if to_money(ln.get("amount", "0")) > 0]
    if not lines or base <= 0:
        return {}
    cats = dict(Sku.objects.filter(code__in={ln["sku"] for ln in lines})
                .values_list("code", "product__category__code"))
    parts = allocate(base, [to_money(ln["amount"]) for ln in lines])
    out: dict[str, Decimal] = {}
    for ln, part in zip(lines, parts, strict=True):
        cat = cats.get(ln["sku"])
        if cat:
            out[cat] = out.get(cat, Decimal(0)) + part
    return out


def _handle(fn, event: OutboxEvent) -> None:
    try:
        fn(event.payload)
    except MendianError as exc:
        log.warning("members: %s for %s refused: %s", event.topic, event.payload.get("number"), exc.message)


def _paid(payload: dict[str, Any]) -> None:
    code = _member_code(payload)
    if not code:
        return
    number = payload["number"]
    total = to_money(payload.get("total", "0"))
    redeemed_value = PointsEntry.objects.filter(member__code=code, order_number=number,
                                                kind=PointsEntry.Kind.REDEEM).values_list("amount", flat=True).first()
    base = max(Decimal(0), total - (redeemed_value or 0))
    services.member_order_paid(member_code=code, order_number=number, amount=base,
                               store_code=payload.get("store", ""), channel=payload.get("channel", "pos"),
                               category_amounts=_category_amounts(payload.get("lines", []), base) or None)


def _refunded(payload: dict[str, Any]) -> None:
    code = _member_code(payload)
    refund = payload.get("refund") or {}
    total = to_money(payload.get("total", "0"))
    if not code or not refund or total <= 0:
        return
    services.points_refund_clawback(member=code, order_number=payload["number"],
                                    refunded_amount=to_money(refund["amount"]), original_amount=total,
                                    refund_number=refund.get("number", ""))
    if to_money(payload.get("refunded_total", "0")) >= total:
        services.coupon_restore(order_number=payload["number"])


def _cancelled(payload: dict[str, Any]) -> None:
    code = _member_code(payload)
    services.coupon_restore(order_number=payload["number"])
    total = to_money(payload.get("total", "0"))
    if code and total > 0:
        services.points_refund_clawback(member=code, order_number=payload["number"], refunded_amount=total,
                                        original_amount=total, refund_number=f"cancel:{payload['number']}")


@subscriber("order.paid", name="members.order_paid")
def on_order_paid(event: OutboxEvent) -> None:
    _handle(_paid, event)


@subscriber("order.refunded", name="members.order_refunded")
def on_order_refunded(event: OutboxEvent) -> None:
    _handle(_refunded, event)


@subscriber("order.cancelled", name="members.order_cancelled")
def on_order_cancelled(event: OutboxEvent) -> None:
    _handle(_cancelled, event)


@subscriber("order.expired", name="members.order_expired")
def on_order_expired(event: OutboxEvent) -> None:
    """An unpaid order lapsed: its coupons and redeemed points come back (nothing was earned)."""
    _handle(_cancelled, event)
