from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from mendian.analytics.models import (
    FootTraffic,
    SalesDayCategory,
    SalesDayLocation,
    SalesDaySku,
    SalesHour,
    SalesTarget,
    StaffHours,
)
from mendian.analytics.selectors import (
    PivotError,
    Slice,
    measures_total,
    pivot,
    purchasing_figures,
    sales_dashboard,
    store_figures,
)

D10 = dt.date(2026, 3, 10)


def day_row(loc, day, amount, *, tx=1, tier="", channel="pos", qty=1, cost="0", tax="0"):
    return SalesDayLocation.objects.create(location=loc, region=loc.region, day=day, channel=channel,
                                           member_tier=tier, amount=D(amount), quantity=qty, transactions=tx,
                                           cost=D(cost), tax=D(tax))


def test_sales_dashboard_compares_with_last_year_last_month_and_the_target(chain):
    km1, km2, dl1 = chain.km1, chain.km2, chain.dl1
    day_row(km1, D10, "100.00", tx=2, tier="member", cost="50", tax="10")
    day_row(km1, D10, "50.00", tx=1, tier="")
    day_row(km1, dt.date(2025, 3, 10), "120.00")  # same day last year
    day_row(km1, dt.date(2026, 2, 10), "75.00")  # same day last month
    day_row(km2, D10, "30.00", tx=0, tier="-", channel="history")
    day_row(dl1, D10, "20.00")
    day_row(dl1, dt.date(2026, 3, 11), "999.00")  # outside the period
    SalesTarget.objects.create(location=km1, month=dt.date(2026, 3, 1), amount=D("3100.00"))
    s = Slice(start=D10, end=D10)
    labels = {chain.km.pk: "KM", chain.dl.pk: "DL"}
    dash = sales_dashboard(s, group="region", labels=labels,
                           location_region={km1.pk: chain.km.pk, km2.pk: chain.km.pk, dl1.pk: chain.dl.pk})
    t = dash.total
    assert t.m.amount == D("200.00")
    assert t.last_year.amount == D("120.00") and t.last_month.amount == D("75.00")
    assert t.yoy == D("0.6667") and t.mom == D("1.6667")
    assert t.target == D("100.00")  # 3100 for March, prorated to 1 of 31 days
    assert t.achievement == D("2.0000")
    assert t.m.transactions == 4
    assert t.m.atv == D("42.50")  # (100 + 50 + 20) / 4: history rows know no transactions
    assert t.m.member_share == D("0.5882")  # 100 / 170: history knows no members
    assert t.m.margin == D("140.00")
    assert [(r.label, r.m.amount) for r in dash.rows] == [("KM", D("180.00")), ("DL", D("20.00"))]
    assert dash.daily == [(D10, D("200.00"), D("120.00"))]
    # a region user's scope sees only its stores
    scoped = sales_dashboard(Slice(start=D10, end=D10, location_ids=frozenset({dl1.pk})), group="location",
                             labels={dl1.pk: "DL001"}, location_region={dl1.pk: chain.dl.pk})
    assert scoped.total.m.amount == D("20.00") and scoped.total.target is None


def test_store_figures_per_square_metre_labour_hour_and_conversion(chain):
    km1 = chain.km1
    day_row(km1, D10, "400.00", tx=8)
    day_row(km1, dt.date(2026, 3, 11), "100.00", tx=2)
    StaffHours.objects.create(location=km1, day=D10, hours=D("16.00"))
    StaffHours.objects.create(location=km1, day=dt.date(2026, 3, 11), hours=D("4.00"))
    FootTraffic.objects.create(location=km1, day=D10, visitors=40)  # the 11th has no count
    SalesHour.objects.create(location=km1, region=km1.region, day=dt.date(2026, 3, 11), hour=10, channel="pos",
                             amount=D("100.00"), quantity=1, transactions=2)
    for sku, amount in zip(chain.skus, ("50", "10", "30", "5"), strict=True):
        SalesDaySku.objects.create(location=km1, region=km1.region, day=D10, channel="pos", sku=sku,
                                   category=sku.product.category, amount=D(amount), quantity=1, transactions=1)
    f = store_figures(store_id=km1.pk, area_m2=km1.area_m2, start=D10, end=dt.date(2026, 3, 11),
                      today=dt.date(2026, 3, 11), n=2)
    assert f.m.amount == D("500.00")
    assert f.sales_per_m2 == D("5.00")
    assert f.sales_per_labour_hour == D("25.00")
    assert f.conversion == D("0.2000")  # 8 transactions of 40 visitors, on the day with a count
    assert f.today.amount == D("100.00") and f.hourly_today[10].amount == D("100.00")
    assert [x.amount for x in f.top] == [D("50.00"), D("30.00")]
    assert [x.amount for x in f.bottom] == [D("5.00"), D("10.00")]


