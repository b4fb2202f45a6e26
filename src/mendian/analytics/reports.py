"""Read models of the analytics API: the sales dashboard at one level of the drill-down, and the pivot,
always within the caller's scope (a location outside it, or a region without a visible location, is
404 — as if it did not exist)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from mendian.catalog.models import Category, Sku
from mendian.core.errors import InvalidInput, NotFound
from mendian.org.models import Location, Region
from mendian.org.scope import Scope

from .models import SalesDayCategory, SalesDayLocation, SalesDaySku
from .selectors import (
    DIMENSIONS,
    Measures,
    PivotError,
    Slice,
    measures_by,
    measures_total,
    pivot,
    same_period_last_year,
)

LEVELS = ("chain", "region", "store", "category", "sku")
MAX_DAYS = 800


@dataclass
class Row:
    level: str
    code: str
    name: str
    m: Measures
    last_year: Measures


@dataclass
class SalesReport:
    level: str
    code: str
    name: str
    start: dt.date
    end: dt.date
    total: Row
    children: list[Row]


def period_check(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise InvalidInput("'from' is after 'to'", details={"field": "from"})
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"a period of at most {MAX_DAYS} days", details={"field": "to"})


def _region_tree(region_id: int) -> set[int]:
    parents = dict(Region.objects.values_list("id", "parent_id"))
    out, changed = {region_id}, True
    while changed:
        changed = False
        for rid, pid in parents.items():
            if pid in out and rid not in out:
                out.add(rid)
                changed = True
    return out


def _visible_stores(scope: Scope):
    qs = Location.objects.filter(kind="store")
    return qs if scope.location_ids is None else qs.filter(pk__in=scope.location_ids)


def sales_report(*, scope: Scope, level: str, code: str | None, start: dt.date, end: dt.date,
                 store: str | None = None) -> SalesReport:
    """Sales (and last year's same period) of one node of the drill-down chain → region → store →
    category → SKU, with its children. ``store`` narrows a category or SKU to one store (else: every
    store in scope)."""
    period_check(start, end)
    if level not in LEVELS:
        raise InvalidInput(f"level is one of {', '.join(LEVELS)}", details={"field": "level"})
    if level != "chain" and not code:
        raise InvalidInput("a code is needed below the chain", details={"field": "code"})
    stores = _visible_stores(scope)
    base = Slice(start=start, end=end, location_ids=scope.location_ids)
    name = ""
    store_obj = None
    if store or level == "store":
        store_obj = stores.filter(code=store or code).first()
        if store_obj is None:
            raise NotFound("no such store")
        base = Slice(start=start, end=end, location_ids=scope.location_ids, store_id=store_obj.pk)
    if level == "chain":
        name = "chain"
        regions = {r.pk: r for r in Region.objects.exclude(level="hq").filter(parent__level="hq")}
        region_of = {}
        for rid in regions:
            for sub in _region_tree(rid):
                region_of[sub] = rid
        s, kids = base, {}
        loc_region = dict(stores.values_list("pk", "region_id"))
        for key, m in _by(s, "location_id", SalesDayLocation).items():
            top = region_of.get(loc_region.get(key))
            if top is not None:
                kids.setdefault(top, [Measures(), Measures()])[0].add(m)
        for key, m in _by(_ly(s), "location_id", SalesDayLocation).items():
            top = region_of.get(loc_region.get(key))
            if top is not None:
                kids.setdefault(top, [Measures(), Measures()])[1].add(m)
        children = [Row("region", regions[k].code, regions[k].name, v[0], v[1]) for k, v in kids.items()]
        model = SalesDayLocation
    elif level == "region":
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise NotFound("no such region")
        tree = _region_tree(region.pk)
        in_region = {loc.pk: loc for loc in stores.filter(region_id__in=tree)}
        if not in_region:
            raise NotFound("no such region")
        name = region.name
        s = Slice(start=start, end=end, location_ids=frozenset(in_region))
        children = _rows(s, "location_id", SalesDayLocation, "store",
                         {pk: (loc.code, loc.name) for pk, loc in in_region.items()})
        model = SalesDayLocation
    elif level == "store":
        name = store_obj.name
        s = base
        cats = {c.pk: c for c in Category.objects.all()}
        top = {pk: _top(cats, pk) for pk in cats}
        children = _merge_by(s, top, cats, SalesDayCategory)
        model = SalesDayLocation
    elif level == "category":
        cat = Category.objects.filter(code=code).first()
        if cat is None:
            raise NotFound("no such category")
        name = cat.name
        cats = {c.pk: c for c in Category.objects.all()}
        under = {pk for pk in cats if _is_under(cats, pk, cat.pk)}
        s = Slice(start=start, end=end, location_ids=base.location_ids, store_id=base.store_id,
                  category_ids=frozenset(under))
        direct = [pk for pk, c in cats.items() if c.parent_id == cat.pk]
        if direct:
            group = {pk: next((d for d in direct if _is_under(cats, pk, d)), cat.pk) for pk in under}
            children = _merge_by(s, group, cats, SalesDayCategory)
        else:
            skus = dict(Sku.objects.filter(product__category_id=cat.pk).values_list("pk", "code"))
            children = _rows(s, "sku_id", SalesDaySku, "sku", {pk: (c, c) for pk, c in skus.items()})
        model = SalesDayCategory
    else:  # sku
        sku = Sku.objects.filter(code=code).select_related("product").first()
        if sku is None:
            raise NotFound("no such SKU")
        name = sku.product.name
        s = Slice(start=start, end=end, location_ids=base.location_ids, store_id=base.store_id, sku_id=sku.pk)
        if store_obj is None:
            labels = {loc.pk: (loc.code, loc.name) for loc in stores}
            children = _rows(s, "location_id", SalesDaySku, "store", labels)
        else:
            children = []
        model = SalesDaySku
    total = Row(level, code or "", name, measures_total(s, model), measures_total(_ly(s), model))
    children.sort(key=lambda r: (-r.m.amount, r.code))
    return SalesReport(level=level, code=code or "", name=name, start=start, end=end, total=total, children=children)


def _ly(s: Slice) -> Slice:
    return s.shifted(*same_period_last_year(s.start, s.end))


def _by(s: Slice, fieldname: str, model: type) -> dict[Any, Measures]:
    return {k[0]: m for k, m in measures_by(s, fieldname, model=model).items()}


def _rows(s: Slice, fieldname: str, model: type, level: str, labels: dict[Any, tuple[str, str]]) -> list[Row]:
    now, ly = _by(s, fieldname, model), _by(_ly(s), fieldname, model)
    return [Row(level, labels[k][0], labels[k][1], now.get(k, Measures()), ly.get(k, Measures()))
            for k in set(now) | set(ly) if k in labels]


def _top(cats: dict[int, Any], pk: int) -> int:
    while cats[pk].parent_id is not None:
        pk = cats[pk].parent_id
    return pk


def _is_under(cats: dict[int, Any], pk: int, ancestor: int) -> bool:
    cur: int | None = pk
    while cur is not None:
        if cur == ancestor:
            return True
        cur = cats[cur].parent_id
    return False


def _merge_by(s: Slice, group: dict[int, int], cats: dict[int, Any], model: type) -> list[Row]:
    acc: dict[int, list[Measures]] = {}
    for i, src in enumerate((_by(s, "category_id", model), _by(_ly(s), "category_id", model))):
        for k, m in src.items():
            g = group.get(k)
            if g is None:
                continue
            acc.setdefault(g, [Measures(), Measures()])[i].add(m)
    return [Row("category", cats[g].code, cats[g].name, v[0], v[1])
            for g, v in acc.items()]


def pivot_report(*, scope: Scope, rows: str, cols: str | None, start: dt.date, end: dt.date,
                 store: str | None = None):
    period_check(start, end)
    for field, d in (("rows", rows), ("cols", cols)):
        if d and d not in DIMENSIONS:
            raise InvalidInput(f"{field} is one of {', '.join(DIMENSIONS)}", details={"field": field})
    store_id = None
    if store:
        loc = _visible_stores(scope).filter(code=store).first()
        if loc is None:
            raise NotFound("no such store")
        store_id = loc.pk
    try:
        return pivot(Slice(start=start, end=end, location_ids=scope.location_ids, store_id=store_id),
                     rows=rows, cols=cols)
    except PivotError as exc:
        raise InvalidInput(str(exc), details={"field": "cols"}) from None


def dimension_labels(dim: str, keys) -> dict[Any, str]:
    """Business codes for the keys of a pivot dimension (ids → codes)."""
    ids = [k for k in keys if k is not None]
    if dim == "store":
        return dict(Location.objects.filter(pk__in=ids).values_list("pk", "code"))
    if dim == "region":
        return dict(Region.objects.filter(pk__in=ids).values_list("pk", "code"))
    if dim == "category":
        return dict(Category.objects.filter(pk__in=ids).values_list("pk", "code"))
    if dim == "sku":
        return dict(Sku.objects.filter(pk__in=ids).values_list("pk", "code"))
    return {k: (k.isoformat() if hasattr(k, "isoformat") else str(k)) for k in keys if k is not None}
