"""Stock test helpers: put opening stock on a balance through the ledger (never by writing balances)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mendian.inventory.models import StockLevel
from mendian.inventory.services import ReceiptLine, stock_receive


def receive(location, sku, quantity: int, cost: str | Decimal = "5.00", *, lot: str | None = None,
            expiry: dt.date | None = None, ref: str = "GRN-T") -> None:
    stock_receive(location_id=location.pk, lines=[ReceiptLine(sku.pk, quantity, Decimal(cost), lot, expiry)],
                  doc_type="test", doc_ref=ref, user_id=None)


def level(location, sku, lot_code: str | None = None) -> StockLevel:
    qs = StockLevel.objects.filter(location=location, sku=sku)
    return qs.get(lot__code=lot_code) if lot_code else qs.get(lot__isnull=True)


def totals(location, sku) -> tuple[int, int]:
    """(on hand, reserved) summed over lots."""
    oh = rs = 0
    for lv in StockLevel.objects.filter(location=location, sku=sku):
        oh += lv.on_hand
        rs += lv.reserved
    return oh, rs
