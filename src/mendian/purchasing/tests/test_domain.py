from decimal import Decimal

import pytest

from mendian.purchasing import domain
from mendian.purchasing.domain import NeedInput, apply_budget, round_to_pack, suggest_line


def test_round_to_pack_rounds_up_to_whole_packs():
    assert round_to_pack(13, pack_size=12) == 24
    assert round_to_pack(12, pack_size=12) == 12
    assert round_to_pack(1, pack_size=1) == 1


def test_round_to_pack_raises_to_moq_then_packs():
    assert round_to_pack(5, pack_size=6, moq=20) == 24  # MOQ 20 is not a whole pack: 4 packs
    assert round_to_pack(30, pack_size=6, moq=20) == 30


def test_nothing_needed_orders_nothing_even_with_moq():
    assert round_to_pack(0, pack_size=6, moq=20) == 0
    assert round_to_pack(-4, pack_size=6, moq=20) == 0


def test_pack_size_must_be_positive():
    with pytest.raises(ValueError):
        round_to_pack(3, pack_size=0)


def _need(**kw):
    base = dict(location_id=1, sku_id=1, available=10, on_order=0, reorder_point=20, order_up_to=50, pack_size=12,
                moq=0, unit_cost=Decimal("2.50"))
    base.update(kw)
    return NeedInput(**base)


def test_orders_up_to_level_from_position_rounded_to_packs():
    ln = suggest_line(_need(available=10, on_order=5))
    assert (ln.position, ln.need, ln.quantity) == (15, 35, 36)
    assert ln.cost == Decimal("90.00")
    assert ln.explanation["packs"] == 3


def test_no_order_above_reorder_point_and_on_order_counts():
    assert suggest_line(_need(available=21)) is None
    assert suggest_line(_need(available=5, on_order=16)) is None
    assert suggest_line(_need(available=20)) is not None  # at the reorder point: order


def test_priority_puts_stock_out_risk_first():
    urgent = suggest_line(_need(sku_id=1, available=0, safety_stock=5))
    mild = suggest_line(_need(sku_id=2, available=19, safety_stock=5))
    assert urgent.priority < mild.priority


def _line(sku_id, qty, cost, available):
    inp = _need(sku_id=sku_id, available=available, unit_cost=Decimal(cost), pack_size=1, order_up_to=available + qty)
    return suggest_line(inp)


def test_budget_none_keeps_everything():
    lines = [_line(1, 10, "1.00", 0), _line(2, 10, "1.00", 5)]
    res = apply_budget(lines, None)
    assert [ln.sku_id for ln in res.kept] == [1, 2] and res.dropped == [] and res.total == Decimal("20.00")


def test_budget_drops_lowest_priority_lines_first():
    a = _line(1, 10, "1.00", 0)    # 10.00, most urgent (nothing available)
    b = _line(2, 10, "1.00", 10)   # 10.00
    c = _line(3, 10, "1.00", 18)   # 10.00, least urgent
    res = apply_budget([c, a, b], Decimal("20.00"))
    assert [ln.sku_id for ln in res.kept] == [1, 2]
    assert [ln.sku_id for ln in res.dropped] == [3]
    assert res.total == Decimal("20.00")


def test_budget_cuts_the_boundary_line_to_whole_packs_and_drops_the_rest():
    a = _line(1, 10, "1.00", 0)
    b = _line(2, 24, "1.00", 10)
    c = _line(3, 1, "1.00", 18)
    res = apply_budget([a, b, c], Decimal("27.00"), pack_of={(1, 2): 6}, moq_of={(1, 2): 0})
    kept = {ln.sku_id: ln.quantity for ln in res.kept}
    assert kept == {1: 10, 2: 12}  # 17 left: two packs of 6; item 3 (lower priority) dropped though it would fit
    assert [ln.sku_id for ln in res.dropped] == [3]
    assert [(ln.sku_id, before) for ln, before in res.cut] == [(2, 24)]
    assert res.total == Decimal("22.00")


def test_budget_drops_boundary_line_when_moq_does_not_fit():
    a = _line(1, 10, "1.00", 0)
    b = _line(2, 24, "1.00", 10)
    res = apply_budget([a, b], Decimal("15.00"), pack_of={(1, 2): 1}, moq_of={(1, 2): 5})
    assert [(ln.sku_id, ln.quantity) for ln in res.kept] == [(1, 10), (2, 5)]
    res = apply_budget([a, b], Decimal("15.00"), pack_of={(1, 2): 1}, moq_of={(1, 2): 6})
    assert [ln.sku_id for ln in res.kept] == [1]
    assert [ln.sku_id for ln in res.dropped] == [2]


def test_discrepancies_short_over_rejected():
    rows = [domain.ReceivedQty(1, 10, 8, 0), domain.ReceivedQty(2, 5, 7, 2), domain.ReceivedQty(3, 4, 4, 0)]
    assert domain.discrepancies(rows) == [(1, "short", 10, 8), (2, "over", 5, 7), (2, "rejected", 7, 2)]


def test_order_status_after_receipt():
    assert domain.order_status_after_receipt([(10, 10), (5, 6)]) == "received"
    assert domain.order_status_after_receipt([(10, 9), (5, 5)]) == "partially_received"
    assert domain.order_status_after_receipt([(10, 9)], close=True) == "received"


def test_scorecard_figures():
    sc = domain.scorecard(deliveries=[(3.0, True), (5.0, False)], ordered=100, accepted=90, received=95, rejected=5,
                          orders=2)
    assert (sc.on_time_rate, sc.fill_rate, sc.reject_rate) == (0.5, 0.9, 0.0526)
    assert (sc.lead_time_mean_days, sc.lead_time_std_days) == (4.0, 1.41)
