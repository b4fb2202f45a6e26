"""SKUs, barcodes (including scale labels), the category tree and price changes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.schema import Field

from mendian.core.errors import PermissionDenied, unknown_code
from mendian.core.money import money_str
from mendian.org.models import Location
from mendian.org.scope import user_scope
from mendian.org.selectors import location_get
from mendian.platform.idempotency import idempotent_create
from mendian.platform.schemas import ErrorOut

from .models import PriceChange, Sku
from .pricing import price_at
from .schemas import (
    BarcodeOut,
    CategoryOut,
    PriceChangeIn,
    PriceHistoryOut,
    SkuDetailOut,
    SkuListOut,
    SkuOut,
    StorePriceOut,
)
from .selectors import (
    barcode_resolve,
    category_tree,
    sku_get,
    sku_list,
    sku_price_history,
    sku_store_prices,
)
from .services import price_change

router = Router(tags=["catalog"])


class SkuFilter(Schema):
    q: str | None = Field(None, max_length=100, description="part of the code or name, or a whole barcode")
    category: str | None = Field(None, max_length=32, description="category code; includes sub-categories")
    status: Sku.Status | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


def _barcodes(sku: Sku) -> list:
    prefetched = getattr(sku, "barcode_list", None)  # sku_queryset() prefetches them
    return prefetched if prefetched is not None else list(sku.barcodes.order_by("id"))


def sku_fields(sku: Sku) -> dict[str, Any]:
    product = sku.product
    return {
        "code": sku.code, "name": sku.name, "product": product.code, "product_name": product.name,
        "category": product.category.code, "brand": product.brand.code if product.brand else None,
        "attributes": sku.attributes or {}, "barcodes": [b.code for b in _barcodes(sku)],
        "price": money_str(sku.list_price), "vat_rate": str(sku.vat_rate), "unit": sku.unit,
        "price_unit_qty": sku.price_unit_qty, "lot_tracked": sku.lot_tracked, "status": sku.status,
        "pack_size": sku.pack_size, "plu": sku.plu,
    }


def price_change_out(c: PriceChange) -> PriceHistoryOut:
    return PriceHistoryOut(
        id=c.pk, location=c.location.code if c.location_id else None,
        old_price=money_str(c.old_price) if c.old_price is not None else None, new_price=money_str(c.new_price),
        valid_from=c.valid_from, valid_to=c.valid_to, changed_by=c.changed_by.get_username() if c.changed_by else None,
        changed_at=c.changed_at, applied=c.applied_at is not None,
    )


@router.get("/skus", response={200: SkuListOut, 401: ErrorOut, 422: ErrorOut})
def skus(request: HttpRequest, filters: Query[SkuFilter]):
    """SKUs with barcodes and list price (filters: q, category with its sub-categories, status)."""
    qs = sku_list(q=filters.q, category=filters.category, status=filters.status)
    count = qs.count()
    items = [sku_fields(s) for s in qs[filters.offset: filters.offset + filters.limit]]
    return {"items": items, "count": count}


@router.get("/skus/{code}", response={200: SkuDetailOut, 401: ErrorOut, 404: ErrorOut})
def sku(request: HttpRequest, code: str, location: str | None = None):
    """One SKU with its price history and store overrides (those of locations in the caller's scope)."""
    scope = user_scope(request.user)
    s = sku_get(code=code)
    effective = None
    if location:
        loc = location_get(scope=scope, code=location)
        found = price_at(location_id=loc.pk, sku_code=s.code)
        effective = money_str(found.price) if found else None
    return SkuDetailOut(
        **sku_fields(s),
        price_history=[price_change_out(c) for c in sku_price_history(scope=scope, sku=s)],
        store_prices=[StorePriceOut(location=p.location.code, price=money_str(p.price), valid_from=p.valid_from,
                                    valid_to=p.valid_to) for p in sku_store_prices(scope=scope, sku=s)],
        effective_price=effective,
    )


@router.get("/barcodes/{barcode}", response={200: BarcodeOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut})
def barcode(request: HttpRequest, barcode: str):
    """Resolve a scanned code: a registered barcode, or an in-store scale label (prefix 2) by PLU with
    the weight (grams) or price it carries. A wrong EAN-13 check digit is a 422 ``invalid_barcode``."""
    m = barcode_resolve(code=barcode)
    return BarcodeOut(barcode=m.barcode, kind=m.kind, sku=SkuOut(**sku_fields(m.sku)), weight_g=m.weight_g,
                      price=money_str(m.price) if m.price is not None else None)


@router.get("/categories", response={200: list[CategoryOut], 401: ErrorOut})
def categories(request: HttpRequest):
    """The category tree."""
    return category_tree()


@router.post("/prices", response={201: PriceHistoryOut, 401: ErrorOut, 403: ErrorOut, 409: ErrorOut,
                                   422: ErrorOut})
def prices(request: HttpRequest, payload: PriceChangeIn):
    """Change a list price (no location) or set a store override (HQ only). Accepts an Idempotency-Key."""
    scope = user_scope(request.user)
    if not scope.is_hq:
        raise PermissionDenied("only HQ changes prices", code="forbidden")

    def create() -> tuple[int, Any]:
        s = Sku.objects.filter(code=payload.sku).first()
        if s is None:
            raise unknown_code("sku", payload.sku)
        loc = None
        if payload.location:
            loc = Location.objects.filter(code=payload.location).first()
            if loc is None:
                raise unknown_code("location", payload.location)
        change = price_change(sku=s, new_price=payload.price, location=loc, valid_from=payload.valid_from,
                              valid_to=payload.valid_to, user=request.user)
        change.sku, change.location, change.changed_by = s, loc, request.user
        return 201, price_change_out(change).model_dump(mode="json")

    result = idempotent_create(user_id=request.user.pk, scope="prices.create",
                               key=request.headers.get("Idempotency-Key"), payload=payload.model_dump(mode="json"),
                               create=create, required=False)
    return Status(result.status, result.body)
