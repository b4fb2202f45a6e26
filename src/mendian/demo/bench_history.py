"""Benchmark of the sales-history import: rows/s for new rows and for updates, on the configured database.

    MENDIAN_VAR_DIR=/tmp/bench .venv/bin/python -m mendian.demo.bench_history --rows 2000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mendian_bench .venv/bin/python -m mendian.demo.bench_history

Uses a database of its own: it migrates it, adds the demo chain's master data (stores, SKUs) when
absent, writes a CSV of ``--rows`` rows (distinct location, SKU, day) under the var directory, imports
it twice (first all new rows, then all updates) and, with ``--orm N``, times Django's
``bulk_create(update_conflicts=True)`` on N rows for comparison. The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--stores", type=int, default=30)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--orm", type=int, default=0, help="also time bulk_create on this many rows")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mendian.settings")
    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from mendian.demo import generate as g
    from mendian.sales.history import sales_history_import
    from mendian.sales.models import SalesHistoryDay

    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(7)
    if not g.demo_chain_present():
        stores = g.plan_stores(rng, args.stores)
        skus = g.plan_skus(rng, args.skus)
        with transaction.atomic():
            g.create_org(stores)
            g.create_catalog(skus)
    SalesHistoryDay.objects.all().delete()
    store_codes = list(g.Location.objects.filter(kind="store").values_list("code", flat=True))
    sku_codes = list(g.Sku.objects.values_list("code", flat=True))
    pairs = len(store_codes) * len(sku_codes)
    n_days = -(-args.rows // pairs)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    path = settings.VAR_DIR / "bench_sales_history.csv"
    t = time.perf_counter()
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("date,location,sku,quantity,amount\n")
        for back in range(n_days):
            day = (yesterday - dt.timedelta(days=n_days - 1 - back)).isoformat()
            need = min(pairs, args.rows - written)
            qty = rng.integers(1, 30, size=need).tolist()
            fen = rng.integers(100, 50000, size=need).tolist()
            f.writelines(f"{day},{store_codes[i // len(sku_codes)]},{sku_codes[i % len(sku_codes)]},{q},"
                         f"{a // 100}.{a % 100:02d}\n" for i, q, a in zip(range(need), qty, fen, strict=True))
            written += need
    csv_s = time.perf_counter() - t

    def db_cpu() -> float:
        """CPU seconds of this connection's PostgreSQL backend (same machine), 0 on SQLite (in-process)."""
        if connection.vendor != "postgresql":
            return 0.0
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def timed():
        c0, d0 = time.process_time(), db_cpu()
        r = sales_history_import(source=path)
        return r, time.process_time() - c0, db_cpu() - d0

    first, cpu1, db1 = timed()
    second, cpu2, db2 = timed()
    load = os.getloadavg()[0]
    out = {
        "vendor": connection.vendor, "rows": written, "csv_write_s": round(csv_s, 2),
        "insert_s": round(first.seconds, 2), "insert_rows_per_s": round(first.rows_per_second),
        "insert_cpu_s": round(cpu1 + db1, 2), "insert_rows_per_cpu_s": round(written / max(cpu1 + db1, 1e-9)),
        "update_s": round(second.seconds, 2), "update_rows_per_s": round(second.rows_per_second),
        "update_cpu_s": round(cpu2 + db2, 2), "update_rows_per_cpu_s": round(written / max(cpu2 + db2, 1e-9)),
        "imported": first.imported, "updated": second.updated, "rejected": first.rejected + second.rejected,
        "load_avg_1m": round(load, 1),
    }
    if args.orm:
        import itertools

        ids_loc = dict(g.Location.objects.values_list("code", "id"))
        ids_sku = dict(g.Sku.objects.values_list("code", "id"))
        SalesHistoryDay.objects.all().delete()
        with open(path, encoding="utf-8") as f:
            next(f)
            objs = []
            t = time.perf_counter()
            for line in itertools.islice(f, args.orm):
                d, loc, sku, q, a = line.rstrip("\n").split(",")
                objs.append(SalesHistoryDay(location_id=ids_loc[loc], sku_id=ids_sku[sku], day=dt.date.fromisoformat(d),
                                            quantity=int(q), amount=a, source="import"))
            for i in range(0, len(objs), 5000):
                with transaction.atomic():
                    SalesHistoryDay.objects.bulk_create(objs[i:i + 5000], update_conflicts=True,
                                                        unique_fields=["location", "sku", "day"],
                                                        update_fields=["quantity", "amount", "source"])
            orm_s = time.perf_counter() - t
        out["orm_rows"] = len(objs)
        out["orm_rows_per_s"] = round(len(objs) / orm_s)
    print(f"{out['rows']} rows on {out['vendor']}: new rows {out['insert_rows_per_s']}/s ({out['insert_s']} s wall, "
          f"{out['insert_cpu_s']} s CPU), updates {out['update_rows_per_s']}/s ({out['update_s']} s wall, "
          f"{out['update_cpu_s']} s CPU), load average {out['load_avg_1m']}"
          + (f", bulk_create {out['orm_rows_per_s']}/s" if args.orm else ""))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
