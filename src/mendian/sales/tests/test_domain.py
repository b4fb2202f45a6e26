"""Pure sales rules, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from mendian.core.errors import Conflict, InvalidInput
from mendian.sales import domain
from mendian.sales.domain import LineRequest, LineState, RefundRequestLine, SkuInfo, Take, TenderRequest

SKUS = {
    "A": SkuInfo(1, "A", D("12.50"), 1, D("13")),
    "B": SkuInfo(2, "B", D("3.33"), 1, D("9")),
    "W": SkuInfo(3, "W", D("39.80"), 1000, D("9")),  # per kg, quantities in grams
    "X": SkuInfo(4, "X", D("1.00"), 1, D("13"), active=False),
}


def _validate(**kw):
    args = {"channel": "pos", "fulfilment": "in_store", "lines": [LineRequest("A", 1)],
            "tenders": [TenderRequest("cash", D("10"))], "max_lines": 3}
    args.update(kw)
    domain.validate_order_request(**args)


def test_prices_lines_at_the_store_price_with_vat_contained():
    lines = domain.price_lines([LineRequest("A", 2), LineRequest("B", 3), LineRequest("W", 1234)], SKUS)
    assert [(ln.line_no, ln.sku_id, ln.amount, ln.tax, ln.discount) for ln in lines] == [
        (1, 1, D("25.00"), D("2.88"), D("0.00")),  # 25 × 13/113 = 2.876…
        (2, 2, D("9.99"), D("0.82"), D("0.00")),  # 9.99 × 9/109 = 0.8248…
        (3, 3, D("49.11"), D("4.05"), D("0.00")),  # 1234 g at 39.80/kg = 49.1132 → 49.11; VAT 4.0549…
    ]
    totals = domain.order_totals(lines)
    assert totals == domain.Totals(subtotal=D("84.10"), discount_total=D("0.00"), total=D("84.10"),
                                   tax_total=D("7.75"))


def test_unknown_sku_names_the_field():
    with pytest.raises(InvalidInput) as exc:
        domain.price_lines([LineRequest("A", 1), LineRequest("A", 1), LineRequest("NOPE", 1)], SKUS)
    assert exc.value.code == "unknown_code"
    assert exc.value.details == {"field": "lines[2].sku", "value": "NOPE"}


def test_inactive_sku_is_refused():
    with pytest.raises(InvalidInput) as exc:
        domain.price_lines([LineRequest("X", 1)], SKUS)
    assert exc.value.code == "sku_inactive" and exc.value.details["field"] == "lines[0].sku"


@pytest.mark.parametrize("qty", [0, -1, True, 1_000_001])
def test_quantities_must_be_positive_whole_and_sane(qty):
    with pytest.raises(InvalidInput) as exc:
        _validate(lines=[LineRequest("A", 1), LineRequest("A", qty)])
    assert exc.value.code == "invalid_quantity" and exc.value.details["field"] == "lines[1].quantity"


def test_too_many_lines_and_no_lines_are_refused():
    with pytest.raises(InvalidInput) as exc:
        _validate(lines=[LineRequest("A", 1)] * 4)
    assert exc.value.code == "too_many_lines" and exc.value.details["max"] == 3
    with pytest.raises(InvalidInput) as exc:
        _validate(lines=[])
    assert exc.value.code == "no_lines"


def test_pos_needs_tenders_and_in_store_fulfilment():
    with pytest.raises(InvalidInput) as exc:
        _validate(tenders=[])
    assert exc.value.code == "tenders_required"
    with pytest.raises(InvalidInput) as exc:
        _validate(fulfilment="pickup")
    assert exc.value.code == "invalid_fulfilment"
    _validate(channel="online", fulfilment="pickup", tenders=[])  # online: no tenders needed


@pytest.mark.parametrize("tender,field", [
    (TenderRequest("bitcoin", D("1")), "tenders[0].method"),
    (TenderRequest("cash", D("0")), "tenders[0].amount"),
    (TenderRequest("cash", D("-5")), "tenders[0].amount"),
    (TenderRequest("cash", D("1.005")), "tenders[0].amount"),
])
def test_bad_tenders_name_the_field(tender, field):
    with pytest.raises(InvalidInput) as exc:
        _validate(tenders=[tender])
    assert exc.value.details["field"] == field


def test_cash_may_exceed_the_total_and_the_change_is_recorded():
    s = domain.settle(D("84.10"), [TenderRequest("card", D("50.00")), TenderRequest("cash", D("40.00"))])
    assert s == domain.Settlement(paid=D("90.00"), change=D("5.90"))


def test_tenders_short_of_the_total_are_refused():
    with pytest.raises(InvalidInput) as exc:
        domain.settle(D("84.10"), [TenderRequest("cash", D("84.09"))])
    assert exc.value.code == "tenders_short" and exc.value.status == 422


def test_no_change_from_a_card():
    with pytest.raises(InvalidInput) as exc:
        domain.settle(D("10.00"), [TenderRequest("card", D("15.00")), TenderRequest("cash", D("1.00"))])
    assert exc.value.code == "tenders_over"


def test_order_numbers_are_per_store_and_day():
    assert domain.order_number("KM001", dt.date(2026, 11, 25), 42) == "KM001-20261125-0042"
    assert domain.order_number("DL003", dt.date(2026, 1, 2), 12345) == "DL003-20260102-12345"


def test_stock_quantities_sum_lines_of_one_sku_in_sku_order():
    lines = domain.price_lines([LineRequest("B", 2), LineRequest("A", 1), LineRequest("B", 5)], SKUS)
    assert domain.stock_quantities(lines) == [(1, 1), (2, 7)]


def test_split_takes_hands_lots_to_lines_in_order():
    lines = domain.price_lines([LineRequest("B", 2), LineRequest("A", 1), LineRequest("B", 5)], SKUS)
    takes = [Take(2, 10, "L1", 3, D("1.5")), Take(2, 11, "L2", 4, D("2")), Take(1, None, None, 1, D("7"))]
    per_line = domain.split_takes(lines, takes)
    assert per_line[1] == [Take(2, 10, "L1", 2, D("1.5"))]
    assert per_line[2] == [Take(1, None, None, 1, D("7"))]
    assert per_line[3] == [Take(2, 10, "L1", 1, D("1.5")), Take(2, 11, "L2", 4, D("2"))]
    assert domain.takes_cost(per_line[3]) == D("9.5000")


def test_split_takes_refuses_takes_that_do_not_cover_a_line():
    lines = domain.price_lines([LineRequest("A", 3)], SKUS)
    with pytest.raises(ValueError):
        domain.split_takes(lines, [Take(1, None, None, 2, D("1"))])


def test_takes_slice_returns_units_in_the_order_taken():
    takes = [Take(2, 10, "L1", 3, D("1.5")), Take(2, 11, "L2", 4, D("2"))]
    assert domain.takes_slice(takes, 0, 2) == [Take(2, 10, "L1", 2, D("1.5"))]
    assert domain.takes_slice(takes, 2, 3) == [Take(2, 10, "L1", 1, D("1.5")), Take(2, 11, "L2", 2, D("2"))]
    assert domain.takes_slice(takes, 5, 2) == [Take(2, 11, "L2", 2, D("2"))]
    back = domain.takes_from_json(2, domain.takes_to_json(takes))
    assert back == takes


@pytest.mark.parametrize("status,action,ok", [
    ("pending", "pay", True), ("paid", "pay", False), ("paid", "fulfil", True), ("pending", "fulfil", False),
    ("fulfilled", "complete", True), ("paid", "cancel", True), ("completed", "cancel", False),
    ("pending", "expire", True), ("completed", "refund", True), ("paid", "refund", False),
    ("refunded", "refund", False), ("paid", "verify_pickup", True), ("completed", "verify_pickup", False),
])
def test_state_changes(status, action, ok):
    if ok:
        domain.check_transition(status, action)
    else:
        with pytest.raises(Conflict) as exc:
            domain.check_transition(status, action, "N1")
        assert exc.value.code == "invalid_state" and exc.value.status == 409


def test_successive_partial_refunds_sum_exactly_to_the_line():
    line = LineState(1, 1, "A", 3, 0, D("10.00"), D("1.15"))
    plan1 = domain.plan_refund([line], [RefundRequestLine(1, 1)])
    assert plan1.amount == D("3.33") and not plan1.fully_refunded
    line = LineState(1, 1, "A", 3, 1, D("10.00"), D("1.15"))
    plan2 = domain.plan_refund([line], [RefundRequestLine(1, 1)])
    assert plan2.amount == D("3.34")  # 6.67 − 3.33
    line = LineState(1, 1, "A", 3, 2, D("10.00"), D("1.15"))
    plan3 = domain.plan_refund([line], [RefundRequestLine(1, 1)])
    assert plan3.amount == D("3.33") and plan3.fully_refunded
    assert plan1.amount + plan2.amount + plan3.amount == D("10.00")
    assert plan1.lines[0].tax + plan2.lines[0].tax + plan3.lines[0].tax == D("1.15")


def test_refund_cannot_exceed_what_is_left_or_name_unknown_lines():
    lines = [LineState(1, 1, "A", 2, 1, D("5.00"), D("0.58")), LineState(2, 2, "B", 1, 0, D("3.00"), D("0.25"))]
    with pytest.raises(InvalidInput) as exc:
        domain.plan_refund(lines, [RefundRequestLine(1, 2)])
    assert exc.value.code == "refund_exceeds_line" and exc.value.details["refundable"] == 1
    with pytest.raises(InvalidInput) as exc:
        domain.plan_refund(lines, [RefundRequestLine(2, 1), RefundRequestLine(3, 1)])
    assert exc.value.code == "unknown_line" and exc.value.details["field"] == "lines[1].line"
    with pytest.raises(InvalidInput):
        domain.plan_refund(lines, [RefundRequestLine(2, 0)])
    plan = domain.plan_refund(lines, [RefundRequestLine(1, 1), RefundRequestLine(2, 1)])
    assert plan.fully_refunded and plan.amount == D("5.50")


def test_refund_money_goes_back_the_way_it_came():
    held = domain.net_payments([("card", D("50.00"), "c1"), ("cash", D("40.00"), "")], change=D("5.90"))
    assert held == [domain.Payment("card", D("50.00"), "c1"), domain.Payment("cash", D("34.10"), "")]
    assert domain.refund_tenders(D("60.00"), held, []) == [TenderRequest("card", D("50.00"), "c1"),
                                                           TenderRequest("cash", D("10.00"), "")]
    with pytest.raises(Conflict):
        domain.refund_tenders(D("84.11"), held, [])
    with pytest.raises(InvalidInput) as exc:
        domain.refund_tenders(D("10.00"), held, [TenderRequest("cash", D("9.00"))])
    assert exc.value.code == "refund_tenders_mismatch"
    assert domain.refund_tenders(D("10.00"), held, [TenderRequest("cash", D("10.00"))]) == [
        TenderRequest("cash", D("10.00"))]


def test_net_payments_take_earlier_refunds_off():
    held = domain.net_payments([("wechat_pay", D("30.00"), "w"), ("wechat_pay", D("-12.50"), "w")], change=D("0"))
    assert held == [domain.Payment("wechat_pay", D("17.50"), "w")]


def test_shift_cash_and_variance():
    cash = domain.ShiftCash(opening_float=D("200.00"), cash_in=D("150.00"), change=D("12.30"), cash_refunds=D("20.00"))
    assert cash.expected == D("317.70")
    assert domain.shift_variance(cash.expected, D("315.00")) == D("-2.70")


def test_pickup_codes_have_six_digits():
    assert domain.pickup_code_from(42) == "000042"
    assert domain.pickup_code_from(999_999) == "999999"
