"""Write use-cases of the catalog: master data (audited) and price changes (history, audit, event).

A price change writes, in one transaction: a store override (``StorePrice``) for a location, or the
list price for the chain; a ``PriceChange`` history row; an audit entry; and the outbox event
``price.changed`` (partition = the location code, empty for the chain). A list price change dated in
the future waits as a pending ``PriceChange`` and is applied by the ``catalog.apply_list_prices`` job.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from mendian.core.errors import Conflict, InvalidInput
from mendian.core.money import to_money
from mendian.core.snapshot import changed, snapshot
from mendian.org.models import Location
from mendian.platform.audit import audit_record
from mendian.platform.batch import write_batch
from mendian.platform.outbox import outbox_publish

from .domain import ean13_is_valid
from .models import Barcode, Brand, Category, PriceChange, Product, Sku, StorePrice
from .pricing import price_at

VAT_RATES = {Decimal(r) for r in ("0", "3", "5", "6", "9", "13")}
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
SKU_UPDATABLE = {"name", "attributes", "status", "vat_rate", "unit", "price_unit_qty", "lot_tracked", "pack_size",
                 "plu", "volume_ml", "product"}
MAX_PRICE = Decimal("9999999999.99")


def _actor_user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) and hasattr(actor, "get_username") else None


def _check_code(field: str, code: str) -> None:
    if not CODE.match(code or ""):
        raise InvalidInput(f"{field} codes are letters, digits, '.', '_' or '-' (at most 32)",
                           details={"field": field, "value": code})


def _price(value: Any, field: str = "price") -> Decimal:
    try:
        price = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"{field} is not a number", details={"field": field}) from exc
    if not price.is_finite() or price < 0 or price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        raise InvalidInput(f"{field} must be between 0 and {MAX_PRICE} with at most 2 decimals",
                           details={"field": field, "value": str(value)})
    return to_money(price)


def barcode_check(code: str, kind: str = Barcode.Kind.EAN13) -> None:
    """EAN-13 barcodes need 13 digits and a right check digit; any 13-digit code is held to the check digit."""
    code = code or ""
    if kind == Barcode.Kind.EAN13 and not (len(code) == 13 and code.isdigit()):
        raise InvalidInput("an EAN-13 barcode has 13 digits", code="invalid_barcode", details={"field": "barcode"})
    if len(code) == 13 and code.isdigit() and not ean13_is_valid(code):
        raise InvalidInput(f"{code}: wrong EAN-13 check digit", code="invalid_barcode",
                           details={"field": "barcode", "value": code})
    if not code or len(code) > 32 or not code.isalnum():
        raise InvalidInput("a barcode is 1 to 32 letters or digits", code="invalid_barcode",
                           details={"field": "barcode"})


def category_create(*, actor: Any, code: str, name: str, parent: Category | None = None) -> Category:
    _check_code("category", code)
    with transaction.atomic():
        if Category.objects.filter(code=code).exists():
            raise Conflict(f"category {code} exists", code="duplicate_code", details={"field": "code"})
        cat = Category.objects.create(code=code, name=name, parent=parent)
        audit_record(actor=actor, action="category.create", object_type="category", object_ref=code,
                     after=snapshot(cat))
    return cat


def brand_create(*, actor: Any, code: str, name: str) -> Brand:
    _check_code("brand", code)
    with transaction.atomic():
        brand, created = Brand.objects.get_or_create(code=code, defaults={"name": name})
        if not created:
            raise Conflict(f"brand {code} exists", code="duplicate_code", details={"field": "code"})
        audit_record(actor=actor, action="brand.create", object_type="brand", object_ref=code, after=snapshot(brand))
    return brand


def product_create(*, actor: Any, code: str, name: str, category: Category, brand: Brand | None = None,
                   description: str = "") -> Product:
    _check_code("product", code)
    with transaction.atomic():
        if Product.objects.filter(code=code).exists():
            raise Conflict(f"product {code} exists", code="duplicate_code", details={"field": "code"})
        product = Product.objects.create(code=code, name=name, category=category, brand=brand,
                                         description=description)
        audit_record(actor=actor, action="product.create", object_type="product", object_ref=code,
                     after=snapshot(product))
    return product


def sku_fields_check(fields: dict[str, Any]) -> None:
    if "vat_rate" in fields and Decimal(str(fields["vat_rate"])) not in VAT_RATES:
        raise InvalidInput("VAT rate must be one of 13, 9, 6, 5, 3 or 0 (percent)", details={"field": "vat_rate"})
    if "unit" in fields and fields["unit"] not in Sku.Unit.values:
        raise InvalidInput(f"unknown unit {fields['unit']!r}", details={"field": "unit"})
    if "status" in fields and fields["status"] not in Sku.Status.values:
        raise InvalidInput(f"unknown status {fields['status']!r}", details={"field": "status"})
    for f in ("price_unit_qty", "pack_size"):
        if f in fields and (not isinstance(fields[f], int) or fields[f] < 1):
            raise InvalidInput(f"{f} is a whole number of base units, at least 1", details={"field": f})
    plu = fields.get("plu")
    if plu not in (None, "") and not (len(plu) == 5 and plu.isdigit()):
        raise InvalidInput("a scale PLU has 5 digits", details={"field": "plu"})
    if "attributes" in fields and not isinstance(fields["attributes"], dict):
        raise InvalidInput("attributes are an object such as {\"size\": \"M\"}", details={"field": "attributes"})


def sku_create(*, actor: Any, code: str, product: Product, name: str, list_price: Any,
               vat_rate: Any = Decimal("13"), unit: str = Sku.Unit.PIECE, price_unit_qty: int | None = None,
               lot_tracked: bool = False, pack_size: int = 1, plu: str | None = None,
               attributes: dict[str, Any] | None = None, status: str = Sku.Status.ACTIVE, volume_ml: int = 0,
               barcodes: Iterable[str] = ()) -> Sku:
    """A new SKU with its barcodes; its list price opens the price history. Audited."""
    _check_code("sku", code)
    price = _price(list_price, "list_price")
    if price_unit_qty is None:
        price_unit_qty = 1000 if unit == Sku.Unit.GRAM else 1
    fields = {"vat_rate": Decimal(str(vat_rate)), "unit": unit, "price_unit_qty": price_unit_qty,
              "pack_size": pack_size, "plu": plu or None, "attributes": attributes or {}, "status": status}
    sku_fields_check(fields)
    codes = list(dict.fromkeys(barcodes))
    for bc in codes:
        barcode_check(bc)
    now = timezone.now()
    with transaction.atomic(), write_batch():
        try:
            with transaction.atomic():
                sku = Sku.objects.create(code=code, product=product, name=name, list_price=price,
                                         lot_tracked=lot_tracked, volume_ml=volume_ml, **fields)
                Barcode.objects.bulk_create([Barcode(code=bc, sku=sku) for bc in codes])
        except IntegrityError as exc:
            raise Conflict("the SKU code, PLU or a barcode is already in use", code="duplicate_code",
                           details={"field": "code"}) from exc
        PriceChange.objects.create(sku=sku, old_price=None, new_price=price, valid_from=now,
                                   changed_by=_actor_user(actor), applied_at=now)
        audit_record(actor=actor, action="sku.create", object_type="sku", object_ref=code,
                     after={**snapshot(sku), "barcodes": codes})
    return sku


def sku_update(*, actor: Any, sku: Sku, **fields: Any) -> Sku:
    """Change a SKU's master data. Prices change only through ``price_change``. Audited."""
    if "list_price" in fields:
        raise InvalidInput("change prices with a price change (POST /api/v1/prices)", details={"field": "list_price"})
    unknown = set(fields) - SKU_UPDATABLE
    if unknown:
        raise InvalidInput(f"cannot change {sorted(unknown)}", details={"fields": sorted(unknown)})
    sku_fields_check(fields)
    with transaction.atomic():
        sku = Sku.objects.select_for_update().get(pk=sku.pk)
        before = snapshot(sku)
        for k, v in fields.items():
            setattr(sku, k, v)
        try:
            with transaction.atomic():
                sku.save(update_fields=list(fields) or None)
        except IntegrityError as exc:
            raise Conflict("the PLU is already in use", code="duplicate_code", details={"field": "plu"}) from exc
        b, a = changed(before, snapshot(sku))
        if a:
            audit_record(actor=actor, action="sku.update", object_type="sku", object_ref=sku.code, before=b, after=a)
    return sku


