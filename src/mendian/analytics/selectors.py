"""Dashboard and pivot queries, all from the rollups (never from the order lines), always within a
scope (``location_ids`` None = the whole chain).

Measures everywhere: amount (sales, tax-inclusive, net of refunds), quantity, margin (amount − tax −
cost), transactions (orders), ATV (amount ÷ transactions, over rows that know their transactions:
imported history does not) and member share (members' sales ÷ sales whose member is known).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models import DecimalField as DField
from django.db.models.functions import ExtractMonth, ExtractYear

from .models import UNKNOWN_TIER, SalesDayCategory, SalesDayLocation, SalesDaySku, SalesHour, SalesTarget

ZERO = Decimal(0)
CENT = Decimal("0.01")
COST_Q = Decimal("0.0001")


def money(v: Any) -> Decimal:
    return Decimal(v or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(num: Any, den: Any, places: str = "0.0001") -> Decimal | None:
    num, den = Decimal(num or 0), Decimal(den or 0)
    if not den:
        return None
    return (num / den).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def growth(now: Any, before: Any) -> Decimal | None:
    r = ratio(Decimal(now or 0) - Decimal(before or 0), before)
    return r


# --- measures ---------------------------------------------------------------------------------------

def _aggregates() -> dict[str, Any]:
    return {
        "m_amount": Sum("amount"),
        "m_quantity": Sum("quantity"),
        "m_tax": Sum("tax"),
        "m_cost": Sum("cost"),
        "m_transactions": Sum("transactions"),
        "m_amount_tx": Sum("amount", filter=Q(transactions__gt=0)),
        "m_member_amount": Sum("amount", filter=~Q(member_tier__in=["", UNKNOWN_TIER])),
        "m_known_amount": Sum("amount", filter=~Q(member_tier=UNKNOWN_TIER)),
    }


@dataclass
class Measures:
    amount: Decimal = ZERO
    quantity: int = 0
    tax: Decimal = ZERO
    cost: Decimal = ZERO
    transactions: int = 0
    amount_tx: Decimal = ZERO
    member_amount: Decimal = ZERO
    known_amount: Decimal = ZERO

    @classmethod
    def of(cls, row: dict[str, Any]) -> Measures:
        def d(k: str) -> Decimal:  # SQLite sums decimals in floating point: back to exact places
            return Decimal(str(row.get("m_" + k) or 0)).quantize(COST_Q if k == "cost" else CENT,
                                                                   rounding=ROUND_HALF_UP)

        return cls(amount=d("amount"), quantity=int(row.get("m_quantity") or 0), tax=d("tax"), cost=d("cost"),
                   transactions=int(row.get("m_transactions") or 0), amount_tx=d("amount_tx"),
                   member_amount=d("member_amount"), known_amount=d("known_amount"))

    def add(self, other: Measures) -> Measures:
        for f in ("amount", "quantity", "tax", "cost", "transactions", "amount_tx", "member_amount", "known_amount"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        return self

    @property
    def margin(self) -> Decimal:
        return money(self.amount - self.tax - self.cost)

    @property
    def margin_rate(self) -> Decimal | None:
        return ratio(self.margin, self.amount - self.tax)

    @property
    def atv(self) -> Decimal | None:
        if not self.transactions:
            return None
        return money(self.amount_tx / self.transactions)

    @property
    def member_share(self) -> Decimal | None:
        return ratio(self.member_amount, self.known_amount)

    def value(self, measure: str) -> Any:
        if measure == "amount":
            return money(self.amount)
        if measure == "margin":
            return self.margin
        if measure == "atv":
            return self.atv
        if measure == "margin_rate":
            return self.margin_rate
        if measure == "member_share":
            return self.member_share
        return getattr(self, measure)


MEASURES = ("amount", "quantity", "margin", "transactions", "atv")


# --- filters ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Slice:
    """What to count: a date range, and optionally locations, regions, categories, one SKU."""

    start: dt.date
    end: dt.date
    location_ids: frozenset[int] | None = None  # the scope (None: chain)
    store_id: int | None = None
    region_ids: frozenset[int] | None = None  # a region and its descendants
    category_ids: frozenset[int] | None = None  # a category and its descendants
    sku_id: int | None = None
    channel: str | None = None

    def grain(self) -> type:
        if self.sku_id is not None:
            return SalesDaySku
        if self.category_ids is not None:
            return SalesDayCategory
        return SalesDayLocation

    def apply(self, qs: QuerySet, *, dated: bool = True) -> QuerySet:
        if dated:
            qs = qs.filter(day__gte=self.start, day__lte=self.end)
        if self.location_ids is not None:
            qs = qs.filter(location_id__in=self.location_ids)
        if self.store_id is not None:
            qs = qs.filter(location_id=self.store_id)
        if self.region_ids is not None:
            qs = qs.filter(region_id__in=self.region_ids)
        if self.category_ids is not None and qs.model in (SalesDayCategory, SalesDaySku):
            qs = qs.filter(category_id__in=self.category_ids)
        if self.sku_id is not None and qs.model is SalesDaySku:
            qs = qs.filter(sku_id=self.sku_id)
        if self.channel:
            qs = qs.filter(channel=self.channel)
        return qs

    def shifted(self, start: dt.date, end: dt.date) -> Slice:
        return Slice(start=start, end=end, location_ids=self.location_ids, store_id=self.store_id,
                     region_ids=self.region_ids, category_ids=self.category_ids, sku_id=self.sku_id,
                     channel=self.channel)


def measures_total(s: Slice, model: type | None = None) -> Measures:
    return Measures.of(s.apply((model or s.grain()).objects.all()).aggregate(**_aggregates()))


def measures_by(s: Slice, *fields: str, model: type | None = None) -> dict[tuple, Measures]:
    qs = s.apply((model or s.grain()).objects.all()).values(*fields).annotate(**_aggregates()).order_by()
    return {tuple(r[f] for f in fields): Measures.of(r) for r in qs}


def measures_by_month(s: Slice, model: type | None = None) -> dict[tuple[int, int], Measures]:
    qs = (s.apply((model or s.grain()).objects.all())
          .annotate(y=ExtractYear("day"), m=ExtractMonth("day")).values("y", "m").annotate(**_aggregates()).order_by())
    return {(r["y"], r["m"]): Measures.of(r) for r in qs}


def measures_by_year(s: Slice, model: type | None = None) -> dict[int, Measures]:
    qs = (s.apply((model or s.grain()).objects.all())
          .annotate(y=ExtractYear("day")).values("y").annotate(**_aggregates()).order_by())
    return {r["y"]: Measures.of(r) for r in qs}


def measures_by_hour(s: Slice) -> dict[int, Measures]:
    return {k[0]: v for k, v in measures_by(s, "hour", model=SalesHour).items()}


# --- periods ----------------------------------------------------------------------------------------

def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def same_period_last_year(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    return add_months(start, -12), add_months(end, -12)


def same_period_last_month(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    return add_months(start, -1), add_months(end, -1)


def latest_day(location_ids: frozenset[int] | None) -> dt.date | None:
    qs = SalesDayLocation.objects.all()
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    return qs.order_by("-day").values_list("day", flat=True).first()


# --- the HQ / regional dashboard --------------------------------------------------------------------

@dataclass
class KpiRow:
    key: Any
    label: str
    m: Measures
    last_year: Measures
    last_month: Measures
    target: Decimal | None = None
    href: str = ""

    @property
    def yoy(self) -> Decimal | None:
        return growth(self.m.amount, self.last_year.amount)

    @property
    def mom(self) -> Decimal | None:
        return growth(self.m.amount, self.last_month.amount)

    @property
    def achievement(self) -> Decimal | None:
        return ratio(self.m.amount, self.target) if self.target else None


@dataclass
class SalesDashboard:
    start: dt.date
    end: dt.date
    total: KpiRow
    rows: list[KpiRow]
    daily: list[tuple[dt.date, Decimal, Decimal]]  # day, this year, same day last year
    month_target: Decimal | None
    by_channel: dict[str, Decimal] = field(default_factory=dict)


def targets_for(location_ids: Iterable[int] | None, month: dt.date) -> dict[int, Decimal]:
    qs = SalesTarget.objects.filter(month=month_start(month))
    if location_ids is not None:
        qs = qs.filter(location_id__in=list(location_ids))
    return dict(qs.values_list("location_id", "amount"))


def sales_dashboard(s: Slice, *, group: str, labels: dict[Any, str], location_region: dict[int, Any],
                    hrefs: dict[Any, str] | None = None) -> SalesDashboard:
    """Sales vs target, growth vs the same period last year and last month, share per ``group``
    (``region`` — rows keyed by the given labels' keys through ``location_region`` — or ``location``)."""
    ly = s.shifted(*same_period_last_year(s.start, s.end))
    lm = s.shifted(*same_period_last_month(s.start, s.end))
    now_by = measures_by(s, "location_id", model=SalesDayLocation)
    ly_by = measures_by(ly, "location_id", model=SalesDayLocation)
    lm_by = measures_by(lm, "location_id", model=SalesDayLocation)
    # targets: the month's target prorated to the days of the period when the period is part of a month
    month = month_start(s.start)
    days_in_month = calendar.monthrange(month.year, month.month)[1]
    tg = targets_for(s.location_ids if s.store_id is None else [s.store_id], month)
    if s.region_ids is not None:
        tg = {k: v for k, v in tg.items() if location_region.get(k) is not None}
    factor = Decimal((s.end - s.start).days + 1) / days_in_month if s.start.month == s.end.month else Decimal(1)

    def key_of(loc_id: int) -> Any:
        return loc_id if group == "location" else location_region.get(loc_id)

    rows: dict[Any, KpiRow] = {}
    total = KpiRow("", "", Measures(), Measures(), Measures(), None)
    for src, attr in ((now_by, "m"), (ly_by, "last_year"), (lm_by, "last_month")):
        for (loc_id,), m in src.items():
            k = key_of(loc_id)
            if k not in labels:
                continue
            row = rows.setdefault(k, KpiRow(k, labels[k], Measures(), Measures(), Measures(), None,
                                            (hrefs or {}).get(k, "")))
            getattr(row, attr).add(m)
            getattr(total, attr).add(m)
    for loc_id, amount in tg.items():
        k = key_of(loc_id)
        if k not in labels:
            continue
        row = rows.setdefault(k, KpiRow(k, labels[k], Measures(), Measures(), Measures(), None,
                                        (hrefs or {}).get(k, "")))
        row.target = money((row.target or ZERO) + amount * factor)
        total.target = money((total.target or ZERO) + amount * factor)
    daily_now = {k[0]: v.amount for k, v in measures_by(s, "day", model=SalesDayLocation).items()}
    daily_ly = {k[0]: v.amount for k, v in measures_by(ly, "day", model=SalesDayLocation).items()}
    daily = []
    d = s.start
    while d <= s.end:
        daily.append((d, money(daily_now.get(d)), money(daily_ly.get(add_months(d, -12)))))
        d += dt.timedelta(days=1)
    by_channel = {k[0]: money(v.amount) for k, v in measures_by(s, "channel", model=SalesDayLocation).items()}
    return SalesDashboard(start=s.start, end=s.end, total=total,
                          rows=sorted(rows.values(), key=lambda r: -r.m.amount), daily=daily,
                          month_target=money(sum(tg.values())) if tg else None, by_channel=by_channel)


# --- the store dashboard ----------------------------------------------------------------------------

@dataclass
class SkuFigure:
    sku_id: int
    quantity: int
    amount: Decimal
    margin: Decimal


@dataclass
class StoreFigures:
    m: Measures
    today: Measures
    area_m2: Decimal | None
    staff_hours: Decimal
    visitors: int
    transactions_with_traffic: int
    hourly_today: dict[int, Measures]
    top: list[SkuFigure]
    bottom: list[SkuFigure]

    @property
    def sales_per_m2(self) -> Decimal | None:
        return money(self.m.amount / self.area_m2) if self.area_m2 else None

    @property
    def sales_per_labour_hour(self) -> Decimal | None:
        return money(self.m.amount / self.staff_hours) if self.staff_hours else None

    @property
    def conversion(self) -> Decimal | None:
        return ratio(self.transactions_with_traffic, self.visitors)


def store_figures(*, store_id: int, area_m2: Decimal | None, start: dt.date, end: dt.date, today: dt.date,
                  n: int = 10) -> StoreFigures:
    from .models import FootTraffic, StaffHours

    s = Slice(start=start, end=end, store_id=store_id)
    m = measures_total(s, SalesDayLocation)
    t = measures_total(s.shifted(today, today), SalesDayLocation)
    hours = StaffHours.objects.filter(location_id=store_id, day__gte=start, day__lte=end).aggregate(h=Sum("hours"))["h"]
    traffic = dict(FootTraffic.objects.filter(location_id=store_id, day__gte=start, day__lte=end)
                   .values_list("day", "visitors"))
    tx_days = {k[0]: v.transactions for k, v in measures_by(s, "day", model=SalesDayLocation).items()}
    margin = ExpressionWrapper(F("amount") - F("tax") - F("cost"), output_field=DField(max_digits=18, decimal_places=4))
    per_sku = list(s.apply(SalesDaySku.objects.all()).values("sku_id")
                   .annotate(q=Sum("quantity"), a=Sum("amount"), mg=Sum(margin)).order_by("-a"))
    figs = [SkuFigure(r["sku_id"], int(r["q"] or 0), money(r["a"]), money(r["mg"])) for r in per_sku]
    return StoreFigures(
        m=m, today=t, area_m2=area_m2, staff_hours=Decimal(hours or 0), visitors=sum(traffic.values()),
        transactions_with_traffic=sum(tx_days.get(d, 0) for d in traffic),
        hourly_today=measures_by_hour(s.shifted(today, today)),
        top=figs[:n], bottom=list(reversed(figs[-n:])) if len(figs) > n else [],
    )


# --- purchasing -------------------------------------------------------------------------------------

@dataclass
class StockFigures:
    label: str
    key: Any
    inventory_value: Decimal = ZERO
    cogs: Decimal = ZERO
    margin: Decimal = ZERO
    pairs_active: int = 0  # (location, SKU) pairs that sold in the period or hold stock
    pairs_sold: int = 0
    pairs_selling_out: int = 0  # sold in the period, nothing available now
    overstock_value: Decimal = ZERO
    days: int = 1
    href: str = ""

    @property
    def turnover(self) -> Decimal | None:  # annualised: cost of goods sold ÷ inventory at cost
        return ratio(self.cogs * Decimal(365) / self.days, self.inventory_value, "0.01")

    @property
    def days_of_supply(self) -> Decimal | None:
        return ratio(self.inventory_value, self.cogs / self.days, "0.1") if self.cogs else None

    @property
    def stockout_rate(self) -> Decimal | None:
        return ratio(self.pairs_selling_out, self.pairs_sold)

    @property
    def sell_through(self) -> Decimal | None:
        return ratio(self.pairs_sold, self.pairs_active)

    @property
    def gmroi(self) -> Decimal | None:  # annualised gross margin ÷ inventory at cost
        return ratio(self.margin * Decimal(365) / self.days, self.inventory_value, "0.01")


OVERSTOCK_DAYS = 90


def purchasing_figures(*, start: dt.date, end: dt.date, location_ids: frozenset[int] | None,
                       group_of_category: dict[int, Any], labels: dict[Any, str],
                       hrefs: dict[Any, str] | None = None,
                       use_window: bool = True) -> tuple[StockFigures, list[StockFigures]]:
    """Turnover, days of supply, stock-out rate, sell-through, overstock value and GMROI, for the
    chain (or scope) and per group of categories. Stock is as of now (balances × moving-average cost,
    or the period's cost of sales per unit where no average is kept); flows are those of [start, end].

    One SQL statement does the work per store × SKU pair (sales of the period FULL JOIN the balances)
    and sums per category; the categories are then grouped here. The period's sales per pair come from
    the trailing window table (``SkuWindow``, kept by the subscriber) when the period is that window,
    else they are summed from the day rows."""
    from django.db import connection, transaction

    from mendian.catalog.models import Product, Sku
    from mendian.inventory.models import StockCost, StockLevel
    from mendian.org.models import Location

    from .models import SkuWindow
    from .rollups import WINDOW_DAYS, window_end

    days = (end - start).days + 1
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    scope_s = scope_l = ""
    params: list[Any] = [start, end]
    if location_ids is not None:
        ids = ",".join(str(int(i)) for i in location_ids) or "NULL"
        scope_s = f" AND location_id IN ({ids})"
        scope_l = f" AND l.location_id IN ({ids})"
    t = {m: m._meta.db_table for m in (SalesDaySku, StockLevel, StockCost, Location, Sku, Product)}
    unit = "COALESCE(NULLIF(sc.avg_cost, 0), CASE WHEN p.q > 0 THEN p.c / p.q ELSE 0 END)"
    if use_window and days == WINDOW_DAYS and window_end() == end:
        sales = (f"SELECT location_id, sku_id, quantity AS q, cost AS c, margin AS mg "
                 f"FROM {SkuWindow._meta.db_table} WHERE 1 = 1{scope_s}")
        params = []
    else:
        sales = (f"SELECT location_id, sku_id, SUM(quantity) AS q, SUM(cost) AS c, SUM(amount - tax - cost) AS mg "
                 f"FROM {t[SalesDaySku]} WHERE day >= %s AND day <= %s{scope_s} GROUP BY location_id, sku_id")
    stores = StockLevel.objects.filter(location__kind="store")
    if location_ids is not None:
        stores = stores.filter(location_id__in=location_ids)
    if stores.filter(lot__isnull=False).exists():  # lots: one balance per lot, summed per pair
        stock = (f"SELECT l.location_id, l.sku_id, SUM(l.on_hand) AS oh, SUM(l.on_hand - l.reserved) AS av "
                 f"FROM {t[StockLevel]} l JOIN {t[Location]} loc ON loc.id = l.location_id AND loc.kind = 'store' "
                 f"WHERE 1 = 1{scope_l} GROUP BY l.location_id, l.sku_id")
    else:  # one balance per pair (the constraint for rows without a lot): no grouping (~20 % of the time)
        store_ids = ",".join(str(int(i)) for i in Location.objects.filter(kind="store").values_list("pk", flat=True))
        stock = (f"SELECT l.location_id, l.sku_id, l.on_hand AS oh, l.on_hand - l.reserved AS av "
                 f"FROM {t[StockLevel]} l WHERE l.location_id IN ({store_ids or 'NULL'}){scope_l}")
    sql = f"""
        WITH s AS ({sales}),
        st AS ({stock}),
        p AS (
            SELECT COALESCE(s.location_id, st.location_id) AS loc, COALESCE(s.sku_id, st.sku_id) AS sku,
                   COALESCE(s.q, 0) AS q, COALESCE(s.c, 0) AS c, COALESCE(s.mg, 0) AS mg,
                   COALESCE(st.oh, 0) AS oh, COALESCE(st.av, 0) AS av
            FROM s FULL OUTER JOIN st ON st.location_id = s.location_id AND st.sku_id = s.sku_id)
        SELECT pr.category_id,
               SUM({unit} * {greatest}(p.oh, 0)),
               SUM(p.c), SUM(p.mg),
               SUM(CASE WHEN p.q > 0 OR p.oh > 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN p.q > 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN p.q > 0 AND p.av <= 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN p.oh > 0 THEN {unit} * {greatest}(p.oh - p.q * {OVERSTOCK_DAYS}.0 / {days}, 0)
                   ELSE 0 END)
        FROM p JOIN {t[Sku]} sk ON sk.id = p.sku JOIN {t[Product]} pr ON pr.id = sk.product_id
        LEFT JOIN {t[StockCost]} sc ON sc.location_id = p.loc AND sc.sku_id = p.sku
        GROUP BY pr.category_id
    """
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # one analytic statement: sort and hash in memory, and no JIT compilation (≈ 250 ms here)
            cur.execute("SET LOCAL work_mem = '64MB'")
            cur.execute("SET LOCAL jit = off")
        cur.execute(sql, params)
        rows = cur.fetchall()
    total = StockFigures(label="", key=None, days=days)
    groups: dict[Any, StockFigures] = {}
    for cat_id, value, cogs, mg, active, sold, outs, over in rows:
        g = group_of_category.get(cat_id)
        row = groups.get(g)
        if row is None:
            row = groups[g] = StockFigures(label=labels.get(g, "—"), key=g, days=days, href=(hrefs or {}).get(g, ""))
        for r in (row, total):
            r.inventory_value += Decimal(str(value or 0))
            r.cogs += Decimal(str(cogs or 0))
            r.margin += Decimal(str(mg or 0))
            r.overstock_value += Decimal(str(over or 0))
            r.pairs_active += int(active or 0)
            r.pairs_sold += int(sold or 0)
            r.pairs_selling_out += int(outs or 0)
    for r in [total, *groups.values()]:
        r.inventory_value, r.cogs, r.margin, r.overstock_value = (
            money(r.inventory_value), money(r.cogs), money(r.margin), money(r.overstock_value))
    return total, sorted(groups.values(), key=lambda r: -r.inventory_value)


def count_distinct_skus_sold(s: Slice) -> int:
    return s.apply(SalesDaySku.objects.all()).aggregate(n=Count("sku_id", distinct=True))["n"] or 0


# --- self-service pivot -----------------------------------------------------------------------------

DIMENSIONS = ("year", "month", "day", "weekday", "hour", "region", "store", "category", "sku", "channel", "member")


class PivotError(ValueError):
    pass


def _dim_expr(dim: str) -> tuple[str, Any]:
    from django.db.models.functions import ExtractIsoWeekDay, TruncMonth

    return {
        "year": ("d_year", ExtractYear("day")),
        "month": ("d_month", TruncMonth("day")),
        "day": ("day", None),
        "weekday": ("d_weekday", ExtractIsoWeekDay("day")),
        "hour": ("hour", None),
        "region": ("region_id", None),
        "store": ("location_id", None),
        "category": ("category_id", None),
        "sku": ("sku_id", None),
        "channel": ("channel", None),
        "member": ("member_tier", None),
    }[dim]


def pivot_grain(dims: Iterable[str]) -> type:
    dims = set(dims)
    if "hour" in dims:
        if dims & {"category", "sku"}:
            raise PivotError("hours are known per location only: drop category or SKU to pivot by hour")
        return SalesHour
    if "sku" in dims:
        return SalesDaySku
    if "category" in dims:
        return SalesDayCategory
    return SalesDayLocation


@dataclass
class Pivot:
    rows: list[Any]
    cols: list[Any]
    cells: dict[tuple[Any, Any], Measures]
    row_totals: dict[Any, Measures]
    col_totals: dict[Any, Measures]
    total: Measures


def pivot(s: Slice, *, rows: str, cols: str | None = None, max_rows: int = 200,
          category_group: dict[int, int] | None = None) -> Pivot:
    """Aggregate the rollups by one or two dimensions. ``category_group`` maps every category to the
    category it is counted under (e.g. its top-level ancestor)."""
    dims = [d for d in (rows, cols) if d]
    for d in dims:
        if d not in DIMENSIONS:
            raise PivotError(f"unknown dimension {d!r}")
    if cols == rows:
        cols = None
        dims = [rows]
    model = pivot_grain(dims)
    qs = s.apply(model.objects.all())
    names = []
    for d in dims:
        name, expr = _dim_expr(d)
        if expr is not None:
            qs = qs.annotate(**{name: expr})
        names.append(name)
    data = qs.values(*names).annotate(**_aggregates()).order_by()
    cells: dict[tuple[Any, Any], Measures] = {}
    for r in data:
        rk = r[names[0]]
        ck = r[names[1]] if cols else None
        if category_group is not None:
            if rows == "category":
                rk = category_group.get(rk, rk)
            if cols == "category":
                ck = category_group.get(ck, ck)
        if hasattr(rk, "date") and rows == "month":
            rk = rk.date() if isinstance(rk, dt.datetime) else rk
        if hasattr(ck, "date") and cols == "month":
            ck = ck.date() if isinstance(ck, dt.datetime) else ck
        cells.setdefault((rk, ck), Measures()).add(Measures.of(r))
    row_totals: dict[Any, Measures] = defaultdict(Measures)
    col_totals: dict[Any, Measures] = defaultdict(Measures)
    total = Measures()
    for (rk, ck), m in cells.items():
        row_totals[rk].add(m)
        col_totals[ck].add(m)
        total.add(m)
    time_like = {"year", "month", "day", "weekday", "hour"}
    if rows in time_like:
        row_keys = sorted(row_totals, key=lambda k: (k is None, k))
    else:
        row_keys = sorted(row_totals, key=lambda k: -row_totals[k].amount)
    row_keys = row_keys[:max_rows]
    col_keys = sorted(col_totals, key=lambda k: (k is None, str(k))) if cols else [None]
    if cols and cols not in time_like:
        col_keys = sorted(col_totals, key=lambda k: -col_totals[k].amount)[:30]
    return Pivot(rows=row_keys, cols=col_keys, cells=cells, row_totals=dict(row_totals),
                 col_totals=dict(col_totals), total=total)
