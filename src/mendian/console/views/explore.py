"""Drill-down: chain → region → store → category → SKU, and year → month → day → hour.

The whole path lives in the query string (``?region=KM&store=KM001&category=FOOD&year=2026&month=11``),
so a view is shareable and every step is a link. Each page shows the next step down in both
directions: the children of the place (regions, stores, categories, SKUs) for the period, and the
children of the period (years, months, days, hours) for the place.
"""

from __future__ import annotations

import calendar
import datetime as dt
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from mendian.analytics.models import SalesDayCategory, SalesDayLocation, SalesDaySku
from mendian.analytics.selectors import (
    Measures,
    Slice,
    latest_day,
    measures_by,
    measures_by_hour,
    measures_by_month,
    measures_by_year,
    measures_total,
    ratio,
)
from mendian.catalog.models import Category, Sku
from mendian.org.models import Location, Region

from ..access import console_view, location_or_404, region_or_404, visible_locations
from ..render import page
from ..tables import Column, Table, chart_spec, maybe_export
from .dashboards import ancestor_under, category_groups, region_tree_ids, top_regions

PATH_KEYS = ("region", "store", "category", "sku", "year", "month", "day")


def _int(request: HttpRequest, key: str, lo: int, hi: int) -> int | None:
    raw = request.GET.get(key)
    if raw in (None, ""):
        return None
    try:
        v = int(raw)
    except ValueError:
        raise Http404(f"bad {key}") from None
    if not lo <= v <= hi:
        raise Http404(f"bad {key}")
    return v


def measure_columns(first: object) -> list[Column]:
    return [Column("name", first), Column("amount", _("Sales"), "money"), Column("share", _("Share"), "pct"),
            Column("quantity", _("Quantity"), "int"), Column("margin", _("Gross margin"), "money"),
            Column("margin_rate", _("Margin %"), "pct"), Column("transactions", _("Transactions"), "int"),
            Column("atv", _("ATV"), "money"), Column("member_share", _("Members' share"), "pct")]


def measure_row(name: str, m: Measures, total: Measures) -> dict:
    return {"name": name, "amount": m.value("amount"), "share": ratio(m.amount, total.amount), "quantity": m.quantity,
            "margin": m.margin, "margin_rate": m.margin_rate, "transactions": m.transactions, "atv": m.atv,
            "member_share": m.member_share}