def barcode_add(*, actor: Any, sku: Sku, code: str, kind: str = Barcode.Kind.EAN13) -> Barcode:
    barcode_check(code, kind)
    with transaction.atomic():
        try:
            with transaction.atomic():
                barcode = Barcode.objects.create(code=code, sku=sku, kind=kind)
        except IntegrityError as exc:
            raise Conflict(f"barcode {code} is already in use", code="duplicate_barcode",
                           details={"field": "barcode"}) from exc
        audit_record(actor=actor, action="sku.barcode_add", object_type="sku", object_ref=sku.code,
                     after={"barcode": code, "kind": kind})
    return barcode


def barcode_remove(*, actor: Any, barcode: Barcode) -> None:
    with transaction.atomic():
        sku_code = Sku.objects.filter(pk=barcode.sku_id).values_list("code", flat=True).get()
        Barcode.objects.filter(pk=barcode.pk).delete()
        audit_record(actor=actor, action="sku.barcode_remove", object_type="sku", object_ref=sku_code,
                     before={"barcode": barcode.code, "kind": barcode.kind})


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def price_change_check(*, new_price: Any, location: Location | None, valid_from: dt.datetime | None,
                       valid_to: dt.datetime | None) -> Decimal:
    """The rules of a price change, without writing (also used by the admin form). Returns the price."""
    price = _price(new_price, "price")
    valid_from = _aware(valid_from) or timezone.now()
    valid_to = _aware(valid_to)
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidInput("valid_to must be after valid_from", details={"field": "valid_to"})
    if location is None and valid_to is not None:
        raise InvalidInput("a list price has no end; a temporary price is a store override or a promotion",
                           details={"field": "valid_to"})
    if location is not None and location.kind != Location.Kind.STORE:
        raise InvalidInput(f"{location.code} is not a store: only stores sell", details={"field": "location"})
    return price


