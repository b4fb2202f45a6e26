"""Self-service pivot: pick dimensions and a measure, get a table and a chart (and its export)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mendian.analytics.selectors import DIMENSIONS, MEASURES, PivotError, Slice, latest_day, pivot
from mendian.catalog.models import Category, Sku
from mendian.org.models import Location, Region
from mendian.sales.models import Channel

from ..access import console_view, location_or_404, region_or_404
from ..render import page
from ..tables import Column, Table, chart_spec, maybe_export
from .dashboards import category_groups, region_tree_ids

DIM_LABELS = {
    "year": gettext_lazy("Year"), "month": gettext_lazy("Month"), "day": gettext_lazy("Day"),
    "weekday": gettext_lazy("Weekday"), "hour": gettext_lazy("Hour"), "region": gettext_lazy("Region"),
    "store": gettext_lazy("Store"), "category": gettext_lazy("Category"), "sku": gettext_lazy("SKU"),
    "channel": gettext_lazy("Channel"), "member": gettext_lazy("Member tier"),
}
MEASURE_LABELS = {
    "amount": gettext_lazy("Sales"), "quantity": gettext_lazy("Quantity"), "margin": gettext_lazy("Gross margin"),
    "transactions": gettext_lazy("Transactions"), "atv": gettext_lazy("ATV"),
}
MEASURE_KIND = {"amount": "money", "quantity": "int", "margin": "money", "transactions": "int", "atv": "money"}
WEEKDAYS = [gettext_lazy("Mon"), gettext_lazy("Tue"), gettext_lazy("Wed"), gettext_lazy("Thu"),
            gettext_lazy("Fri"), gettext_lazy("Sat"), gettext_lazy("Sun")]


def _labeller(dim: str, keys: list):
    if dim == "region":
        names = {r.pk: f"{r.code} {r.name}" for r in Region.objects.filter(pk__in=keys)}
        return lambda k: names.get(k, k)
    if dim == "store":
        names = {r.pk: f"{r.code} {r.name}" for r in Location.objects.filter(pk__in=keys)}
        return lambda k: names.get(k, k)
    if dim == "category":
        names = {r.pk: f"{r.code} {r.name}" for r in Category.objects.filter(pk__in=keys)}
        return lambda k: names.get(k, k)
    if dim == "sku":
        names = {r.pk: f"{r.code} {r.name}" for r in Sku.objects.filter(pk__in=keys)}
        return lambda k: names.get(k, k)
    if dim == "channel":
        names = dict(Channel.choices) | {"history": _("Imported history")}
        return lambda k: names.get(k, k)
    if dim == "member":
        return lambda k: {"": _("Non-member"), "-": _("Unknown"), "member": _("Member")}.get(k, k)
    if dim == "weekday":
        return lambda k: str(WEEKDAYS[int(k) - 1]) if k else k
    if dim == "month":
        return lambda k: k.strftime("%Y-%m") if hasattr(k, "strftime") else k
    if dim == "day":
        return lambda k: k.isoformat() if hasattr(k, "isoformat") else k
    if dim == "hour":
        return lambda k: f"{int(k):02d}:00"
    return lambda k: k


def _date(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


@console_view
def pivot_view(request: HttpRequest) -> HttpResponse:
    p = request.persona
    rows = request.GET.get("rows") or "region"
    cols = request.GET.get("cols") or ""
    measure = request.GET.get("measure") or "amount"
    if rows not in DIMENSIONS:
        rows = "region"
    if cols and cols not in DIMENSIONS:
        cols = ""
    if measure not in MEASURES:
        measure = "amount"
    latest = latest_day(p.scope.location_ids) or dt.date.today()
    end = _date(request.GET.get("to"), latest)
    start = _date(request.GET.get("from"), end.replace(day=1))
    if start > end:
        start, end = end, start
    region = region_or_404(request, request.GET["region"]) if request.GET.get("region") else None
    store = location_or_404(request, request.GET["store"]) if request.GET.get("store") else None
    s = Slice(start=start, end=end, location_ids=p.scope.location_ids, store_id=store.pk if store else None,
              region_ids=region_tree_ids(region) if region else None, channel=request.GET.get("channel") or None)
    error = ""
    table = None
    chart = None
    try:
        group_of, _labels, _cats = category_groups(None)
        pv = pivot(s, rows=rows, cols=cols or None, category_group=group_of)
    except PivotError as exc:
        error = str(exc)
        pv = None
    if pv is not None:
        rl = _labeller(rows, pv.rows)
        cl = _labeller(cols, pv.cols) if cols else None
        kind = MEASURE_KIND[measure]
        columns = [Column("name", DIM_LABELS[rows])]
        if cols:
            columns += [Column(f"c{i}", cl(c), kind) for i, c in enumerate(pv.cols)]
        columns.append(Column("total", _("Total") if cols else MEASURE_LABELS[measure], kind))
        table = Table("pivot", _("Pivot"), columns)
        for r in pv.rows:
            row = {"name": rl(r), "total": pv.row_totals[r].value(measure)}
            if cols:
                for i, c in enumerate(pv.cols):
                    m = pv.cells.get((r, c))
                    row[f"c{i}"] = m.value(measure) if m else None
            table.add(row)
        foot = {"name": _("Total"), "total": pv.total.value(measure)}
        if cols:
            for i, c in enumerate(pv.cols):
                foot[f"c{i}"] = pv.col_totals[c].value(measure)
        table.footer = foot
        exported = maybe_export(request, [table])
        if exported:
            return exported
        labels = [str(rl(r)) for r in pv.rows[:40]]
        if cols:
            series = [(str(cl(c)), [(pv.cells[(r, c)].value(measure) if (r, c) in pv.cells else 0) or 0
                                    for r in pv.rows[:40]]) for c in pv.cols[:12]]
        else:
            series = [(str(MEASURE_LABELS[measure]), [pv.row_totals[r].value(measure) or 0 for r in pv.rows[:40]])]
        chart = chart_spec(labels, series, kind="line" if rows in {"day", "month", "hour", "year"} else "bar")
    return page(request, "console/pivot.html", {
        "dims": [(d, DIM_LABELS[d]) for d in DIMENSIONS], "measures": [(m, MEASURE_LABELS[m]) for m in MEASURES],
        "rows": rows, "cols": cols, "measure": measure, "start": start, "end": end, "table": table,
        "charts": {"pivot": chart} if chart else {}, "error": error,
        "region_code": region.code if region else "", "store_code": store.code if store else "",
        "channels": Channel.choices, "channel": request.GET.get("channel") or "",
    }, nav="pivot")
