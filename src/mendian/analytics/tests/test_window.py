"""The purchasing dashboard's trailing store × SKU window: kept by the subscriber, equal to a recount,
and giving the same figures as the sum of the day rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from mendian.analytics.jobs import sku_window_roll
from mendian.analytics.models import SkuWindow, SkuWindowEnd
from mendian.analytics.rollups import rollups_rebuild, sku_window_refresh
from mendian.analytics.selectors import purchasing_figures

from .chain import deliver, pos_sale, refund
from .test_rollups import local


def window() -> dict:
    return {(r.location_id, r.sku_id): (r.quantity, r.cost, r.margin, r.category_id)
            for r in SkuWindow.objects.all() if r.quantity or r.cost or r.margin}


def figures(chain, *, start, end, use_window):
    group_of = {c.pk: c.pk for c in (chain.snacks, chain.drinks, chain.food)}
    total, groups = purchasing_figures(start=start, end=end, location_ids=None, group_of_category=group_of,
                                       labels={}, use_window=use_window)
    return total, [(g.key, g) for g in groups]


def test_the_window_follows_the_order_events_and_equals_a_recount(chain):
    u = chain.users
    end = dt.date(2026, 3, 28)
    a = pos_sale(chain, u["cashier_km1"], chain.km1, [("S001", 2), ("S003", 1)], at=local(2026, 3, 1, 9))  # first day
    pos_sale(chain, u["cashier_km1"], chain.km1, [("S001", 4)], at=local(2026, 2, 28, 20))  # a day before the window
    deliver()
    assert sku_window_refresh(end=end) == 2
    assert SkuWindowEnd.objects.get().end_day == end
    s1, s3 = chain.skus[0].pk, chain.skus[2].pk
    assert window()[(chain.km1.pk, s1)][0] == 2  # 2026-02-28 is outside
    # the subscriber keeps it: a new sale, one of another store, a refund, a sale after the window's end
    pos_sale(chain, u["cashier_km1"], chain.km1, [("S001", 3), ("S004", 2)], at=local(2026, 3, 28, 21))
    pos_sale(chain, u["manager_km2"], chain.km2, [("S003", 5)], at=local(2026, 3, 20, 12))
    pos_sale(chain, u["manager_km2"], chain.km2, [("S003", 7)], at=local(2026, 3, 29, 8))  # tomorrow
    refund(u["manager_km1"], a.order, [(2, 1)])  # the S003 of the first sale goes back
    deliver()
    kept = window()
    assert kept[(chain.km1.pk, s1)][:2] == (5, D("20.0000"))
    assert kept[(chain.km2.pk, s3)][:2] == (5, D("20.0000"))
    assert (chain.km1.pk, s3) not in kept  # refunded to zero
    # S001 12.50 incl. 13 % VAT, cost 4.0000: margin = 5 × 12.50 − tax − 20
    assert kept[(chain.km1.pk, s1)][2] == D("62.50") - D("7.19") - D("20.0000")
    sku_window_refresh(end=end)
    assert window() == kept
    # the dashboard gives the same figures from the window as from the day rows
    start = end - dt.timedelta(days=27)
    assert figures(chain, start=start, end=end, use_window=True) == figures(chain, start=start, end=end,
                                                                             use_window=False)
    total, _ = figures(chain, start=start, end=end, use_window=True)
    assert total.cogs == D("20.00") + D("8.00") + D("20.00")  # S001 ×5, S004 ×2, S003 ×5 at 4.00
    # the rebuild recounts the window too
    rollups_rebuild()
    assert window() == kept


def test_the_periodic_job_rolls_the_window_to_today(chain, monkeypatch):
    import mendian.analytics.jobs as jobs

    pos_sale(chain, chain.users["cashier_km1"], chain.km1, [("S002", 3)], at=local(2026, 3, 10, 9))
    deliver()
    assert not SkuWindow.objects.exists() and SkuWindowEnd.objects.get().end_day is None  # not counted yet
    monkeypatch.setattr(jobs, "local_date", lambda: dt.date(2026, 4, 6))
    sku_window_roll()
    assert SkuWindowEnd.objects.get().end_day == dt.date(2026, 4, 6)
    assert [(r.location_id, r.quantity) for r in SkuWindow.objects.all()] == [(chain.km1.pk, 3)]
    monkeypatch.setattr(jobs, "local_date", lambda: dt.date(2026, 4, 7))  # the 10th of March leaves the window
    sku_window_roll()
    assert SkuWindowEnd.objects.get().end_day == dt.date(2026, 4, 7) and not SkuWindow.objects.exists()


def test_balances_held_in_lots_count_once_per_pair(chain):
    """A pair's balance split into lots gives the same figures as the same balance in one row (the
    query sums per pair only when lots exist)."""
    from mendian.inventory.models import Lot, StockLevel

    pos_sale(chain, chain.users["cashier_km1"], chain.km1, [("S001", 3)], at=local(2026, 3, 20, 9))
    deliver()
    end = dt.date(2026, 3, 28)
    sku_window_refresh(end=end)
    start = end - dt.timedelta(days=27)
    before = figures(chain, start=start, end=end, use_window=True)
    assert before[0].pairs_active == 12 and before[0].pairs_sold == 1
    level = StockLevel.objects.get(location=chain.km1, sku=chain.skus[0], lot__isnull=True)
    assert level.on_hand == 997
    lot = Lot.objects.create(sku=chain.skus[0], code="L1")
    StockLevel.objects.create(location=chain.km1, sku=chain.skus[0], lot=lot, on_hand=400)
    StockLevel.objects.filter(pk=level.pk).update(on_hand=597)
    assert figures(chain, start=start, end=end, use_window=True) == before
    assert figures(chain, start=start, end=end, use_window=False) == before
    StockLevel.objects.filter(pk=level.pk).update(on_hand=0)  # and with the lot alone: less stock
    assert figures(chain, start=start, end=end, use_window=True)[0].inventory_value < before[0].inventory_value
