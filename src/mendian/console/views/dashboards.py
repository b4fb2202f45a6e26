"""Role dashboards: HQ/regional sales, the store manager's store, purchasing. Live from the rollups."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.db.models import F, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from mendian.analytics.selectors import (
    Slice,
    purchasing_figures,
    ratio,
    sales_dashboard,
    store_figures,
)
from mendian.catalog.models import Category, Sku
from mendian.org.models import Location, Region

from ..access import console_view, location_or_404, region_or_404, visible_locations, visible_region_ids
from ..nav import StoreTask, store_task_providers
from ..periods import PERIODS, period_from
from ..render import page
from ..tables import Column, Table, chart_spec, maybe_export


@console_view
def home(request: HttpRequest) -> HttpResponse:
    kind = request.persona.kind
    if not request.persona.scope.roles and hasattr(request.user, "supplier_link"):
        return redirect("console:purchase_orders")  # a supplier's portal user: their purchase orders
    if kind == "store":
        return redirect("console:store_dashboard")
    if kind == "buyer":
        return redirect("console:purchasing_dashboard")
    return redirect("console:sales_dashboard")


def _q(**params: object) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def top_regions(request: HttpRequest) -> list[Region]:
    """The regions directly under the chain (or the top regions of a regional director's scope)."""
    visible = visible_region_ids(request)
    regions = list(Region.objects.filter(pk__in=visible).exclude(level=Region.Level.HQ).order_by("code"))
    ids = {r.pk for r in regions}
    return [r for r in regions if r.parent_id not in ids]


def region_tree_ids(region: Region) -> frozenset[int]:
    parents = dict(Region.objects.values_list("id", "parent_id"))
    out = {region.pk}
    changed = True
    while changed:
        changed = False
        for rid, pid in parents.items():
            if pid in out and rid not in out:
                out.add(rid)
                changed = True
    return frozenset(out)


def ancestor_under(region_id: int, parent_ids: set[int], parents: dict[int, int | None]) -> int | None:
    """The ancestor of ``region_id`` (itself included) among ``parent_ids``."""
    rid: int | None = region_id
    while rid is not None:
        if rid in parent_ids:
            return rid
        rid = parents.get(rid)
    return None


def kpi_columns(first: object, *, target: bool = True) -> list[Column]:
    cols = [Column("name", first), Column("amount", _("Sales"), "money")]
    if target:
        cols += [Column("target", _("Target"), "money"), Column("achievement", _("Achievement"), "pct")]
    cols += [Column("share", _("Share"), "pct"), Column("yoy", _("vs last year"), "pct"),
             Column("mom", _("vs last month"), "pct"), Column("margin", _("Gross margin"), "money"),
             Column("margin_rate", _("Margin %"), "pct"), Column("transactions", _("Transactions"), "int"),
             Column("atv", _("ATV"), "money"), Column("member_share", _("Members' share"), "pct")]
    return cols


def kpi_row(row, total_amount) -> dict:
    return {"name": row.label, "amount": row.m.amount, "target": row.target, "achievement": row.achievement,
            "share": ratio(row.m.amount, total_amount), "yoy": row.yoy, "mom": row.mom, "margin": row.m.margin,
            "margin_rate": row.m.margin_rate, "transactions": row.m.transactions, "atv": row.m.atv,
            "member_share": row.m.member_share}


@console_view
def sales_dashboard_view(request: HttpRequest) -> HttpResponse:
    p = request.persona
    period = period_from(request)
    scope_ids = p.scope.location_ids
    region = None
    code = request.GET.get("region")
    if code:
        region = region_or_404(request, code)
    elif p.kind == "region" and p.home_region is not None:
        region = p.home_region
    stores = list(visible_locations(request, kind=Location.Kind.STORE))
    location_region = {s.pk: s.region_id for s in stores}
    base = {"period": period.key, "date": request.GET.get("date")}
    if region is None:
        tops = top_regions(request)
        parents = dict(Region.objects.values_list("id", "parent_id"))
        top_ids = {r.pk for r in tops}
        location_region = {s.pk: ancestor_under(s.region_id, top_ids, parents) for s in stores}
        labels = {r.pk: f"{r.code} {r.name}" for r in tops}
        hrefs = {r.pk: reverse("console:sales_dashboard") + _q(region=r.code, **base) for r in tops}
        s = Slice(start=period.start, end=period.end, location_ids=scope_ids)
        dash = sales_dashboard(s, group="region", labels=labels, location_region=location_region, hrefs=hrefs)
        first = _("Region")
    else:
        tree = region_tree_ids(region)
        in_region = [st for st in stores if st.region_id in tree]
        labels = {st.pk: f"{st.code} {st.name}" for st in in_region}
        hrefs = {st.pk: reverse("console:store_dashboard") + _q(store=st.code, **base) for st in in_region}
        s = Slice(start=period.start, end=period.end, location_ids=scope_ids, region_ids=tree)
        dash = sales_dashboard(s, group="location", labels=labels,
                               location_region={st.pk: st.region_id for st in in_region}, hrefs=hrefs)
        first = _("Store")
    table = Table("sales-by-" + ("region" if region is None else "store"),
                  _("Sales by region") if region is None else _("Sales by store"), kpi_columns(first))
    for row in dash.rows:
        table.add(kpi_row(row, dash.total.m.amount), row.href)
    dash.total.label = _("Total")
    table.footer = kpi_row(dash.total, dash.total.m.amount)
    daily = Table("sales-by-day", _("Sales by day"), [Column("day", _("Day")), Column("amount", _("Sales"), "money"),
                                                        Column("last_year", _("Same day last year"), "money")])
    for d, a, ly in dash.daily:
        daily.add({"day": d.isoformat(), "amount": a, "last_year": ly},
                  reverse("console:explore") + _q(region=region.code if region else None, year=d.year, month=d.month,
                                                  day=d.day))
    exported = maybe_export(request, [table, daily])
    if exported:
        return exported
    charts = {
        "share": chart_spec([r.label for r in dash.rows], [(_("Sales"), [r.m.amount for r in dash.rows])],
                            kind="pie"),
        "daily": chart_spec([d.isoformat()[5:] for d, _a, _l in dash.daily],
                            [(_("Sales"), [a for _d, a, _l in dash.daily]),
                             (_("Same day last year"), [ly for _d, _a, ly in dash.daily])], kind="line",
                            links=daily.links),
    }
    return page(request, "console/dashboards/sales.html", {
        "dash": dash, "table": table, "daily": daily, "charts": charts, "period": period, "periods": PERIODS,
        "region": region, "explore_url": reverse("console:explore") + _q(region=region.code if region else None,
                                                                          year=period.end.year),
    }, nav="sales")


def _pickups_pending(store: Location) -> int:
    from mendian.sales.models import Order

    return Order.objects.filter(store=store, fulfilment="pickup", status="paid").count()


def _stock_outs(store: Location, today: dt.date, limit: int = 20) -> list[dict]:
    """SKUs that sold at the store in the last 28 days and have nothing available now."""
    from mendian.analytics.models import SalesDaySku
    from mendian.inventory.models import StockLevel

    sold = set(SalesDaySku.objects.filter(location=store, day__gte=today - dt.timedelta(days=27), day__lte=today,
                                          quantity__gt=0).values_list("sku_id", flat=True).distinct())
    out_ids = list(StockLevel.objects.filter(location=store, sku_id__in=sold).values("sku_id")
                   .annotate(av=Sum(F("on_hand") - F("reserved"))).filter(av__lte=0)
                   .values_list("sku_id", "av"))
    names = {s.pk: s for s in Sku.objects.filter(pk__in=[i for i, _ in out_ids])}
    rows = [{"sku": names[i].code, "name": names[i].name, "available": av} for i, av in out_ids]
    return sorted(rows, key=lambda r: r["sku"])[:limit] + ([{"more": len(rows) - limit}] if len(rows) > limit else [])


@console_view
def store_dashboard_view(request: HttpRequest) -> HttpResponse:
    p = request.persona
    code = request.GET.get("store")
    if code:
        store = location_or_404(request, code)
    elif p.home_store is not None:
        store = p.home_store
    else:
        first = visible_locations(request, kind=Location.Kind.STORE).first()
        if first is None:
            return page(request, "console/empty.html", {"message": _("No store in your scope.")}, nav="store")
        store = first
    period = period_from(request)
    f = store_figures(store_id=store.pk, area_m2=store.area_m2, start=period.start, end=period.end,
                      today=period.today)
    skus = {s.pk: s for s in Sku.objects.filter(pk__in=[x.sku_id for x in f.top + f.bottom])}
    cols = [Column("sku", _("SKU")), Column("name", _("Name")), Column("quantity", _("Quantity"), "int"),
            Column("amount", _("Sales"), "money"), Column("margin", _("Gross margin"), "money")]
    top = Table("top-skus", _("Top SKUs"), cols)
    bottom = Table("bottom-skus", _("Bottom SKUs"), cols)
    for t, figs in ((top, f.top), (bottom, f.bottom)):
        for x in figs:
            sku = skus[x.sku_id]
            t.add({"sku": sku.code, "name": sku.name, "quantity": x.quantity, "amount": x.amount, "margin": x.margin},
                  reverse("console:explore") + _q(region=store.region.code, store=store.code, sku=sku.code,
                                                  year=period.end.year))
    exported = maybe_export(request, [top, bottom])
    if exported:
        return exported
    tasks = [StoreTask(_("Pickups waiting"), _pickups_pending(store), reverse("console:pickups") + _q(store=store.code))]
    from mendian.inventory.models import CountTask

    tasks.append(StoreTask(_("Count tasks open"), CountTask.objects.filter(location=store, status="open").count(),
                           reverse("console:counts") + _q(store=store.code)))
    for provider in store_task_providers():
        tasks.extend(provider(store))
    hours = list(range(24))
    charts = {"hourly": chart_spec([f"{h:02d}" for h in hours],
                                   [(_("Sales"), [f.hourly_today[h].amount if h in f.hourly_today else 0
                                                  for h in hours])])}
    stores = list(visible_locations(request, kind=Location.Kind.STORE)) if not p.is_store or \
        len(p.scope.location_ids or ()) > 1 else []
    return page(request, "console/dashboards/store.html", {
        "store": store, "f": f, "top": top, "bottom": bottom, "tasks": tasks, "stockouts": _stock_outs(store, period.today),
        "charts": charts, "period": period, "periods": PERIODS, "stores": stores,
        "explore_url": reverse("console:explore") + _q(region=store.region.code, store=store.code, year=period.end.year,
                                                       month=period.end.month),
    }, nav="store")


def category_groups(parent: Category | None) -> tuple[dict[int, int], dict[int, str], dict[int, Category]]:
    """Map every category to its ancestor among the children of ``parent`` (the top level if None)."""
    cats = {c.pk: c for c in Category.objects.all()}
    children = {pk for pk, c in cats.items() if c.parent_id == (parent.pk if parent else None)}
    group_of: dict[int, int] = {}
    for pk in cats:
        cur: int | None = pk
        while cur is not None and cur not in children:
            cur = cats[cur].parent_id
        if cur is not None:
            group_of[pk] = cur
    return group_of, {pk: f"{cats[pk].code} {cats[pk].name}" for pk in children}, {pk: cats[pk] for pk in children}


@console_view
def purchasing_dashboard_view(request: HttpRequest) -> HttpResponse:
    p = request.persona
    period = period_from(request, default="28d")
    parent = None
    if request.GET.get("category"):
        parent = Category.objects.filter(code=request.GET["category"]).first()
    group_of, labels, cats = category_groups(parent)
    base = {"period": period.key, "date": request.GET.get("date")}
    hrefs = {pk: reverse("console:purchasing_dashboard") + _q(category=c.code, **base) for pk, c in cats.items()}
    total, groups = purchasing_figures(start=period.start, end=period.end, location_ids=p.scope.location_ids,
                                       group_of_category=group_of, labels=labels, hrefs=hrefs)
    cols = [Column("name", _("Category")), Column("inventory_value", _("Inventory at cost"), "money"),
            Column("cogs", _("Cost of goods sold"), "money"), Column("turnover", _("Turnover (per year)"), "num"),
            Column("days_of_supply", _("Days of supply"), "num"), Column("stockout_rate", _("Stock-out rate"), "pct"),
            Column("sell_through", _("Sell-through"), "pct"), Column("overstock_value", _("Overstock value"), "money"),
            Column("gmroi", _("GMROI"), "num")]

    def row(r):
        return {"name": r.label, "inventory_value": r.inventory_value, "cogs": r.cogs, "turnover": r.turnover,
                "days_of_supply": r.days_of_supply, "stockout_rate": r.stockout_rate, "sell_through": r.sell_through,
                "overstock_value": r.overstock_value, "gmroi": r.gmroi}

    table = Table("purchasing-by-category", _("By category"), cols)
    for r in groups:
        table.add(row(r), r.href)
    total.label = _("Total")
    table.footer = row(total)
    exported = maybe_export(request, [table])
    if exported:
        return exported
    charts = {"value": chart_spec([r.label for r in groups],
                                  [(_("Inventory at cost"), [r.inventory_value for r in groups]),
                                   (_("Overstock value"), [r.overstock_value for r in groups])], links=table.links)}
    return page(request, "console/dashboards/purchasing.html", {
        "total": total, "table": table, "charts": charts, "period": period, "periods": PERIODS, "parent": parent,
    }, nav="purchasing")
