"""The demand model and the plans, without a database."""

from __future__ import annotations

import datetime as dt

import numpy as np

from mendian.catalog.domain import ean13_is_valid
from mendian.demo import demand
from mendian.demo.generate import plan_assortment, plan_skus, plan_stores

DAYS = [dt.date(2025, 10, 1) + dt.timedelta(days=i) for i in range(400)]


def test_weekends_sell_more_than_midweek():
    f = demand.day_factors(DAYS)
    plain = [i for i, d in enumerate(DAYS) if demand.calendar([d])[0].holiday is None]
    sat = np.mean([f[0, i] for i in plain if DAYS[i].weekday() == 5 and demand.calendar([DAYS[i]])[0].dow == 5])
    tue = np.mean([f[0, i] for i in plain if DAYS[i].weekday() == 1])
    assert sat > 1.15 * tue
    assert f[1].max() > f[0].max()  # tourist towns peak higher


def test_spring_festival_run_up_is_the_peak_of_the_year_and_golden_week_lifts():
    f = demand.day_factors(DAYS)
    peak = DAYS[int(np.argmax(f[0]))]
    # Spring Festival 2026 holidays start on 15 February; the biggest day falls in the run-up to the eve
    assert dt.date(2026, 2, 5) <= peak <= dt.date(2026, 2, 16)
    national_day = DAYS.index(dt.date(2025, 10, 3))
    assert f[0, national_day] == demand.HOLIDAYS["National Day"][0]
    assert f[1, national_day] == demand.HOLIDAYS["National Day"][1]


def test_a_working_weekend_sells_like_a_weekday():
    info = demand.calendar([dt.date(2026, 2, 28)])[0]  # a Saturday made a working day (调休)
    assert info.dow == 2 and info.holiday is None


def test_years_without_a_holiday_table_fall_back_to_plain_weeks():
    days = [dt.date(2099, 1, 1) + dt.timedelta(days=i) for i in range(14)]
    f = demand.day_factors(days)
    assert list(f[0]) == [demand.WEEKDAY[d.weekday()] for d in days]


def test_slow_movers_have_many_zero_days_and_sales_follow_the_rate():
    rng = np.random.default_rng(1)
    n = len(DAYS)
    base = np.array([0.05, 20.0])
    q = demand.simulate(rng, base=base, tourist=np.zeros(2, dtype=int), leaf=np.zeros(2, dtype=int),
                        growth=np.zeros(2), season=np.ones((1, n)), day_f=demand.day_factors(DAYS),
                        promo=np.zeros((2, n), dtype=bool))
    assert (q[0] == 0).mean() > 0.9
    assert (q[1] == 0).mean() < 0.01
    assert 17 < q[1].mean() < 23


def test_the_same_seed_gives_the_same_plans():
    a = np.random.default_rng(5)
    b = np.random.default_rng(5)
    sa, sb = plan_stores(a, 12), plan_stores(b, 12)
    ka, kb = plan_skus(a, 300), plan_skus(b, 300)
    assert [(s.code, s.name, s.lat, s.area) for s in sa] == [(s.code, s.name, s.lat, s.area) for s in sb]
    assert [(k.code, k.name, k.price, k.barcodes) for k in ka] == [(k.code, k.name, k.price, k.barcodes) for k in kb]
    assert all(len(x) == len(y) and (x == y).all() for x, y in zip(plan_assortment(a, sa, ka), plan_assortment(b, sb, kb),
                                                                   strict=True))


def test_plans_have_the_requested_sizes_unique_codes_and_valid_barcodes():
    rng = np.random.default_rng(3)
    stores = plan_stores(rng, 31)
    skus = plan_skus(rng, 6000)  # beyond every leaf's range: numbered generations
    assert len(stores) == 31 and len({s.code for s in stores}) == 31 and len({s.name for s in stores}) == 31
    assert len(skus) == 6000 and len({s.code for s in skus}) == 6000
    codes = [b for s in skus for b in s.barcodes]
    assert len(codes) == len(set(codes)) and all(ean13_is_valid(c) for c in codes)
    plus = [s.plu for s in skus if s.plu]
    assert len(plus) == len(set(plus)) and all(len(p) == 5 for p in plus)
