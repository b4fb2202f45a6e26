"""Reads of the catalog: SKU lists without N+1, barcode resolution (including scale labels), the category tree."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from mendian.core.errors import InvalidInput, NotFound, unknown_code
from mendian.org.scope import Scope

from .domain import ean13_is_valid, parse_scale_barcode
from .models import Barcode, Category, PriceChange, Sku, StorePrice


def category_subtree_ids(code: str) -> set[int]:
    """The category with this code and every category below it; 422 naming ``category`` when unknown."""
    parents = dict(Category.objects.values_list("id", "parent_id"))
    root = Category.objects.filter(code=code).values_list("id", flat=True).first()
    if root is None:
        raise unknown_code("category", code)
    children: dict[int | None, list[int]] = {}
    for cid, parent in parents.items():
        children.setdefault(parent, []).append(cid)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def sku_queryset() -> QuerySet[Sku]:
    """SKUs with what their API shape needs: product, category, brand joined; barcodes in one more query."""
    return Sku.objects.select_related("product__category", "product__brand").prefetch_related(
        Prefetch("barcodes", queryset=Barcode.objects.order_by("id"), to_attr="barcode_list"))


def sku_list(*, q: str | None = None, category: str | None = None, status: str | None = None) -> QuerySet[Sku]:
    qs = sku_queryset()
    if q:
        q = q.strip()
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q)
                       | Exists(Barcode.objects.filter(sku=OuterRef("pk"), code=q)))
    if category:
        qs = qs.filter(product__category_id__in=category_subtree_ids(category))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("code")


def sku_get(*, code: str) -> Sku:
    sku = sku_queryset().filter(code=code).first()
    if sku is None:
        raise NotFound(f"no SKU {code!r}", details={"sku": code})
    return sku


def sku_price_history(*, scope: Scope, sku: Sku, limit: int = 100) -> list[PriceChange]:
    """The SKU's price changes, newest first: list price changes and the overrides of visible locations."""
    qs = PriceChange.objects.filter(sku=sku).select_related("location", "changed_by")
    if scope.location_ids is not None:
        qs = qs.filter(Q(location__isnull=True) | Q(location_id__in=scope.location_ids))
    return list(qs.order_by("-changed_at", "-id")[:limit])


def sku_store_prices(*, scope: Scope, sku: Sku) -> list[StorePrice]:
    """Store overrides in force now or later, at the locations the caller may see."""
    now = timezone.now()
    qs = StorePrice.objects.filter(sku=sku).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=now))
    if scope.location_ids is not None:
        qs = qs.filter(location_id__in=scope.location_ids)
    return list(qs.select_related("location").order_by("location__code", "valid_from", "id"))


@dataclass(frozen=True)
class BarcodeMatch:
    barcode: str
    kind: str  # ean13, internal, scale_weight, scale_price
    sku: Sku
    weight_g: int | None = None
    price: Decimal | None = None


class InvalidBarcode(InvalidInput):
    """The barcode's check digit is wrong."""

    code = "invalid_barcode"


def barcode_resolve(*, code: str) -> BarcodeMatch:
    """What a scanned code is: a registered barcode, or an in-store scale label (2 T PPPPP VVVVV C)
    resolved by the SKU's PLU and carrying a weight in grams or a price. A 13-digit code with a wrong
    check digit is refused (422 ``invalid_barcode``); an unknown code is a 404."""
    code = (code or "").strip()
    if len(code) == 13 and code.isdigit() and not ean13_is_valid(code):
        raise InvalidBarcode(f"{code} is not a valid EAN-13: wrong check digit", details={"barcode": code})
    found = Barcode.objects.filter(code=code).values_list("sku_id", "kind").first()
    if found is not None:
        return BarcodeMatch(barcode=code, kind=found[1], sku=sku_queryset().get(pk=found[0]))
    label = parse_scale_barcode(code)
    if label is not None:
        sku = sku_queryset().filter(plu=label.plu).first()
        if sku is not None:
            kind = "scale_weight" if label.weight_g is not None else "scale_price"
            return BarcodeMatch(barcode=code, kind=kind, sku=sku, weight_g=label.weight_g, price=label.price)
    raise NotFound(f"no SKU has barcode {code!r}", details={"barcode": code})


@dataclass
class CategoryNode:
    code: str
    name: str
    children: list[CategoryNode]


def category_tree() -> list[CategoryNode]:
    """The whole category tree from one query."""
    rows = list(Category.objects.order_by("code").values_list("id", "code", "name", "parent_id"))
    nodes = {cid: CategoryNode(code=code, name=name, children=[]) for cid, code, name, _ in rows}
    roots = []
    for cid, _code, _name, parent in rows:
        (nodes[parent].children if parent in nodes else roots).append(nodes[cid])
    return roots