def price_change(*, sku: Sku, new_price: Any, location: Location | None = None,
                 valid_from: dt.datetime | None = None, valid_to: dt.datetime | None = None,
                 user: Any = None) -> PriceChange:
    """Change the price of ``sku``: at ``location`` (a store override over [valid_from, valid_to)) or, with
    no location, its list price for the chain from ``valid_from`` (default now; a future date waits for
    the catalog job). Writes history, audit and the ``price.changed`` event in one transaction."""
    now = timezone.now()
    price = price_change_check(new_price=new_price, location=location, valid_from=valid_from, valid_to=valid_to)
    valid_from = _aware(valid_from) or now
    valid_to = _aware(valid_to)
    with transaction.atomic(), write_batch():
        sku = Sku.objects.select_for_update().get(pk=sku.pk)  # serialise changes of one SKU's price
        if location is None:
            old = sku.list_price
            applied = valid_from <= now
            if applied:
                sku.list_price = price
                sku.save(update_fields=["list_price"])
        else:
            current = price_at(location_id=location.pk, sku_code=sku.code, at=valid_from)
            old = current.price if current else sku.list_price
            StorePrice.objects.create(sku=sku, location=location, price=price, valid_from=valid_from,
                                      valid_to=valid_to)
            applied = True
        change = PriceChange.objects.create(
            sku=sku, location=location, old_price=old, new_price=price, valid_from=valid_from, valid_to=valid_to,
            changed_by=_actor_user(user), applied_at=now if applied else None)
        where = location.code if location else None
        audit_record(actor=user, action="price.change", object_type="sku", object_ref=sku.code,
                     before={"location": where, "price": old},
                     after={"location": where, "price": price, "valid_from": valid_from, "valid_to": valid_to})
        outbox_publish(topic="price.changed", partition=location.code if location else "", payload={
            "change_id": change.pk, "sku": sku.code, "location": where, "old_price": old, "new_price": price,
            "valid_from": valid_from, "valid_to": valid_to, "applied": applied,
        })
    return change


def list_prices_apply_due(*, now: dt.datetime | None = None) -> int:
    """Apply pending list price changes whose date has come, oldest first. Returns how many."""
    now = now or timezone.now()
    applied = 0
    pending = list(PriceChange.objects.filter(location__isnull=True, applied_at__isnull=True, valid_from__lte=now)
                   .order_by("valid_from", "id").values_list("id", flat=True)[:1000])
    for change_id in pending:
        with transaction.atomic(), write_batch():
            change = PriceChange.objects.select_for_update().select_related("sku").filter(
                pk=change_id, applied_at__isnull=True).first()
            if change is None:  # another worker applied it
                continue
            sku = Sku.objects.select_for_update().get(pk=change.sku_id)
            old = sku.list_price
            sku.list_price = change.new_price
            sku.save(update_fields=["list_price"])
            change.applied_at = now
            change.save(update_fields=["applied_at"])
            audit_record(actor="job:catalog.apply_list_prices", action="price.apply", object_type="sku",
                         object_ref=sku.code, before={"location": None, "price": old},
                         after={"location": None, "price": change.new_price, "change_id": change.pk})
            outbox_publish(topic="price.applied", partition="", payload={
                "change_id": change.pk, "sku": sku.code, "location": None, "old_price": old,
                "new_price": change.new_price})
            applied += 1
    return applied
