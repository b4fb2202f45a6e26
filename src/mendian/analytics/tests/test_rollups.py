from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Sum

from mendian.analytics.models import OrderRollup, SalesDayCategory, SalesDayLocation, SalesDaySku, SalesHour
from mendian.analytics.rollups import order_rollup_apply, rollups_rebuild
from mendian.platform.models import OutboxEvent
from mendian.sales import services
from mendian.sales.models import Order, OrderLine, SalesHistoryDay

from .chain import deliver, online_order, pos_sale, refund

TZ = ZoneInfo("Asia/Shanghai")
COUNTED = ("paid", "fulfilled", "completed", "partially_refunded", "refunded")


def local(y, m, d, h, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=TZ)


def snapshot() -> dict:
    out = {}
    for model in (SalesDayLocation, SalesDayCategory, SalesDaySku, SalesHour):
        keys = [f.attname for f in model._meta.fields if f.attname not in ("id",)]
        out[model.__name__] = sorted(tuple(str(r[k]) for k in keys)
                                     for r in model.objects.values(*keys) if r["quantity"] or r["amount"])
    return out


def recount_from_orders() -> dict[tuple[int, dt.date], tuple[D, int, int]]:
    """Sales, net quantity and transactions per (store, local day), straight from the orders."""
    out: dict[tuple[int, dt.date], list] = {}
    for o in Order.objects.filter(status__in=COUNTED):
        day = (o.paid_at or o.created_at).astimezone(TZ).date()
        qty = sum(ln.quantity - ln.refunded_qty for ln in o.lines.all())
        row = out.setdefault((o.store_id, day), [D("0"), 0, 0])
        row[0] += o.total - o.refunded_total
        row[1] += qty
        row[2] += 1 if qty > 0 else 0
    return {k: tuple(v) for k, v in out.items() if v[0] or v[1]}


def rollup_by_store_day() -> dict[tuple[int, dt.date], tuple[D, int, int]]:
    rows = (SalesDayLocation.objects.values("location_id", "day")
            .annotate(a=Sum("amount"), q=Sum("quantity"), t=Sum("transactions")))
    return {(r["location_id"], r["day"]): (D(str(r["a"])).quantize(D("0.01")), r["q"], r["t"])
            for r in rows if r["q"] or r["a"]}


@pytest.fixture
def sales(chain):
    c = chain
    u = c.users
    orders = {
        "a": pos_sale(c, u["cashier_km1"], c.km1, [("S001", 2), ("S003", 1)], at=local(2026, 3, 10, 9, 30)),
        "b": pos_sale(c, u["cashier_km1"], c.km1, [("S002", 5)], at=local(2026, 3, 10, 23, 30), method="cash"),
        "c": pos_sale(c, u["cashier_km1"], c.km1, [("S004", 3), ("S001", 1)], at=local(2026, 3, 11, 0, 10)),
        "d": pos_sale(c, u["manager_km2"], c.km2, [("S003", 4)], at=local(2026, 3, 10, 12, 0)),
        "e": online_order(u["hq"], c.dl1, [("S002", 2), ("S004", 1)], at=local(2026, 3, 10, 15, 0)),
        "pending": online_order(u["hq"], c.dl1, [("S001", 7)], pay=False, at=local(2026, 3, 10, 16, 0)),
        "cancelled": online_order(u["hq"], c.km2, [("S001", 1)], at=local(2026, 3, 10, 17, 0)),
    }
    services.order_cancel(actor=u["hq"], order_id=orders["cancelled"].order.pk, now=local(2026, 3, 10, 18, 0))
    refund(u["manager_km1"], orders["a"].order, [(1, 1)])  # one of the two S001
    return orders


def test_rollups_follow_the_order_events_and_equal_a_recount_from_the_orders(chain, sales):
    assert SalesDayLocation.objects.count() == 0  # nothing inside the checkout transaction
    assert deliver() > 0
    expected = recount_from_orders()
    assert rollup_by_store_day() == expected
    km1, km2, dl1 = chain.km1.pk, chain.km2.pk, chain.dl1.pk
    # exact figures: a (12.50×2 + 9.90 − 12.50 refunded) + b (3.00×5) on the 10th; c after midnight, the 11th
    assert expected[(km1, dt.date(2026, 3, 10))] == (D("37.40"), 7, 2)
    assert expected[(km1, dt.date(2026, 3, 11))] == (D("35.81"), 4, 1)
    assert expected[(km2, dt.date(2026, 3, 10))] == (D("39.60"), 4, 1)
    assert expected[(dl1, dt.date(2026, 3, 10))] == (D("13.77"), 3, 1)
    assert set(expected) == {(km1, dt.date(2026, 3, 10)), (km1, dt.date(2026, 3, 11)), (km2, dt.date(2026, 3, 10)),
                             (dl1, dt.date(2026, 3, 10))}
    # hours are local hours; cost is the moving average (4.0000) of what is net sold
    hours = dict(SalesHour.objects.filter(location_id=km1).values_list("hour", "amount"))
    assert hours == {9: D("22.40"), 23: D("15.00"), 0: D("35.81")}
    assert SalesDaySku.objects.filter(location_id=km1, sku__code="S001").aggregate(q=Sum("quantity"))["q"] == 2
    for model in (SalesDayLocation, SalesDayCategory, SalesDaySku, SalesHour):
        agg = model.objects.aggregate(q=Sum("quantity"), c=Sum("cost"))
        assert D(str(agg["c"])).quantize(D("0.0001")) == D(4) * agg["q"], model.__name__
    # categories: S001/S002 are snacks, S003/S004 drinks
    cats = dict(SalesDayCategory.objects.filter(location_id=km1, day=dt.date(2026, 3, 10))
                .values_list("category__code", "amount"))
    assert cats == {"SNACK": D("27.50"), "DRINK": D("9.90")}
    # the rebuild recounts the same figures from scratch
    before = snapshot()
    rollups_rebuild()
    assert snapshot() == before


