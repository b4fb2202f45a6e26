"""Benchmark of the members app (issue 3): the hot calls of a checkout and the bulk jobs.

Builds a fresh database (SQLite file in a temporary directory by default, or ``--db-url`` for
PostgreSQL — the database must exist and is migrated), creates ``--members`` members, then measures:

- pricing inputs: ``member_pricing_context`` + ``wallet_coupons_for_pricing`` for a member holding 20
  coupons (median / p99 ms, SQL queries);
- per-checkout writes: ``coupon_redeem``, ``points_redeem`` and ``member_order_paid`` (median / p99 ms);
- an HQ coupon batch to every member (segment), run by the job in chunks (members per second);
- ``points_ledger_check`` over all members (seconds).

    .venv/bin/python bench/members.py [--members 20000] [--ops 300] [--db-url postgres://…/mendian_bench_members]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def timed(fn, n: int) -> tuple[float, float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(out), 3), round(pct(out, 0.99), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--ops", type=int, default=300)
    ap.add_argument("--db-url", default="")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mendian-bench-members-")
    os.environ["DATABASE_URL"] = args.db_url or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mendian.settings")
    os.environ.setdefault("MENDIAN_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from mendian.members import selectors, services
    from mendian.members.models import CouponTemplate, EarnRule, Member, Tier
    from mendian.org.models import Location, Region

    call_command("migrate", verbosity=0)
    now = timezone.now()
    region = Region.objects.create(code="BKM", name="Kunming")
    store = Location.objects.create(code="BKM001", name="Bench store", region=region)
    Tier.objects.create(code="NORMAL", name_zh="普卡", name_en="Standard", threshold=0)
    Tier.objects.create(code="SILVER", name_zh="银卡", name_en="Silver", threshold=1000,
                        points_multiplier=Decimal("1.5"))
    EarnRule.objects.create(name="base", points_per_yuan=Decimal("1"))
    normal = Tier.objects.get(code="NORMAL")
    t0 = time.perf_counter()
    Member.objects.bulk_create([Member(code=f"B{i:010d}", mobile=f"138{i:08d}", tier=normal, store=store,
                                       consent_marketing=True, points_balance=0, created_at=now)
                                for i in range(args.members)], batch_size=2000)
    create_s = time.perf_counter() - t0

    def template(code: str, **kw) -> CouponTemplate:
        return CouponTemplate.objects.create(code=code, name=code, kind="threshold", amount=Decimal("10"),
                                             threshold=Decimal("100"), valid_days=30, created_at=now, **kw)

    # pricing inputs: one member with 20 coupons of 20 templates (some out of scope)
    rich = Member.objects.get(code="B0000000000")
    for i in range(20):
        template(f"W{i:02d}", claimable=True, channels=["app"] if i % 4 == 0 else [])
        services.coupon_claim(member=rich, template_code=f"W{i:02d}")
    services.points_adjust(actor="bench", member=rich, points=10_000_000, note="bench")
    with CaptureQueriesContext(connection) as ctx:
        selectors.member_pricing_context(rich.code)
        wallet = selectors.wallet_coupons_for_pricing(member=rich.code, store="BKM001", channel="pos")
    pricing_queries = len(ctx.captured_queries)

    def pricing(_i: int) -> None:
        selectors.member_pricing_context(rich.code)
        selectors.wallet_coupons_for_pricing(member=rich.code, store="BKM001", channel="pos")

    pricing_ms = timed(pricing, args.ops)

    # checkout writes
    template("ONEEACH", per_member_limit=1, claimable=True)
    codes = [services.coupon_claim(member=f"B{i:010d}", template_code="ONEEACH").code for i in range(args.ops)]
    coupon_ms = timed(lambda i: services.coupon_redeem(coupon_code=codes[i], order_number=f"SO{i}"), args.ops)
    points_ms = timed(lambda i: services.points_redeem(member=rich, order_number=f"SO{i}", points=100), args.ops)
    paid_ms = timed(lambda i: services.member_order_paid(member_code=f"B{i:010d}", order_number=f"SO{i}",
                                                         amount=Decimal("123.45"), store_code="BKM001"), args.ops)

    # HQ batch to every member, through the job
    template("BATCH", per_member_limit=1)
    t0 = time.perf_counter()
    batch = services.coupon_batch_create(actor="bench", template_code="BATCH", segment={"stores": ["BKM001"]})
    while services.coupon_batches_run(max_chunks=1000):
        batch.refresh_from_db()
        if batch.status == "done":
            break
    batch_s = time.perf_counter() - t0
    batch.refresh_from_db()

    t0 = time.perf_counter()
    problems = selectors.points_ledger_check()
    check_s = time.perf_counter() - t0

    result = {
        "database": connection.vendor, "members": args.members, "ops": args.ops,
        "bulk_create_members_s": round(create_s, 2),
        "pricing_inputs": {"coupons_in_wallet": 20, "coupons_for_cart": len(wallet), "queries": pricing_queries,
                           "median_ms": pricing_ms[0], "p99_ms": pricing_ms[1]},
        "coupon_redeem": {"median_ms": coupon_ms[0], "p99_ms": coupon_ms[1]},
        "points_redeem": {"median_ms": points_ms[0], "p99_ms": points_ms[1]},
        "member_order_paid": {"median_ms": paid_ms[0], "p99_ms": paid_ms[1]},
        "coupon_batch": {"members": batch.total, "issued": batch.issued, "seconds": round(batch_s, 2),
                         "members_per_s": round(batch.total / batch_s) if batch_s else None},
        "points_ledger_check": {"members": args.members, "seconds": round(check_s, 3), "problems": len(problems)},
    }
    print(f"pricing inputs (member + wallet of 20): {pricing_ms[0]} ms median, {pricing_ms[1]} ms p99, "
          f"{pricing_queries} queries")
    print(f"coupon_redeem {coupon_ms[0]} ms, points_redeem {points_ms[0]} ms, member_order_paid {paid_ms[0]} ms "
          "(median)")
    print(f"coupon batch: {batch.total} members in {batch_s:.1f} s ({result['coupon_batch']['members_per_s']}/s)")
    print(f"points ledger check: {args.members} members in {check_s:.2f} s, {len(problems)} problems")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
