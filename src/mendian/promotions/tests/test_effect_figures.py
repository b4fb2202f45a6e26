"""Effect arithmetic on plain values (no database): windows, weekday-matched baseline, incremental
sales, cost per incremental yuan, and when a promotion pauses itself. Figures computed by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from mendian.promotions.effect import EffectWindow, effect_figures, pause_verdict


def day(m: int, d: int) -> dt.date:
    return dt.date(2026, m, d)


def days(start: dt.date, n: int) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range(n)]


def test_a_window_of_ten_days_is_measured_against_the_two_whole_weeks_before():
    w = EffectWindow(start=day(11, 2), end=day(11, 11))  # Monday 2 Nov .. Wednesday 11 Nov
    assert (w.days, w.weeks, w.baseline_start, w.baseline_end) == (10, 2, day(10, 19), day(11, 1))
    assert w.baseline_start.weekday() == w.start.weekday() == 0
    one = EffectWindow(start=day(11, 2), end=day(11, 2))
    assert (one.days, one.weeks, one.baseline_start) == (1, 1, day(10, 26))
    assert (EffectWindow(start=day(11, 3), end=day(11, 2)).days, EffectWindow(start=day(11, 3), end=day(11, 2)).weeks) \
        == (0, 0)


def _ten_days():
    # baseline: week 1 (19–25 Oct) 100.00 a day; week 2 (26 Oct–1 Nov) 120.00 a day, Sunday 1 Nov 200.00
    sales = {d: D("100.00") for d in days(day(10, 19), 7)}
    sales.update({d: D("120.00") for d in days(day(10, 26), 7)})
    sales[day(11, 1)] = D("200.00")
    # the period: 150.00 a day, nothing sold on Thursday 5 Nov; a day after the period is ignored
    sales.update({d: D("150.00") for d in days(day(11, 2), 10) if d != day(11, 5)})
    sales[day(11, 12)] = D("999.00")
    orders = {day(11, 2): 3, day(11, 10): 2, day(11, 12): 7}
    discount = {day(11, 2): D("50.00"), day(11, 10): D("34.00"), day(11, 12): D("99.00")}
    quantity = {d: 10 for d in days(day(11, 2), 10)}
    return effect_figures(EffectWindow(start=day(11, 2), end=day(11, 11)), sales=sales, quantity=quantity,
                          orders=orders, discount=discount, units=17)


def test_incremental_sales_and_cost_per_incremental_yuan_by_hand():
    f = _ten_days()
    # expected: weekdays Mon–Sat (110.00 = (100 + 120) / 2) nine times, Sunday (150.00 = (100 + 200) / 2) once
    assert f.expected_sales == D("1140.00")
    assert f.sales == D("1350.00")                      # 9 days × 150.00
    assert f.baseline_sales == D("1620.00")             # 7 × 100 + 6 × 120 + 200
    assert f.incremental_sales == D("210.00")
    assert f.uplift == D("0.1842")                      # 210 / 1140 = 0.18421…
    assert (f.orders, f.units, f.discount, f.quantity) == (5, 17, D("84.00"), 100)
    assert f.cost_per_incremental == D("0.4000")        # 84 / 210
    assert not f.no_incremental


def test_the_daily_series_aligns_each_day_with_its_weekday_in_the_baseline():
    f = _ten_days()
    assert len(f.series) == 10 and [p.offset for p in f.series] == list(range(10))
    thu, sun = f.series[3], f.series[6]
    assert (thu.day, thu.sales, thu.baseline) == (day(11, 5), D("0.00"), D("110.00"))
    assert (sun.day, sun.sales, sun.baseline) == (day(11, 8), D("150.00"), D("150.00"))
    assert (f.series[0].orders, f.series[0].discount, f.series[8].discount) == (3, D("50.00"), D("34.00"))


def test_the_expected_total_is_rounded_once_not_day_by_day():
    # 15 days → 3 baseline weeks; the Mondays of the baseline sold 10, 10, 11 (mean 10.333…)
    w = EffectWindow(start=day(11, 2), end=day(11, 16))
    assert (w.weeks, w.baseline_start) == (3, day(10, 12))
    sales = {day(10, 12): D("10"), day(10, 19): D("10"), day(10, 26): D("11")}
    f = effect_figures(w, sales=sales)
    assert [p.baseline for p in f.series if p.day.weekday() == 0] == [D("10.33")] * 3
    assert f.expected_sales == D("31.00")               # 3 × 31 / 3, not 3 × 10.33
    assert (f.sales, f.incremental_sales, f.uplift, f.cost_per_incremental) == (D("0.00"), D("-31.00"), D("-1.0000"),
                                                                                 None)
    assert f.no_incremental


def test_no_baseline_and_an_empty_window_give_no_ratios():
    f = effect_figures(EffectWindow(start=day(11, 2), end=day(11, 3)), sales={day(11, 2): D("5.00")},
                       discount={day(11, 2): D("1.00")})
    assert (f.expected_sales, f.incremental_sales, f.uplift, f.cost_per_incremental) == \
        (D("0.00"), D("5.00"), None, D("0.2000"))
    empty = effect_figures(EffectWindow(start=day(11, 3), end=day(11, 2)), sales={day(11, 2): D("5.00")})
    assert (empty.sales, empty.expected_sales, empty.series, empty.cost_per_incremental) == (D("0.00"), D("0.00"), (),
                                                                                          None)


def _verdict(f, max_cost="0.5", days=3, orders=20):
    return pause_verdict(f, max_cost=None if max_cost is None else D(max_cost), min_days=3, min_orders=20,
                         days_active=days, orders_active=orders)


def test_a_promotion_pauses_past_its_threshold_and_runs_under_it():
    f = _ten_days()                                     # 0.4000 per incremental yuan
    assert _verdict(f, "0.5").code == "under_threshold" and not _verdict(f, "0.5").pause
    assert not _verdict(f, "0.4").pause                 # at the threshold is not past it
    v = _verdict(f, "0.3999")
    assert v.pause and v.code == "over_threshold"
    assert "0.4000" in v.reason and "0.3999" in v.reason and "2026-11-02…2026-11-11" in v.reason
    assert _verdict(f, None).code == "no_threshold" and not _verdict(f, None).pause


def test_nothing_is_judged_before_the_minimum_days_and_orders():
    f = _ten_days()
    assert _verdict(f, "0.1", days=2).code == "too_early"
    assert _verdict(f, "0.1", orders=19).code == "too_early"
    assert _verdict(f, "0.1", days=3, orders=20).pause


def test_discount_spent_with_no_incremental_sales_pauses_and_no_discount_does_not():
    w = EffectWindow(start=day(11, 2), end=day(11, 8))
    base = {d: D("100.00") for d in days(day(10, 26), 7)}
    flat = {**base, **{d: D("100.00") for d in days(day(11, 2), 7)}}
    f = effect_figures(w, sales=flat, discount={day(11, 3): D("12.00")})
    assert (f.incremental_sales, f.cost_per_incremental) == (D("0.00"), None)
    v = _verdict(f, "9")
    assert v.pause and v.code == "no_incremental" and "¥12.00" in v.reason
    assert _verdict(effect_figures(w, sales=flat), "9").code == "no_discount"
