"""The price of SKUs at a store at a time: the valid per-store override, else the list price.

One query for any number of SKUs (the checkout's hot path): the SKU rows with the store price
chosen by a correlated subquery (latest ``valid_from`` whose window ``[valid_from, valid_to)``
contains the time; ties to the latest row). Prices are tax-inclusive, per ``price_unit_qty`` base
units (1 for pieces, 1000 for goods sold by weight in grams).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from .models import Sku, StorePrice


@dataclass(frozen=True)
class SkuPrice:
    sku_id: int
    code: str
    name: str
    price: Decimal  # tax-inclusive, per price_unit_qty base units
    price_unit_qty: int
    vat_rate: Decimal  # percent
    unit: str
    lot_tracked: bool
    active: bool
    source: str  # "store" (a valid override) or "list"


def _store_price_subquery(location_id: int, at: dt.datetime) -> Subquery:
    valid = (
        StorePrice.objects.filter(sku=OuterRef("pk"), location_id=location_id, valid_from__lte=at)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
        .order_by("-valid_from", "-id")
        .values("price")[:1]
    )
    return Subquery(valid)


def price_lookup(*, location_id: int, sku_codes: Iterable[str] | None = None, sku_ids: Iterable[int] | None = None,
                 at: dt.datetime | None = None) -> dict[str, SkuPrice]:
    """Prices of the given SKUs (by code or by id) at ``location_id`` at ``at`` (default now), keyed by
    SKU code. Unknown codes are simply absent: the caller names the offending field."""
    at = at or timezone.now()
    qs = Sku.objects.all()
    if sku_codes is not None:
        codes = list(dict.fromkeys(sku_codes))
        if not codes:
            return {}
        qs = qs.filter(code__in=codes)
    if sku_ids is not None:
        ids = list(dict.fromkeys(sku_ids))
        if not ids:
            return {}
        qs = qs.filter(pk__in=ids)
    rows = qs.annotate(store_price=_store_price_subquery(location_id, at)).values_list(
        "id", "code", "name", "list_price", "price_unit_qty", "vat_rate", "unit", "lot_tracked", "status",
        "store_price",
    )
    out: dict[str, SkuPrice] = {}
    for sku_id, code, name, list_price, unit_qty, vat, unit, lot_tracked, status, store_price in rows:
        out[code] = SkuPrice(
            sku_id=sku_id, code=code, name=name,
            price=Decimal(store_price if store_price is not None else list_price),
            price_unit_qty=unit_qty, vat_rate=Decimal(vat), unit=unit, lot_tracked=lot_tracked,
            active=status == Sku.Status.ACTIVE, source="store" if store_price is not None else "list",
        )
    return out


def price_at(*, location_id: int, sku_code: str, at: dt.datetime | None = None) -> SkuPrice | None:
    """One SKU's price at a store (None for an unknown code)."""
    return price_lookup(location_id=location_id, sku_codes=[sku_code], at=at).get(sku_code)
