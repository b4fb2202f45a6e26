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

from django.db import connection
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


_BY_CODES_SQL = """
SELECT k.id, k.code, k.name, k.list_price, k.price_unit_qty, k.vat_rate, k.unit, k.lot_tracked, k.status,
  (SELECT p.price FROM {price} p
   WHERE p.sku_id = k.id AND p.location_id = %s AND p.valid_from <= %s AND (p.valid_to IS NULL OR p.valid_to > %s)
   ORDER BY p.valid_from DESC, p.id DESC LIMIT 1)
FROM {sku} k WHERE {where}
"""


def _money(value) -> Decimal:
    """A price column as Decimal (SQLite hands back floats or ints for decimal columns)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _by_codes(location_id: int, codes: list[str], at: dt.datetime) -> dict[str, SkuPrice]:
    """The checkout's path: one constant-text statement on PostgreSQL (``= ANY(%s)``), so that it is
    prepared once per connection; the ORM would spend more time composing it than the database
    spends running it."""
    tables = {"price": connection.ops.quote_name(StorePrice._meta.db_table),
              "sku": connection.ops.quote_name(Sku._meta.db_table)}
    at_db = connection.ops.adapt_datetimefield_value(at)
    if connection.vendor == "postgresql":
        sql = _BY_CODES_SQL.format(where="k.code = ANY(%s)", **tables)
        params: list = [location_id, at_db, at_db, codes]
    else:
        sql = _BY_CODES_SQL.format(where=f"k.code IN ({', '.join(['%s'] * len(codes))})", **tables)
        params = [location_id, at_db, at_db, *codes]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    out: dict[str, SkuPrice] = {}
    for sku_id, code, name, list_price, unit_qty, vat, unit, lot_tracked, status, store_price in rows:
        out[code] = SkuPrice(
            sku_id=sku_id, code=code, name=name,
            price=_money(store_price if store_price is not None else list_price),
            price_unit_qty=unit_qty, vat_rate=_money(vat), unit=unit, lot_tracked=bool(lot_tracked),
            active=status == Sku.Status.ACTIVE, source="store" if store_price is not None else "list",
        )
    return out


def price_lookup(*, location_id: int, sku_codes: Iterable[str] | None = None, sku_ids: Iterable[int] | None = None,
                 at: dt.datetime | None = None) -> dict[str, SkuPrice]:
    """Prices of the given SKUs (by code or by id) at ``location_id`` at ``at`` (default now), keyed by
    SKU code. Unknown codes are simply absent: the caller names the offending field."""
    at = at or timezone.now()
    if sku_codes is not None and sku_ids is None:
        codes = list(dict.fromkeys(sku_codes))
        return _by_codes(location_id, codes, at) if codes else {}
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
