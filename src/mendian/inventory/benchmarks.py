"""Figures of the stock ledger's hot paths, measured in a throw-away test database.

    python -m mendian.inventory.benchmarks [--calls 1000] [--stores 32] [--skus 1100]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mendian python -m mendian.inventory.benchmarks

Prints statements and time per call of a 5-line ``stock_sell`` (POS) and ``stock_reserve`` +
``stock_release`` (online), the bulk opening of stores × SKUs balances and the ledger check over
them; the last line is one JSON object. Single-threaded: throughput under concurrency is measured
end to end by ``bench/checkout.py``.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--stores", type=int, default=32)
    parser.add_argument("--skus", type=int, default=1100)
    args = parser.parse_args()
    from mendian.core.testing import run_benchmark_in_test_database

    result = run_benchmark_in_test_database(lambda: _run(args))
    print(json.dumps(result))


def _run(args: argparse.Namespace) -> dict:
    from decimal import Decimal

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from mendian.catalog.models import Category, Product, Sku
    from mendian.org.models import Location, Region
    from mendian.platform.batch import write_batch

    from .services import (
        OpeningRow,
        StockLine,
        stock_ledger_report,
        stock_opening_bulk,
        stock_release,
        stock_reserve,
        stock_sell,
    )

    region = Region.objects.create(code="BN", name="bench")
    stores = Location.objects.bulk_create([Location(code=f"BN{i:03d}", name=f"Store {i}", region=region)
                                           for i in range(args.stores)])
    cat = Category.objects.create(code="BN", name="bench")
    product = Product.objects.create(code="BN", name="bench", category=cat)
    skus = Sku.objects.bulk_create([Sku(code=f"BN{i:05d}", product=product, name=f"Item {i}", list_price=Decimal("9.90"),
                                        lot_tracked=i % 10 == 9) for i in range(args.skus)])
    stores = list(Location.objects.filter(region=region).order_by("code"))
    skus = list(Sku.objects.filter(product=product).order_by("code"))
    rows = []
    for st in stores:
        for s in skus:
            if s.lot_tracked:
                rows.append(OpeningRow(st.pk, s.pk, 50_000, Decimal("3.10"), "L1", None))
                rows.append(OpeningRow(st.pk, s.pk, 50_000, Decimal("3.30"), "L2", None))
            else:
                rows.append(OpeningRow(st.pk, s.pk, 100_000, Decimal("2.00")))
    t = time.perf_counter()
    opened = stock_opening_bulk(rows=rows)
    opening_s = time.perf_counter() - t
    print(f"opening balances: {opened.levels} balances, {opened.movements} movements in {opening_s:.2f} s")

    store = stores[0]
    plain = [s for s in skus if not s.lot_tracked][:5]
    lines = [StockLine(s.pk, 1) for s in plain]

    def sell(i: int) -> None:
        with transaction.atomic(), write_batch():
            stock_sell(location_id=store.pk, lines=lines, doc_type="bench", doc_ref=f"P{i}", user_id=None)

    def reserve_release(i: int) -> None:
        with transaction.atomic(), write_batch():
            takes = stock_reserve(location_id=store.pk, lines=lines, doc_type="bench", doc_ref=f"O{i}", user_id=None)
        with transaction.atomic(), write_batch():
            stock_release(location_id=store.pk, takes=takes, doc_type="bench", doc_ref=f"O{i}", user_id=None)

    def measure(fn, n: int) -> tuple[float, float, int]:
        for i in range(20):
            fn(-i - 1)
        with CaptureQueriesContext(connection) as ctx:
            fn(0)
        statements = len([q for q in ctx.captured_queries
                          if not q["sql"].upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))])
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(1, n + 1):
            fn(i)
        return (time.perf_counter() - w0) / n * 1000, (time.process_time() - c0) / n * 1000, statements

    sell_ms, sell_cpu, sell_st = measure(sell, args.calls)
    print(f"stock_sell, 5 lines: {sell_st} statements; {sell_ms:.2f} ms per call ({sell_cpu:.2f} ms CPU in Python), "
          f"{1000 / sell_ms:.0f} calls/s on one connection, commit included")
    rr_ms, rr_cpu, rr_st = measure(reserve_release, max(1, args.calls // 2))
    print(f"stock_reserve + stock_release, 5 lines: {rr_st} statements; {rr_ms:.2f} ms per pair "
          f"({rr_cpu:.2f} ms CPU)")
    t = time.perf_counter()
    report = stock_ledger_report()
    check_s = time.perf_counter() - t
    print(f"ledger check: {report.levels} balances, {report.movements} movements, {len(report.problems)} problems "
          f"in {check_s:.2f} s")
    return {"opening_balances": opened.levels, "opening_s": round(opening_s, 2),
            "sell_statements": sell_st, "sell_ms": round(sell_ms, 2), "sell_cpu_ms": round(sell_cpu, 2),
            "reserve_release_statements": rr_st, "reserve_release_ms": round(rr_ms, 2),
            "reserve_release_cpu_ms": round(rr_cpu, 2), "ledger_check_s": round(check_s, 2),
            "ledger_problems": len(report.problems)}


if __name__ == "__main__":
    main()