@console_view
def explore(request: HttpRequest) -> HttpResponse:
    p = request.persona
    path = {k: request.GET.get(k) for k in PATH_KEYS if request.GET.get(k)}
    region = region_or_404(request, path["region"]) if "region" in path else None
    store = location_or_404(request, path["store"]) if "store" in path else None
    if store is not None and region is not None and store.region_id not in region_tree_ids(region):
        raise Http404("store not in region")
    category = Category.objects.filter(code=path["category"]).first() if "category" in path else None
    if "category" in path and category is None:
        raise Http404("no such category")
    sku = Sku.objects.select_related("product__category").filter(code=path["sku"]).first() if "sku" in path else None
    if "sku" in path and sku is None:
        raise Http404("no such SKU")
    year = _int(request, "year", 2000, 2100)
    month = _int(request, "month", 1, 12) if year else None
    day = None
    if month:
        day = _int(request, "day", 1, calendar.monthrange(year, month)[1])
    # a store user without a store in the path starts at their store
    if store is None and p.is_store and p.home_store is not None:
        store = p.home_store
        path["store"] = store.code
    if store is not None and region is None:
        region = store.region
        path["region"] = region.code

    latest = latest_day(p.scope.location_ids) or dt.date.today()
    if day:
        start = end = dt.date(year, month, day)
    elif month:
        start, end = dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    elif year:
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    else:
        start, end = dt.date(2000, 1, 1), max(latest, dt.date.today())

    cat_ids = None
    if category is not None:
        desc = {category.pk}
        all_cats = dict(Category.objects.values_list("pk", "parent_id"))
        changed = True
        while changed:
            changed = False
            for pk, parent in all_cats.items():
                if parent in desc and pk not in desc:
                    desc.add(pk)
                    changed = True
        cat_ids = frozenset(desc)
    s = Slice(start=start, end=end, location_ids=p.scope.location_ids, store_id=store.pk if store else None,
              region_ids=region_tree_ids(region) if region else None, category_ids=cat_ids,
              sku_id=sku.pk if sku else None)
    total = measures_total(s)

    def link(**changes: object) -> str:
        q = dict(path)
        q.update({k: v for k, v in changes.items() if v is not None})
        order = [k for k in PATH_KEYS if k in q]
        return reverse("console:explore") + "?" + urlencode([(k, q[k]) for k in order])

    # --- the next step down in place
    place = None
    if sku is None:
        if category is not None or store is not None:
            place = _category_children(s, category, link, total)
        elif region is not None:
            place = _region_children(request, s, region, link, total)
        else:
            place = _chain_children(request, s, link, total)

    # --- the next step down in time
    time = _time_children(s, year, month, day, link, total, hours_ok=category is None and sku is None)

    tables = [t for t in (place, time) if t is not None]
    exported = maybe_export(request, tables)
    if exported:
        return exported

    crumbs = [(_("Chain"), reverse("console:explore") + ("?" + urlencode({"year": year}) if year else ""))]
    if region is not None:
        crumbs.append((f"{region.code} {region.name}", link_only(path, ("region",), year, month, day)))
    if store is not None:
        crumbs.append((f"{store.code} {store.name}", link_only(path, ("region", "store"), year, month, day)))
    if category is not None:
        chain = []
        c = category
        cats = {x.pk: x for x in Category.objects.all()}
        while c is not None:
            chain.append(c)
            c = cats.get(c.parent_id)
        for c in reversed(chain):
            crumbs.append((f"{c.code} {c.name}",
                           link_only({**path, "category": c.code}, ("region", "store", "category"), year, month, day)))
    if sku is not None:
        crumbs.append((f"{sku.code} {sku.name}", link_only(path, ("region", "store", "category", "sku"), year, month, day)))
    place_keys = tuple(k for k in ("region", "store", "category", "sku") if k in path)
    time_crumbs = [(_("All years"), link_only(path, place_keys, None, None, None))]
    if year:
        time_crumbs.append((str(year), link_only(path, place_keys, year, None, None)))
    if month:
        time_crumbs.append((f"{year}-{month:02d}", link_only(path, place_keys, year, month, None)))
    if day:
        time_crumbs.append((f"{year}-{month:02d}-{day:02d}", link_only(path, place_keys, year, month, day)))

    charts = {}
    if place is not None and place.rows:
        charts["place"] = chart_spec([r["name"] for r in place.rows[:30]],
                                     [(_("Sales"), [r["amount"] for r in place.rows[:30]])], links=place.links[:30])
    if time is not None and time.rows:
        charts["time"] = chart_spec([r["name"] for r in time.rows], [(_("Sales"), [r["amount"] for r in time.rows]),
                                                                     (_("Gross margin"), [r["margin"] for r in time.rows])],
                                    kind="line", links=time.links)
    return page(request, "console/explore.html", {
        "crumbs": crumbs, "time_crumbs": time_crumbs, "total": total, "place": place, "time": time, "charts": charts,
        "start": start, "end": end, "sku": sku,
    }, nav="explore")


def link_only(path: dict, keys: tuple[str, ...], year, month, day) -> str:
    q = [(k, path[k]) for k in keys if k in path]
    q += [(k, v) for k, v in (("year", year), ("month", month), ("day", day)) if v]
    return reverse("console:explore") + ("?" + urlencode(q) if q else "")


def _chain_children(request, s: Slice, link, total: Measures) -> Table:
    tops = top_regions(request)
    parents = dict(Region.objects.values_list("id", "parent_id"))
    ids = {r.pk for r in tops}
    by_loc = measures_by(s, "location_id", model=SalesDayLocation)
    loc_region = dict(Location.objects.filter(pk__in=[k[0] for k in by_loc]).values_list("pk", "region_id"))
    acc: dict[int, Measures] = {}
    for (loc_id,), m in by_loc.items():
        g = ancestor_under(loc_region[loc_id], ids, parents)
        if g is not None:
            acc.setdefault(g, Measures()).add(m)
    t = Table("by-region", _("By region"), measure_columns(_("Region")))
    for r in sorted(tops, key=lambda r: -(acc.get(r.pk) or Measures()).amount):
        t.add(measure_row(f"{r.code} {r.name}", acc.get(r.pk) or Measures(), total), link(region=r.code))
    return t