def test_a_redelivered_or_stale_event_changes_nothing(chain, sales):
    deliver()
    before = snapshot()
    number = sales["a"].order.number
    last = OrderRollup.objects.get(number=number).last_event_id
    assert order_rollup_apply(number=number, event_id=last) is False
    assert order_rollup_apply(number=number, event_id=1) is False
    assert order_rollup_apply(number=number) is False  # recomputed: the same contribution, no change
    OutboxEvent.objects.filter(payload__number=number).update(delivered_at=None)
    deliver()
    assert snapshot() == before


def test_a_refund_after_delivery_lowers_the_rollups(chain, sales):
    deliver()
    order = sales["d"].order
    refund(chain.users["manager_km2"], order, [(1, 4)])  # the whole order goes back
    deliver()
    row = SalesDayLocation.objects.get(location=chain.km2, day=dt.date(2026, 3, 10))
    assert (row.amount, row.quantity, row.transactions, row.cost) == (D("0.00"), 0, 0, D("0.0000"))
    assert rollup_by_store_day() == recount_from_orders()


def test_imported_history_counts_on_the_days_it_covers_and_orders_after_them(chain, sales):
    s1, s3 = chain.skus[0], chain.skus[2]
    for day, sku, q, a in ((dt.date(2026, 3, 8), s1, 3, "37.50"), (dt.date(2026, 3, 9), s3, 2, "19.80"),
                           (dt.date(2026, 3, 10), s1, 99, "999.00")):  # the 10th: history has the whole day
        SalesHistoryDay.objects.create(location=chain.km1, sku=sku, day=day, quantity=q, amount=D(a))
    SalesHistoryDay.objects.create(location=chain.km2, sku=s1, day=dt.date(2026, 3, 12), quantity=1, amount=D("5.00"),
                                   source="orders")  # sales' own roll-up of orders, not history
    call_command("rollups_rebuild")
    hist = {r.day: (r.amount, r.quantity, r.transactions, r.member_tier)
            for r in SalesDayLocation.objects.filter(location=chain.km1, channel="history")}
    assert hist == {dt.date(2026, 3, 8): (D("37.50"), 3, 0, "-"), dt.date(2026, 3, 9): (D("19.80"), 2, 0, "-"),
                    dt.date(2026, 3, 10): (D("999.00"), 99, 0, "-")}
    # tax from the SKU's VAT (13% on S001) and cost from the moving average (4.0000)
    row = SalesDaySku.objects.get(location=chain.km1, day=dt.date(2026, 3, 8))
    assert (row.tax, row.cost) == (D("4.31"), D("12.0000"))
    assert SalesDayCategory.objects.get(location=chain.km1, day=dt.date(2026, 3, 9)).category == chain.drinks
    expected = {**{k: v for k, v in recount_from_orders().items()
                   if not (k[0] == chain.km1.pk and k[1] <= dt.date(2026, 3, 10))},
                (chain.km1.pk, dt.date(2026, 3, 8)): (D("37.50"), 3, 0),
                (chain.km1.pk, dt.date(2026, 3, 9)): (D("19.80"), 2, 0),
                (chain.km1.pk, dt.date(2026, 3, 10)): (D("999.00"), 99, 0)}
    assert rollup_by_store_day() == expected
    assert (chain.km1.pk, dt.date(2026, 3, 11)) in expected  # orders after the history's last day count
    deliver()  # events after a rebuild change nothing: covered orders stay out, the others are counted
    assert rollup_by_store_day() == expected
    # a new sale on a covered day stays out; one after it counts
    pos_sale(chain, chain.users["cashier_km1"], chain.km1, [("S002", 1)], at=local(2026, 3, 10, 20, 0))
    pos_sale(chain, chain.users["cashier_km1"], chain.km1, [("S002", 1)], at=local(2026, 3, 11, 20, 0))
    deliver()
    day11 = expected[(chain.km1.pk, dt.date(2026, 3, 11))]
    expected[(chain.km1.pk, dt.date(2026, 3, 11))] = (day11[0] + D("3.00"), day11[1] + 1, day11[2] + 1)
    assert rollup_by_store_day() == expected


def test_a_rebuild_after_a_history_import_takes_back_what_orders_contributed(chain, sales):
    deliver()
    SalesHistoryDay.objects.create(location=chain.km2, sku=chain.skus[0], day=dt.date(2026, 3, 10), quantity=5,
                                   amount=D("62.50"))
    rollups_rebuild()
    refund(chain.users["manager_km2"], sales["d"].order, [(1, 1)])  # an event of a now-covered order
    deliver()
    row = SalesDayLocation.objects.get(location=chain.km2, day=dt.date(2026, 3, 10))
    assert (row.channel, row.amount, row.quantity) == ("history", D("62.50"), 5)


def test_rollup_lines_match_the_order_lines(chain, sales):
    deliver()
    net = {}
    for ln in OrderLine.objects.filter(order__status__in=COUNTED).select_related("sku"):
        net[ln.sku.code] = net.get(ln.sku.code, 0) + ln.quantity - ln.refunded_qty
    got = dict(SalesDaySku.objects.values("sku__code").annotate(q=Sum("quantity")).values_list("sku__code", "q"))
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in net.items() if v}