def test_purchasing_figures(chain):
    # every store holds 1000 of each SKU at 4.00 (make_chain)
    km1, s1, s2 = chain.km1, chain.skus[0], chain.skus[1]
    for sku, qty, cost, amount in ((s1, 280, "1120", "3500"), (s2, 28, "112", "84")):
        SalesDaySku.objects.create(location=km1, region=km1.region, day=D10, channel="pos", sku=sku,
                                   category=sku.product.category, quantity=qty, cost=D(cost), amount=D(amount),
                                   tax=D("0"), transactions=1)
    group = {chain.snacks.pk: "snacks", chain.food.pk: "snacks", chain.drinks.pk: "drinks"}
    total, groups = purchasing_figures(start=dt.date(2026, 2, 11), end=D10, location_ids=frozenset({km1.pk}),
                                       group_of_category=group, labels={"snacks": "Snacks", "drinks": "Drinks"})
    assert total.days == 28
    assert total.inventory_value == D("16000.00")  # 4 SKUs × 1000 × 4.00 (stock as of now)
    assert total.cogs == D("1232.00")
    assert total.margin == D("2352.00")
    assert total.pairs_active == 4 and total.pairs_sold == 2 and total.stockout_rate == D("0")
    assert total.sell_through == D("0.5000")
    # overstock: beyond 90 days of the sales rate: s1 sells 10/day → keeps 900, 100 over; s2 keeps 90, 910 over;
    # the two SKUs that did not sell are over whole
    assert total.overstock_value == D("4") * (100 + 910 + 1000 + 1000)
    assert total.turnover == D("1.00")  # 1232 × 365/28 ÷ 16000
    assert total.gmroi == D("1.92")  # 2352 × 365/28 ÷ 16000
    snacks = next(g for g in groups if g.key == "snacks")
    assert snacks.days_of_supply == D("181.8")  # 8000 ÷ (1232/28)


def test_pivot_by_region_and_channel(chain):
    day_row(chain.km1, D10, "10.00", channel="pos")
    day_row(chain.km2, D10, "5.00", channel="miniprogram")
    day_row(chain.dl1, dt.date(2026, 3, 11), "7.00", channel="pos")
    pv = pivot(Slice(start=D10, end=dt.date(2026, 3, 11)), rows="region", cols="channel")
    assert pv.rows == [chain.km.pk, chain.dl.pk]
    assert pv.cells[(chain.km.pk, "pos")].amount == D("10.00")
    assert pv.cells[(chain.km.pk, "miniprogram")].amount == D("5.00")
    assert pv.col_totals["pos"].amount == D("17.00") and pv.total.amount == D("22.00")
    by_day = pivot(Slice(start=D10, end=dt.date(2026, 3, 11)), rows="day")
    assert [(k, m.amount) for k, m in by_day.row_totals.items()] == [(D10, D("15.00")),
                                                                     (dt.date(2026, 3, 11), D("7.00"))]
    with pytest.raises(PivotError):
        pivot(Slice(start=D10, end=D10), rows="hour", cols="sku")


def test_category_slice_counts_descendants(chain):
    for cat, amount in ((chain.snacks, "3.00"), (chain.drinks, "4.00")):
        SalesDayCategory.objects.create(location=chain.km1, region=chain.km, day=D10, channel="pos", category=cat,
                                        amount=D(amount), quantity=1, transactions=1)
    food = Slice(start=D10, end=D10, category_ids=frozenset({chain.food.pk, chain.snacks.pk}))
    assert measures_total(food).amount == D("3.00")
