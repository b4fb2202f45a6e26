"""Pure forecasting rules, with values computed by hand. No database."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mendian.planning.forecasting import classify, metrics
from mendian.planning.forecasting.censor import censor_demand
from mendian.planning.forecasting.drivers import (
    DriverData,
    estimate_effects,
    holiday_kinds,
)
from mendian.planning.forecasting.engine import ForecastConfig, SeriesInput, aggregate, forecast_batch


@pytest.mark.parametrize(("y", "cls", "adi", "cv2"), [
    ([1, 1, 1, 1], "smooth", 1.0, 0.0),
    ([0, 0, 5, 0, 0, 5], "intermittent", 3.0, 0.0),
    ([1, 9, 1, 9], "erratic", 1.0, 0.64),
    ([0, 0, 1, 0, 0, 9, 0, 0, 1, 0, 0, 9], "lumpy", 3.0, 0.64),
    ([3, 17], "smooth", 1.0, 0.49),  # CV² exactly at the cut-off is smooth
    ([0, 0, 0], "no_demand", None, None),
])
def test_demand_pattern_by_adi_and_cv2(y, cls, adi, cv2):
    p = classify.demand_pattern(np.array(y, float))
    assert (p.demand_class, p.adi, p.cv2) == (cls, adi, cv2)


def test_adi_exactly_at_cutoff_is_smooth_and_just_above_is_intermittent():
    y = np.array([1.0] * 25 + [0.0] * 8)  # 33 days / 25 demand days = 1.32
    assert classify.demand_pattern(y).demand_class == "smooth"
    y2 = np.array([1.0] * 25 + [0.0] * 9)  # 34 / 25 = 1.36
    assert classify.demand_pattern(y2).demand_class == "intermittent"


def test_censored_days_are_left_out_of_the_classification():
    y = np.array([5, 0, 5, 0, 5, 0], float)
    assert classify.demand_pattern(y).demand_class == "intermittent"
    censored = np.array([False, True] * 3)
    p = classify.demand_pattern(y, censored)
    assert (p.demand_class, p.adi, p.observed_days) == ("smooth", 1.0, 3)


def test_abc_by_cumulative_value_share():
    assert classify.abc_classes({"a": 50, "b": 30, "c": 15, "d": 5}) == {"a": "A", "b": "A", "c": "B", "d": "C"}
    assert classify.abc_classes({"a": 0, "b": 0}) == {"a": "C", "b": "C"}


def test_xyz_from_weekly_variation():
    assert classify.xyz_class(np.array([1, 2, 3, 4, 0, 0, 0] * 4, float)) == ("X", 0.0)
    weeks = np.repeat([0.0, 20.0, 0.0, 20.0], 7) / 7  # weekly sums 0, 20, 0, 20: cv = 1.0 → Y
    assert classify.xyz_class(weeks) == ("Y", 1.0)
    assert classify.xyz_class(np.repeat([0.0, 0.0, 0.0, 28.0], 7) / 7)[0] == "Z"


def test_metrics_on_a_hand_computed_series():
    y, f = np.array([2.0, 4.0, 6.0]), np.array([3.0, 3.0, 3.0])
    assert metrics.wape(y, f) == pytest.approx(5 / 12)
    assert metrics.bias(y, f) == pytest.approx(-0.25)
    scale = metrics.mase_scale(np.arange(1.0, 10.0), season=7)
    assert scale == 7.0
    assert metrics.mase(y, f, scale) == pytest.approx((5 / 3) / 7)
    # a masked (censored) day is not scored
    assert metrics.wape(y, f, mask=np.array([False, False, True])) == pytest.approx(2 / 6)
    assert metrics.wape(np.zeros(3), f) is None


def test_stockout_day_is_imputed_from_the_same_weekday_not_taken_as_zero():
    sales = np.array([10, 1, 1, 1, 1, 1, 1, 14, 1, 1, 1, 1, 1, 1, 0, 1, 1], float)
    stockout = np.zeros(len(sales), bool)
    stockout[14] = True
    cs = censor_demand(sales, stockout=stockout)
    assert cs.y[14] == 12.0  # mean of the same weekday one and two weeks before: (10 + 14) / 2
    assert cs.censored_days == 1
    assert cs.observed[14] == 0.0


def test_lost_demand_is_added_and_the_day_censored():
    sales = np.array([5, 5, 5, 5, 5, 5, 5, 2], float)
    lost = np.zeros(8)
    lost[7] = 1
    cs = censor_demand(sales, lost=lost)
    assert cs.observed[7] == 3.0
    assert cs.censored[7]
    assert cs.y[7] == 5.0  # at least what sold and was refused, else the same weekday's level


def test_holiday_kinds_include_the_moved_working_weekends():
    start = dt.date(2025, 1, 24)
    kinds = dict(zip([start + dt.timedelta(days=i) for i in range(20)], holiday_kinds(start, 20), strict=True))
    assert kinds[dt.date(2025, 1, 28)] == "holiday:spring_festival"
    assert kinds[dt.date(2025, 2, 4)] == "holiday:spring_festival"
    assert kinds[dt.date(2025, 2, 5)] is None  # back to work
    assert kinds[dt.date(2025, 2, 8)] == "makeup_workday"  # a Saturday that is a working day
    assert kinds[dt.date(2025, 1, 27)] == "eve:spring_festival"
    # 2025-01-26 is both a moved working Sunday and an eve: the eve wins
    assert kinds[dt.date(2025, 1, 26)] == "eve:spring_festival"
    oct2025 = holiday_kinds(dt.date(2025, 10, 1), 11)
    assert oct2025[0] == "holiday:national_day" and oct2025[10] == "makeup_workday"  # Saturday 11 October
    assert holiday_kinds(dt.date(2025, 3, 1), 1) == [None]  # an ordinary Saturday


def test_holiday_lift_is_estimated_from_history():
    start = dt.date(2024, 1, 1)
    n = 500
    kinds = np.array(holiday_kinds(start, n), dtype=object)
    y = np.where(kinds == "eve:spring_festival", 30.0, 10.0)
    from mendian.planning.forecasting.drivers import holiday_codes

    data = DriverData(y=y, censored=np.zeros(n, bool), start=start, holidays=holiday_codes(start, n))
    eff = estimate_effects([data], use=frozenset({"holidays"}))[0]
    assert eff.holiday_lifts["eve:spring_festival"] == pytest.approx(3.0, rel=0.02)
    assert eff.holiday_lifts["holiday:national_day"] == pytest.approx(1.0, rel=0.02)


def _series(y, start=dt.date(2025, 3, 3), **kw):
    return SeriesInput(key="s", start=start, sales=np.asarray(y, float), **kw)


def test_censored_stockout_at_the_end_does_not_drag_the_forecast_to_zero():
    n = 140
    y = np.full(n, 10.0)
    stockout = np.zeros(n, bool)
    y[-10:] = 0
    stockout[-10:] = True
    cfg = ForecastConfig(horizon=7, n_windows=2, drivers=frozenset(), selection="SeasonalNaive")
    with_censor = forecast_batch([_series(y, stockout=stockout)], cfg)[0]
    without = forecast_batch([_series(y)], cfg)[0]
    assert with_censor.forecast == [10.0] * 7
    assert without.forecast == [0.0] * 7
    assert with_censor.censored_days == 10


def test_promotion_days_in_the_horizon_lift_the_forecast():
    rng = np.random.default_rng(3)
    n, h = 210, 14
    promo = np.zeros(n + h, bool)
    for p0 in (20, 60, 100, 150, n + 3):
        promo[p0:p0 + 5] = True
    y = rng.poisson(np.where(promo[:n], 40.0, 20.0)).astype(float)
    cfg = ForecastConfig(horizon=h, n_windows=2, drivers=frozenset({"promotions"}), selection="ETS")
    res = forecast_batch([_series(y, promo=promo)], cfg)[0]
    assert res.model == "ETS"
    assert 1.6 < res.drivers["effects"]["promo_lift"] < 2.4
    on, off = np.mean(res.forecast[3:8]), np.mean(res.forecast[9:])
    assert on / off == pytest.approx(res.drivers["effects"]["promo_lift"], rel=0.1)


def test_batch_classifies_chooses_among_the_class_candidates_and_scores_the_last_window():
    from mendian.planning.forecasting.synthetic import make_chain

    chain = make_chain(stores=1, skus=8, days=200, seed=11)
    res = forecast_batch([c.inp for c in chain], ForecastConfig(horizon=14, n_windows=3))
    assert len(res) == 8
    for r in res:
        assert len(r.forecast) == 14 and min(r.forecast) >= 0
        allowed = ({"SeasonalNaive", "CrostonOptimized", "ADIDA", "IMAPA", "TSB"}
                   if r.demand_class in {"intermittent", "lumpy"} else {"SeasonalNaive", "ETS", "Theta"})
        assert r.model in allowed
        assert set(r.candidates) == allowed
        assert 0 < r.holdout["days"] <= 14
        if r.holdout["actual"] > 0:
            assert r.wape == pytest.approx(r.holdout["abs_err"] / r.holdout["actual"], abs=1e-4)
    agg = aggregate(res)
    assert agg["series"] == 8 and agg["scored_series"] == 8
    assert sum(agg["models"].values()) == 8


def test_short_history_falls_back_to_the_recent_mean():
    res = forecast_batch([_series([2, 4] * 10)], ForecastConfig(horizon=7))[0]
    assert res.model == "Mean28"
    assert res.forecast == [3.0] * 7
    assert res.mase is None and "too short" in res.note


def test_yearly_shape_is_last_years_change_of_level_over_the_horizon():
    from mendian.planning.forecasting.drivers import yearly_shape

    n = 500
    level = np.where(np.arange(n) % 364 < 200, 100.0, 200.0)  # the level doubles on day 200 of each year
    shape = yearly_shape(level, origin=364 + 180, h=40)
    assert shape is not None and len(shape) == 40
    # a year before the origin (day 180) the 28-day mean was 100; 39 days later (day 219) it was 200
    assert shape[0] == pytest.approx(1.0)
    units = level[180:544].sum()
    assert shape[-1] == pytest.approx(1.0 + 1.0 * units / (units + 200))
    assert yearly_shape(level[:300], origin=300, h=20) is None  # less than a year of history


def test_chunks_run_on_any_executor_with_bounded_chunks_in_flight():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from mendian.planning.forecasting.engine import chunked, run_chunks
    from mendian.planning.forecasting.synthetic import make_chain

    inputs = [c.inp for c in make_chain(stores=1, skus=4, days=120, seed=2)]
    cfg = ForecastConfig(horizon=7, drivers=frozenset())
    one = {r.key: (r.model, r.forecast) for r in run_chunks(chunked(inputs, 1), cfg)}
    seen: list[int] = []
    pulled: list[int] = []

    def chunks():
        for c in chunked(inputs, 1):
            pulled.append(len(seen))  # how many chunks had finished when this one was loaded
            yield c

    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        res = run_chunks(chunks(), cfg, executor=pool, n_jobs=2, max_pending=2, on_done=lambda r: seen.append(len(r)))
    assert {r.key: (r.model, r.forecast) for r in res} == one
    assert seen == [1, 1, 1, 1]
    assert pulled[:2] == [0, 0] and pulled[2] >= 1 and pulled[3] >= 2  # never more than 2 in flight
