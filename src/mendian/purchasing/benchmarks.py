"""Figures of purchasing's heavy paths, measured in a throw-away test database.

    python -m mendian.purchasing.benchmarks [--locations 20] [--skus 1000] [--suppliers 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mendian_purchasing python -m mendian.purchasing.benchmarks

Builds locations × SKUs with a planning policy each (reorder point 40, order-up-to 120) and random
opening stock (0–120, so about a third of the pairs are at or below their reorder point), then
times one chain-wide ``purchase_order_suggest`` (statements, pairs, lines and orders), the same
with a budget of half its value, and a 50-line goods receipt through the ledger. The last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=20)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--suppliers", type=int, default=5)
    args = parser.parse_args()
    from mendian.core.testing import run_benchmark_in_test_database

    result = run_benchmark_in_test_database(lambda: _run(args))
    print(json.dumps(result))


def _run(args: argparse.Namespace) -> dict:
    import random
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from mendian.catalog.models import Category, Product, Sku
    from mendian.inventory.services import OpeningRow, stock_ledger_check, stock_opening_bulk
    from mendian.org.models import Location, Region, RoleAssignment
    from mendian.planning.models import StockPolicy

    from . import services
    from .models import PurchaseOrder, Supplier, SupplierSku
    from .selectors import purchasing_access

    rng = random.Random(7)
    region = Region.objects.create(code="BN", name="bench")
    Location.objects.bulk_create([Location(code=f"BN{i:03d}", name=f"Loc {i}", region=region,
                                           kind=Location.Kind.WAREHOUSE if i == 0 else Location.Kind.STORE)
                                  for i in range(args.locations)])
    cat = Category.objects.create(code="BN", name="bench")
    product = Product.objects.create(code="BN", name="bench", category=cat)
    Sku.objects.bulk_create([Sku(code=f"BN{i:05d}", product=product, name=f"Item {i}", list_price=Decimal("9.90"))
                             for i in range(args.skus)])
    locs = list(Location.objects.filter(region=region).order_by("code"))
    skus = list(Sku.objects.filter(product=product).order_by("code"))
    sups = Supplier.objects.bulk_create([Supplier(code=f"S{i}", name=f"Supplier {i}", email=f"s{i}@bench.example")
                                         for i in range(args.suppliers)])
    SupplierSku.objects.bulk_create([SupplierSku(supplier=sups[i % len(sups)], sku=s, pack_size=(6, 12, 24)[i % 3],
                                                 moq=(0, 24, 48)[i % 3], cost_price=Decimal("3.2500"))
                                     for i, s in enumerate(skus)])
    now = timezone.now()
    StockPolicy.objects.bulk_create([StockPolicy(location=loc, sku=s, abc="ABC"[i % 3], service_level=0.95,
                                                 safety_stock=15, reorder_point=40, order_up_to=120, computed_at=now)
                                     for loc in locs for i, s in enumerate(skus)])
    stock_opening_bulk(rows=[OpeningRow(loc.pk, s.pk, rng.randint(0, 120), Decimal("3.00")) for loc in locs
                             for s in skus])
    buyer = get_user_model().objects.create_user(username="bench.buyer", password="x")
    RoleAssignment.objects.create(user=buyer, role="buyer")
    access = purchasing_access(buyer)

    t0 = time.perf_counter()
    with CaptureQueriesContext(connection) as q:
        res = services.purchase_order_suggest(actor=buyer, access=access)
    suggest_s = time.perf_counter() - t0
    lines = sum(o.lines.count() for o in res.orders)
    total = res.total
    PurchaseOrder.objects.all().delete()

    t0 = time.perf_counter()
    with CaptureQueriesContext(connection) as qb:
        budgeted = services.purchase_order_suggest(actor=buyer, access=access, budget=(total / 2).quantize(Decimal("0.01")))
    budget_s = time.perf_counter() - t0

    # a 50-line receipt through the ledger
    order = budgeted.orders[0]
    for step in (services.purchase_order_approve, services.purchase_order_send):
        step(actor=buyer, access=access, number=order.number)
    po_lines = list(order.lines.all()[:50])
    t0 = time.perf_counter()
    with CaptureQueriesContext(connection) as qr:
        services.receipt_create(actor=buyer, access=access, order_number=order.number,
                                lines=[services.ReceiveLine(ln.sku_id, ln.quantity, 1 if i % 10 == 0 else 0)
                                       for i, ln in enumerate(po_lines)])
    receipt_s = time.perf_counter() - t0
    assert stock_ledger_check() == []
    out = {
        "locations": args.locations, "skus": args.skus, "pairs": res.pairs_considered,
        "suggest_s": round(suggest_s, 3), "suggest_statements": len(q.captured_queries),
        "orders": len(res.orders), "lines": lines, "total": str(total),
        "budget_suggest_s": round(budget_s, 3), "budget_statements": len(qb.captured_queries),
        "budget_lines_dropped": len(budgeted.dropped), "budget_total": str(budgeted.total),
        "receipt_lines": len(po_lines), "receipt_ms": round(receipt_s * 1000, 1),
        "receipt_statements": len(qr.captured_queries),
    }
    for k, v in out.items():
        print(f"{k:>22}: {v}")
    return out


if __name__ == "__main__":
    main()
