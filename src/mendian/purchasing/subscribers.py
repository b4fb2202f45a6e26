"""Outbox subscribers: purchase orders reach the supplier by e-mail (Django's mail backend)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from mendian.platform.models import OutboxEvent
from mendian.platform.outbox import subscriber

from .models import PurchaseOrder


def _order_text(order: PurchaseOrder) -> str:
    from .selectors import order_total

    lines = [f"采购单 Purchase order {order.number}",
             f"供应商 Supplier: {order.supplier.code} {order.supplier.name}",
             f"收货地点 Deliver to: {order.location.code} {order.location.name} {order.location.address}".rstrip(),
             f"要求到货 Expected: {order.expected_date.isoformat() if order.expected_date else '-'}", "",
             "SKU | supplier item | quantity | packs | unit cost (excl. VAT)"]
    for ln in order.lines.select_related("sku").order_by("line_no"):
        item = (ln.suggestion or {}).get("supplier_item_code", "")
        lines.append(f"{ln.sku.code} {ln.sku.name} | {item} | {ln.quantity} | {ln.quantity // max(ln.pack_size, 1)}"
                     f" | {ln.unit_cost.normalize():f}")
    lines += ["", f"合计 Total (excl. VAT): {order_total(order)}",
              "请在供应商门户确认数量与日期 Please confirm quantities and dates in the supplier portal."]
    return "\n".join(lines)


@subscriber("purchase_order.sent", name="purchasing.email_order")
def email_sent_order(event: OutboxEvent) -> None:
    """E-mail the order once: ``emailed_at`` is set in the delivery transaction, before sending, so a
    failed send rolls the mark back and the event is retried."""
    from .services import purchase_order_mark_emailed

    order = (PurchaseOrder.objects.select_related("supplier", "location")
             .filter(number=event.payload.get("number")).first())
    if order is None or not order.supplier.email:
        return
    if not purchase_order_mark_emailed(order_id=order.pk):
        return
    send_mail(subject=f"采购单 Purchase order {order.number}", message=_order_text(order),
              from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[order.supplier.email])


@subscriber("purchase_order.cancelled", name="purchasing.email_cancellation")
def email_cancellation(event: OutboxEvent) -> None:
    payload = event.payload
    if not payload.get("was_sent") or not payload.get("email"):
        return
    send_mail(subject=f"采购单取消 Purchase order {payload['number']} cancelled",
              message=f"采购单 {payload['number']} 已取消。Purchase order {payload['number']} is cancelled.\n"
                      f"{payload.get('reason') or ''}",
              from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[payload["email"]])