def _region_children(request, s: Slice, region: Region, link, total: Measures) -> Table:
    subs = list(Region.objects.filter(parent=region).order_by("code"))
    by_loc = measures_by(s, "location_id", model=SalesDayLocation)
    if subs:
        parents = dict(Region.objects.values_list("id", "parent_id"))
        ids = {r.pk for r in subs}
        loc_region = dict(Location.objects.filter(pk__in=[k[0] for k in by_loc]).values_list("pk", "region_id"))
        acc: dict[int, Measures] = {}
        for (loc_id,), m in by_loc.items():
            g = ancestor_under(loc_region[loc_id], ids, parents)
            if g is not None:
                acc.setdefault(g, Measures()).add(m)
        t = Table("by-district", _("By district"), measure_columns(_("District")))
        for r in subs:
            t.add(measure_row(f"{r.code} {r.name}", acc.get(r.pk) or Measures(), total), link(region=r.code))
        return t
    stores = [st for st in visible_locations(request, kind=Location.Kind.STORE) if st.region_id in (s.region_ids or ())]
    t = Table("by-store", _("By store"), measure_columns(_("Store")))
    for st in sorted(stores, key=lambda st: -(by_loc.get((st.pk,)) or Measures()).amount):
        t.add(measure_row(f"{st.code} {st.name}", by_loc.get((st.pk,)) or Measures(), total), link(store=st.code))
    return t


def _category_children(s: Slice, category: Category | None, link, total: Measures) -> Table:
    group_of, labels, cats = category_groups(category)
    if category is not None and not cats:  # a leaf: its SKUs
        by_sku = measures_by(s, "sku_id", model=SalesDaySku)
        skus = {x.pk: x for x in Sku.objects.filter(pk__in=[k[0] for k in by_sku])}
        t = Table("by-sku", _("By SKU"), measure_columns(_("SKU")))
        for (sku_id,), m in sorted(by_sku.items(), key=lambda kv: -kv[1].amount):
            t.add(measure_row(f"{skus[sku_id].code} {skus[sku_id].name}", m, total), link(sku=skus[sku_id].code))
        return t
    by_cat = measures_by(s, "category_id", model=SalesDayCategory)
    acc: dict[int, Measures] = {}
    for (cat_id,), m in by_cat.items():
        g = group_of.get(cat_id)
        if g is not None:
            acc.setdefault(g, Measures()).add(m)
    t = Table("by-category", _("By category"), measure_columns(_("Category")))
    for pk in sorted(cats, key=lambda pk: -(acc.get(pk) or Measures()).amount):
        t.add(measure_row(labels[pk], acc.get(pk) or Measures(), total), link(category=cats[pk].code))
    return t


def _time_children(s: Slice, year, month, day, link, total: Measures, *, hours_ok: bool) -> Table | None:
    if day:
        if not hours_ok:
            return None
        by_hour = measures_by_hour(s)
        t = Table("by-hour", _("By hour"), measure_columns(_("Hour")))
        for h in range(24):
            if h in by_hour:
                t.add(measure_row(f"{h:02d}:00", by_hour[h], total))
        return t
    if month:
        by_day = {k[0]: v for k, v in measures_by(s, "day").items()}
        t = Table("by-day", _("By day"), measure_columns(_("Day")))
        for d in sorted(by_day):
            t.add(measure_row(d.isoformat(), by_day[d], total), link(year=year, month=month, day=d.day))
        return t
    if year:
        by_month = measures_by_month(s)
        t = Table("by-month", _("By month"), measure_columns(_("Month")))
        for (y, m) in sorted(by_month):
            t.add(measure_row(f"{y}-{m:02d}", by_month[(y, m)], total), link(year=y, month=m))
        return t
    by_year = measures_by_year(s)
    t = Table("by-year", _("By year"), measure_columns(_("Year")))
    for y in sorted(by_year):
        t.add(measure_row(str(y), by_year[y], total), link(year=y))
    return t

