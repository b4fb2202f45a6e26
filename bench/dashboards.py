"""Dashboards over a year of a large chain: rollups against a direct query on the order lines.

Generates, into PostgreSQL, a chain of 100 stores × 1,000 SKUs × 365 days of daily sales —
realistically sparse: each store × SKU sells on a day with its own probability (mean ≈ 0.15,
intermittent slow movers to daily fast movers, weekly rhythm) — both as rollups (the four grains of
``mendian.analytics``) and as the orders and order lines they come from (one line per store × SKU ×
day, about four lines per order), plus a stock balance per store × SKU. Then it times each
dashboard's main query and a drill-down through the same selectors the console uses, against the
equivalent query on the order lines. Each figure is the median of 5 runs after one warm-up, wall
time on the server (SQL plus Python).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mendian_bench_dash .venv/bin/python bench/dashboards.py
    [--stores 100] [--skus 1000] [--days 365] [--keep] [--only NAME]   (--keep reuses a generated database)

The last line is a JSON object: {"dashboards": [{"name", "rollup_ms", "direct_ms"}, …], …}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/mendian_bench_dash"


def log(msg: str) -> None:
    print(msg, flush=True)


def ensure_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mendian.settings")
    os.environ.setdefault("MENDIAN_PG_PREPARE", "0")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def copy_frame(cur, table: str, df) -> None:
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=False)
    buf.seek(0)
    with cur.copy(f"COPY {table} ({', '.join(df.columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as cp:
        while chunk := buf.read(1 << 20):
            cp.write(chunk)


def generate(*, stores: int, skus: int, days: int, end: dt.date) -> dict:
    import numpy as np
    import pandas as pd
    from django.db import connection

    from mendian.analytics.models import SalesDayCategory, SalesDayLocation, SalesDaySku, SalesHour
    from mendian.catalog.models import Category, Product, Sku
    from mendian.inventory.models import StockCost, StockLevel
    from mendian.org.models import Location, Region
    from mendian.sales.models import Order, OrderLine

    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    hq = Region.objects.create(code="HQ", name="HQ", level="hq")
    regions = [Region.objects.create(code=f"R{r:02d}", name=f"Region {r}", parent=hq) for r in range(10)]
    locs = Location.objects.bulk_create([
        Location(code=f"R{i % 10:02d}{i:03d}", name=f"Store {i}", region=regions[i % 10], kind="store",
                 area_m2=200 + (i % 7) * 50) for i in range(stores)])
    tops = [Category.objects.create(code=f"T{t}", name=f"Top {t}") for t in range(5)]
    leaves = [Category.objects.create(code=f"L{c:02d}", name=f"Leaf {c}", parent=tops[c % 5]) for c in range(20)]
    prices = np.round(np.exp(rng.normal(2.3, 0.8, skus)), 1) + 0.9
    prods = Product.objects.bulk_create([Product(code=f"P{j:05d}", name=f"P{j}", category=leaves[j % 20])
                                         for j in range(skus)])
    sku_objs = Sku.objects.bulk_create([Sku(code=f"S{j:05d}", name=f"Item {j}", product=prods[j],
                                            list_price=f"{prices[j]:.2f}", vat_rate=13) for j in range(skus)])
    loc_ids = np.array([x.pk for x in locs])
    reg_ids = np.array([x.region_id for x in locs])
    sku_ids = np.array([x.pk for x in sku_objs])
    cat_ids = np.array([leaves[j % 20].pk for j in range(skus)])
    unit_cost = np.round(prices * 0.7 / 1.13, 4)
    rate = np.clip(rng.beta(0.5, 2.8, (stores, skus)), 0.002, 0.95)  # mean ≈ 0.15
    weekday = np.array([0.9, 0.85, 0.9, 0.95, 1.1, 1.25, 1.2])
    start = end - dt.timedelta(days=days - 1)
    order_no = 0
    total_rows = 0
    with connection.cursor() as c:
        cur = c.cursor
        # stock: one balance per store × SKU, some at or below zero
        st = pd.DataFrame({"location_id": np.repeat(loc_ids, skus), "sku_id": np.tile(sku_ids, stores),
                           "on_hand": rng.integers(-2, 120, stores * skus), "reserved": 0})
        copy_frame(cur, StockLevel._meta.db_table, st)
        copy_frame(cur, StockCost._meta.db_table, pd.DataFrame({
            "location_id": st.location_id, "sku_id": st.sku_id, "avg_cost": np.tile(unit_cost, stores),
            "updated_at": dt.datetime.now(dt.UTC).isoformat()}))
        for d in range(days):
            day = start + dt.timedelta(days=d)
            sells = rng.random((stores, skus)) < rate * weekday[day.weekday()]
            si, ki = np.nonzero(sells)
            n = len(si)
            qty = 1 + rng.poisson(1.5, n)
            amount = np.round(qty * prices[ki], 2)
            tax = np.round(amount * 13 / 113, 2)
            cost = np.round(qty * unit_cost[ki], 4)
            member = np.where(rng.random(n) < 0.4, "member", "")
            # orders: about four lines each, within a store's day
            per_order = 4
            idx_in_store = np.arange(n) - np.searchsorted(si, si)
            order_local = idx_in_store // per_order
            key = si * 100000 + order_local
            uniq, inv = np.unique(key, return_inverse=True)
            o_ids = order_no + 1 + np.arange(len(uniq))
            order_no += len(uniq)
            o_store = uniq // 100000
            hours = rng.integers(8, 22, len(uniq))
            created = pd.to_datetime([dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)] * len(uniq)) \
                + pd.to_timedelta(hours - 8, unit="h") + pd.to_timedelta(rng.integers(0, 3600, len(uniq)), unit="s")
            totals = pd.DataFrame({"o": inv, "a": amount, "t": tax, "c": cost}).groupby("o").sum()
            o_member = pd.Series(member).groupby(inv).first().to_numpy()
            copy_frame(cur, Order._meta.db_table, pd.DataFrame({
                "id": o_ids, "number": [f"B{x:09d}" for x in o_ids], "store_id": loc_ids[o_store], "channel": "pos",
                "fulfilment": "in_store", "status": "completed", "member_code": np.where(o_member == "member", "M1", ""),
                "subtotal": totals.a.round(2).to_numpy(), "discount_total": 0, "total": totals.a.round(2).to_numpy(),
                "tax_total": totals.t.round(2).to_numpy(), "cost_total": totals.c.round(4).to_numpy(),
                "paid_total": totals.a.round(2).to_numpy(), "change": 0, "refunded_total": 0, "pickup_code": "",
                "created_at": created.astype(str), "paid_at": created.astype(str)}))
            copy_frame(cur, OrderLine._meta.db_table, pd.DataFrame({
                "order_id": o_ids[inv], "line_no": idx_in_store % per_order + 1, "sku_id": sku_ids[ki],
                "quantity": qty, "unit_price": prices[ki], "price_unit_qty": 1, "discount": 0, "amount": amount,
                "tax": tax, "vat_rate": 13, "cost": cost, "refunded_qty": 0, "lots": "[]"}))
            copy_frame(cur, SalesDaySku._meta.db_table, pd.DataFrame({
                "day": day.isoformat(), "location_id": loc_ids[si], "region_id": reg_ids[si], "sku_id": sku_ids[ki],
                "category_id": cat_ids[ki], "channel": "pos", "member_tier": member, "quantity": qty,
                "amount": amount, "tax": tax, "cost": cost, "transactions": 1}))
            total_rows += n
            if d % 30 == 0:
                log(f"  day {d + 1}/{days}: {total_rows:,} store×SKU×day rows, {order_no:,} orders "
                    f"({time.perf_counter() - t0:.0f} s)")
        t_sku = SalesDaySku._meta.db_table
        cur.execute(f"""INSERT INTO {SalesDayCategory._meta.db_table} (day, location_id, region_id, category_id,
                        channel, member_tier, quantity, amount, tax, cost, transactions)
                        SELECT day, location_id, region_id, category_id, channel, member_tier, SUM(quantity),
                               SUM(amount), SUM(tax), SUM(cost), SUM(transactions)
                        FROM {t_sku} GROUP BY 1, 2, 3, 4, 5, 6""")
        # transactions per store and day = its orders (an order's lines share the member flag)
        cur.execute(f"""INSERT INTO {SalesDayLocation._meta.db_table} (day, location_id, region_id, channel,
                        member_tier, quantity, amount, tax, cost, transactions)
                        SELECT day, location_id, region_id, channel, member_tier, SUM(quantity), SUM(amount),
                               SUM(tax), SUM(cost), CEIL(SUM(transactions) / 4.0)
                        FROM {t_sku} GROUP BY 1, 2, 3, 4, 5""")
        cur.execute(f"""INSERT INTO {SalesHour._meta.db_table} (day, hour, location_id, region_id, channel,
                        member_tier, quantity, amount, tax, cost, transactions)
                        SELECT day, h, location_id, region_id, channel, member_tier, ROUND(quantity / 14.0),
                               ROUND(amount / 14, 2), ROUND(tax / 14, 2), ROUND(cost / 14, 4),
                               ROUND(transactions / 14.0)
                        FROM {SalesDayLocation._meta.db_table}, generate_series(8, 21) AS h""")
        cur.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Order._meta.db_table, order_no + 1])
        log(f"  rollups by category, location and hour ({time.perf_counter() - t0:.0f} s); ANALYZE")
        cur.execute("ANALYZE")
    return {"rows": total_rows, "orders": order_no, "generate_s": round(time.perf_counter() - t0, 1)}


def timed(fn, runs: int = 5) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def direct(sql: str, params: list):
    from django.db import connection

    def run():
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stores", type=int, default=100)
    ap.add_argument("--skus", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--keep", action="store_true", help="reuse the generated database when present")
    ap.add_argument("--only", default="", help="time only the dashboards whose name contains this")
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    if not url.startswith("postgres"):
        sys.exit("bench/dashboards.py needs PostgreSQL: DATABASE_URL=postgres://…")
    ensure_database(url)
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([str(ROOT / ".venv/bin/mendian"), "migrate", "-v0"], check=True, env=env)
    setup_django(url)
    from django.db import connection

    from mendian.analytics.models import SalesDaySku
    from mendian.analytics.selectors import (
        Slice,
        add_months,
        measures_by,
        measures_by_month,
        pivot,
        purchasing_figures,
        sales_dashboard,
        same_period_last_year,
        store_figures,
    )
    from mendian.catalog.models import Category, Sku
    from mendian.org.models import Location, Region
    from mendian.sales.models import Order

    end = dt.date(2026, 11, 24)
    if args.keep and SalesDaySku.objects.exists():
        info = {"rows": SalesDaySku.objects.count(), "orders": Order.objects.count(), "generate_s": None}
        log("reusing the generated chain")
    else:
        with connection.cursor() as cur:
            for t in ("analytics_salesdaysku", "analytics_salesdaycategory", "analytics_salesdaylocation",
                      "analytics_saleshour", "sales_orderline", "sales_order", "inventory_stocklevel",
                      "inventory_stockcost", "catalog_sku", "catalog_product", "catalog_category", "org_location",
                      "org_region"):
                cur.execute(f"TRUNCATE {t} RESTART IDENTITY CASCADE")
        log(f"generating {args.stores} stores × {args.skus} SKUs × {args.days} days …")
        info = generate(stores=args.stores, skus=args.skus, days=args.days, end=end)
    log(f"{info['rows']:,} store×SKU×day rows, {info['orders']:,} orders")

    from mendian.analytics.rollups import sku_window_refresh

    t0 = time.perf_counter()
    window_rows = sku_window_refresh(end=end)  # what the periodic job does when the day rolls over
    log(f"trailing 28-day store×SKU window recounted: {window_rows:,} rows in {time.perf_counter() - t0:.1f} s")
    tz = "Asia/Shanghai"
    stores = list(Location.objects.filter(kind="store").order_by("code"))
    store = stores[0]
    region = store.region
    region_store_ids = frozenset(s.pk for s in stores if s.region_id == region.pk)
    regions = {r.pk: r.code for r in Region.objects.exclude(level="hq")}
    loc_region = {s.pk: s.region_id for s in stores}
    top_of = {c.pk: (c.parent_id or c.pk) for c in Category.objects.all()}
    sku = Sku.objects.order_by("code").first()
    month_start = end.replace(day=1)
    year_start = end - dt.timedelta(days=364)
    lines = "sales_orderline l JOIN sales_order o ON o.id = l.order_id"
    counted = "o.status IN ('paid','fulfilled','completed','partially_refunded','refunded')"
    local_day = f"(o.created_at AT TIME ZONE '{tz}')::date"
    agg = ("SUM(l.amount), SUM(l.quantity), SUM(l.tax), SUM(l.cost), COUNT(DISTINCT o.id)")

    def span(a: dt.date, b: dt.date) -> list:
        return [dt.datetime.combine(a, dt.time(), dt.timezone(dt.timedelta(hours=8))),
                dt.datetime.combine(b + dt.timedelta(days=1), dt.time(), dt.timezone(dt.timedelta(hours=8)))]

    def hq_direct():
        out = []
        for a, b in ((month_start, end), same_period_last_year(month_start, end),
                     (add_months(month_start, -1), add_months(end, -1))):
            out.append(direct(f"SELECT o.store_id, {agg} FROM {lines} WHERE {counted} AND o.created_at >= %s "
                              f"AND o.created_at < %s GROUP BY 1", span(a, b))())
            out.append(direct(f"SELECT {local_day}, SUM(l.amount) FROM {lines} WHERE {counted} "
                              f"AND o.created_at >= %s AND o.created_at < %s GROUP BY 1", span(a, b))())
        return out

    cases = [
        ("hq_sales_month_vs_last_year_and_month",
         lambda: sales_dashboard(Slice(start=month_start, end=end), group="region", labels=regions,
                                 location_region=loc_region),
         hq_direct),
        ("chain_year_by_month",
         lambda: measures_by_month(Slice(start=year_start, end=end)),
         direct(f"SELECT date_trunc('month', o.created_at AT TIME ZONE '{tz}'), {agg} FROM {lines} "
                f"WHERE {counted} AND o.created_at >= %s AND o.created_at < %s GROUP BY 1", span(year_start, end))),
        ("drill_region_year_by_store",
         lambda: measures_by(Slice(start=year_start, end=end, region_ids=frozenset({region.pk})), "location_id"),
         direct(f"SELECT o.store_id, {agg} FROM {lines} WHERE {counted} AND o.store_id = ANY(%s) "
                f"AND o.created_at >= %s AND o.created_at < %s GROUP BY 1",
                [list(region_store_ids), *span(year_start, end)])),
        ("drill_store_year_by_category",
         lambda: measures_by(Slice(start=year_start, end=end, store_id=store.pk, category_ids=frozenset(top_of)),
                             "category_id"),
         direct(f"SELECT p.category_id, {agg} FROM {lines} JOIN catalog_sku s ON s.id = l.sku_id "
                f"JOIN catalog_product p ON p.id = s.product_id WHERE {counted} AND o.store_id = %s "
                f"AND o.created_at >= %s AND o.created_at < %s GROUP BY 1", [store.pk, *span(year_start, end)])),
        ("drill_sku_chain_year_by_month",
         lambda: measures_by_month(Slice(start=year_start, end=end, sku_id=sku.pk, category_ids=frozenset(top_of))),
         direct(f"SELECT date_trunc('month', o.created_at AT TIME ZONE '{tz}'), {agg} FROM {lines} "
                f"WHERE {counted} AND l.sku_id = %s AND o.created_at >= %s AND o.created_at < %s GROUP BY 1",
                [sku.pk, *span(year_start, end)])),
        ("store_manager_28d",
         lambda: store_figures(store_id=store.pk, area_m2=store.area_m2, start=end - dt.timedelta(days=27), end=end,
                               today=end),
         direct(f"SELECT l.sku_id, SUM(l.quantity), SUM(l.amount), SUM(l.amount - l.tax - l.cost) FROM {lines} "
                f"WHERE {counted} AND o.store_id = %s AND o.created_at >= %s AND o.created_at < %s "
                f"GROUP BY 1 ORDER BY 3 DESC", [store.pk, *span(end - dt.timedelta(days=27), end)])),
        ("pivot_region_by_month_year",
         lambda: pivot(Slice(start=year_start, end=end), rows="region", cols="month"),
         direct(f"SELECT loc.region_id, date_trunc('month', o.created_at AT TIME ZONE '{tz}'), {agg} FROM {lines} "
                f"JOIN org_location loc ON loc.id = o.store_id WHERE {counted} AND o.created_at >= %s "
                f"AND o.created_at < %s GROUP BY 1, 2", span(year_start, end))),
        ("purchasing_28d_chain",
         lambda: purchasing_figures(start=end - dt.timedelta(days=27), end=end, location_ids=None,
                                    group_of_category=top_of, labels={}),
         direct(f"SELECT o.store_id, l.sku_id, SUM(l.quantity), SUM(l.cost) FROM {lines} WHERE {counted} "
                f"AND o.created_at >= %s AND o.created_at < %s GROUP BY 1, 2",
                span(end - dt.timedelta(days=27), end))),
        ("purchasing_28d_chain_from_day_rows",  # another period than the window: summed from the day rows
         lambda: purchasing_figures(start=end - dt.timedelta(days=27), end=end, location_ids=None,
                                    group_of_category=top_of, labels={}, use_window=False),
         direct(f"SELECT o.store_id, l.sku_id, SUM(l.quantity), SUM(l.cost) FROM {lines} WHERE {counted} "
                f"AND o.created_at >= %s AND o.created_at < %s GROUP BY 1, 2",
                span(end - dt.timedelta(days=27), end))),
    ]
    results = []
    for name, rollup_fn, direct_fn in cases:
        if args.only and args.only not in name:
            continue
        r = timed(rollup_fn)
        d = timed(direct_fn, runs=3)
        results.append({"name": name, "rollup_ms": r, "direct_ms": d})
        log(f"{name:42s} rollup {r:8.1f} ms   direct on order lines {d:9.1f} ms")
    worst = max(x["rollup_ms"] for x in results)
    log(f"slowest dashboard from rollups: {worst} ms (goal: under 300 ms)")
    print(json.dumps({"dashboards": results, "stores": args.stores, "skus": args.skus, "days": args.days,
                      "sku_day_rows": info["rows"], "orders": info["orders"], "generate_s": info["generate_s"],
                      "max_rollup_ms": worst}))


if __name__ == "__main__":
    main()
