"""Sales use-cases against a real database: stock, documents, audit and events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import transaction
from django.utils import timezone

from mendian.catalog.tests.factories import SkuFactory
from mendian.core.errors import Conflict, InvalidInput, PermissionDenied
from mendian.inventory.models import CountTask, LostDemand, StockMovement
from mendian.inventory.services import stock_ledger_check
from mendian.inventory.tests.factories import level, receive, totals
from mendian.org.models import ChainSettings
from mendian.platform.models import AuditEntry, OutboxEvent
from mendian.sales import services
from mendian.sales.domain import LineRequest, RefundRequestLine, TenderRequest
from mendian.sales.models import Order, OrderSequence, Refund, Shift, Tender
from mendian.sales.selectors import sale_context_get

pytestmark = pytest.mark.django_db


def ctx(store, user):
    return sale_context_get(store_code=store.code, user_id=user.pk)


def pos_sale(chain, user, lines, tenders, store=None):
    store = store or chain.km1
    with transaction.atomic():  # order_create joins the caller's transaction: a refusal rolls it back
        return services.order_create(actor=user, ctx=ctx(store, user), channel="pos", fulfilment="in_store",
                                     lines=[LineRequest(s, q) for s, q in lines],
                                     tenders=[TenderRequest(m, D(a)) for m, a in tenders])


def online(chain, user, lines, fulfilment="pickup", store=None, tenders=()):
    store = store or chain.km1
    with transaction.atomic():
        return services.order_create(actor=user, ctx=ctx(store, user), channel="online", fulfilment=fulfilment,
                                     lines=[LineRequest(s, q) for s, q in lines],
                                     tenders=[TenderRequest(m, D(a)) for m, a in tenders])


def topics(number):
    return list(OutboxEvent.objects.filter(payload__number=number).order_by("id").values_list("topic", flat=True))


def test_pos_sale_is_completed_paid_on_the_shift_and_takes_stock(chain, open_shift):
    cashier = chain.users["cashier_km1"]
    shift = open_shift(cashier, chain.km1)
    r = pos_sale(chain, cashier, [("S001", 2), ("S002", 3)], [("card", "20.00"), ("cash", "20.00")])
    o = Order.objects.get(number=r.order.number)
    assert o.number == f"KM001-{timezone.localdate():%Y%m%d}-0001"
    assert (o.status, o.channel, o.fulfilment, o.shift_id) == ("completed", "pos", "in_store", shift.pk)
    assert (o.total, o.paid_total, o.change, o.tax_total, o.cost_total) == (
        D("34.00"), D("40.00"), D("6.00"), D("3.62"), D("20.0000"))  # 25 + 9; VAT 2.88 + 0.74; cost 5 × 4.00
    assert o.paid_at and o.fulfilled_at and o.completed_at
    lines = list(o.lines.order_by("line_no").values_list("line_no", "quantity", "amount", "tax", "cost", "lots"))
    assert lines[0][:5] == (1, 2, D("25.00"), D("2.88"), D("8.0000"))
    assert lines[0][5] == [{"lot_id": None, "lot": None, "quantity": 2, "unit_cost": "4.0000"}]
    assert sorted(Tender.objects.filter(order=o).values_list("method", "amount", "shift_id")) == [
        ("card", D("20.00"), shift.pk), ("cash", D("20.00"), shift.pk)]
    assert totals(chain.km1, chain.skus[0]) == (98, 0)
    assert totals(chain.km1, chain.skus[1]) == (97, 0)
    assert StockMovement.objects.filter(doc_ref=o.number, reason="sale").count() == 2
    assert topics(o.number) == ["order.created", "order.completed"]  # born paid, handed over and completed
    event = OutboxEvent.objects.get(topic="order.created", payload__number=o.number)
    assert event.partition == "KM001"
    assert event.payload["lines"][0] == {"line": 1, "sku": "S001", "quantity": 2, "amount": "25.00", "discount": "0.00",
                                         "cost": "8.0000", "refunded_qty": 0}
    assert event.payload["total"] == "34.00" and event.payload["status"] == "completed"
    assert AuditEntry.objects.filter(object_ref=o.number, action="order.create").count() == 1
    assert stock_ledger_check() == []


def test_order_numbers_count_per_store_and_day(chain, open_shift):
    for user, store in ((chain.users["cashier_km1"], chain.km1), (chain.users["cashier_km2"], chain.km2)):
        open_shift(user, store)
    a = pos_sale(chain, chain.users["cashier_km1"], [("S001", 1)], [("cash", "100")]).order.number
    b = pos_sale(chain, chain.users["cashier_km1"], [("S001", 1)], [("cash", "100")]).order.number
    c = pos_sale(chain, chain.users["cashier_km2"], [("S001", 1)], [("cash", "100")], store=chain.km2).order.number
    day = f"{timezone.localdate():%Y%m%d}"
    assert (a, b, c) == (f"KM001-{day}-0001", f"KM001-{day}-0002", f"KM002-{day}-0001")
    assert sorted(OrderSequence.objects.values_list("store__code", "last")) == [("KM001", 2), ("KM002", 1)]


def test_pos_sale_without_open_shift_is_refused_and_writes_nothing(chain):
    with pytest.raises(Conflict) as exc:
        pos_sale(chain, chain.users["cashier_km1"], [("S001", 1)], [("cash", "100")])
    assert exc.value.code == "no_open_shift"
    assert Order.objects.count() == 0 and totals(chain.km1, chain.skus[0]) == (100, 0)


def test_pos_sale_may_drive_stock_negative_and_raises_a_count_task(chain, open_shift):
    cashier = chain.users["cashier_km1"]
    open_shift(cashier, chain.km1)
    pos_sale(chain, cashier, [("S001", 103)], [("cash", "2000")])
    assert totals(chain.km1, chain.skus[0]) == (-3, 0)
    assert list(CountTask.objects.values_list("location__code", "sku__code", "status")) == [("KM001", "S001", "open")]


def test_pos_sale_refused_for_book_stock_when_the_chain_says_so(chain, open_shift):
    ChainSettings.objects.update_or_create(pk=1, defaults={"pos_refuses_negative_stock": True})
    cashier = chain.users["cashier_km1"]
    open_shift(cashier, chain.km1)
    with pytest.raises(services.StockShortage) as exc:
        pos_sale(chain, cashier, [("S002", 1), ("S001", 101)], [("cash", "2000")])
    assert exc.value.details == {"lines": [{"sku": "S001", "requested": 101, "available": 100}]}
    assert Order.objects.count() == 0 and totals(chain.km1, chain.skus[0]) == (100, 0)
    assert totals(chain.km1, chain.skus[1]) == (100, 0)


def test_tenders_short_of_the_total_change_nothing(chain, open_shift):
    cashier = chain.users["cashier_km1"]
    open_shift(cashier, chain.km1)
    with pytest.raises(InvalidInput) as exc:
        pos_sale(chain, cashier, [("S001", 2)], [("cash", "24.99")])
    assert exc.value.code == "tenders_short"
    assert Order.objects.count() == 0 and totals(chain.km1, chain.skus[0]) == (100, 0)
    assert not OutboxEvent.objects.filter(topic__startswith="order.").exists()


def test_lines_of_one_sku_share_its_stock_and_store_price(chain, open_shift):
    from mendian.catalog.models import StorePrice

    StorePrice.objects.create(sku=chain.skus[0], location=chain.km1, price=D("10.00"),
                              valid_from=timezone.now() - dt.timedelta(days=1))
    cashier = chain.users["cashier_km1"]
    open_shift(cashier, chain.km1)
    r = pos_sale(chain, cashier, [("S001", 2), ("S002", 1), ("S001", 3)], [("cash", "60")])
    assert [(ln.line_no, ln.unit_price, ln.amount) for ln in r.lines] == [
        (1, D("10.00"), D("20.00")), (2, D("3.00"), D("3.00")), (3, D("10.00"), D("30.00"))]
    assert totals(chain.km1, chain.skus[0]) == (95, 0)


def test_online_order_reserves_then_is_paid_with_a_pickup_code_and_verified(chain):
    hq = chain.users["hq"]
    r = online(chain, hq, [("S001", 4), ("S003", 1)])
    o = r.order
    assert (o.status, o.pickup_code, o.total) == ("pending", "", D("59.90"))
    assert o.expires_at == o.created_at + dt.timedelta(minutes=30)
    assert totals(chain.km1, chain.skus[0]) == (100, 4)
    paid = services.order_pay(actor=hq, order_id=o.pk, tenders=[TenderRequest("alipay", D("59.90"), "ali-1")])
    assert paid.order.status == "paid" and len(paid.order.pickup_code) == 6 and paid.order.pickup_code.isdigit()
    done = services.pickup_verify(actor=chain.users["cashier_km1"], store_id=chain.km1.pk, code=paid.order.pickup_code)
    assert done.order.status == "completed" and done.order.fulfilled_at
    assert totals(chain.km1, chain.skus[0]) == (96, 0)
    assert topics(o.number) == ["order.created", "order.paid", "order.fulfilled", "order.completed"]
    with pytest.raises(Conflict) as exc:
        services.pickup_verify(actor=hq, store_id=chain.km1.pk, code=paid.order.pickup_code)
    assert exc.value.code == "pickup_code_used"
    assert stock_ledger_check() == []


def test_online_order_short_of_stock_names_skus_and_records_lost_demand(chain):
    hq = chain.users["hq"]
    with pytest.raises(services.StockShortage) as exc:
        online(chain, hq, [("S001", 1), ("S002", 150), ("S003", 101)])
    assert exc.value.status == 409 and exc.value.code == "insufficient_stock"
    assert exc.value.details == {"lines": [{"sku": "S002", "requested": 150, "available": 100},
                                           {"sku": "S003", "requested": 101, "available": 100}]}
    assert Order.objects.count() == 0 and totals(chain.km1, chain.skus[0]) == (100, 0)
    services.order_lost_demand_record(shortage=exc.value)
    assert sorted(LostDemand.objects.values_list("location__code", "sku__code", "quantity", "channel")) == [
        ("KM001", "S002", 150, "online"), ("KM001", "S003", 101, "online")]


def test_online_order_paid_at_creation_and_delivered(chain):
    hq = chain.users["hq"]
    r = online(chain, hq, [("S001", 1)], fulfilment="delivery", tenders=[("wechat_pay", "12.50")])
    assert (r.order.status, r.order.pickup_code, r.order.expires_at) == ("paid", "", None)
    services.order_fulfil(actor=hq, order_id=r.order.pk)
    assert totals(chain.km1, chain.skus[0]) == (99, 0)
    done = services.order_complete(actor=hq, order_id=r.order.pk)
    assert done.order.status == "completed"
    with pytest.raises(Conflict):
        services.order_fulfil(actor=hq, order_id=r.order.pk)


def test_cancel_pending_releases_and_cancel_paid_refunds_in_full(chain):
    hq = chain.users["hq"]
    a = online(chain, hq, [("S001", 2)])
    services.order_cancel(actor=hq, order_id=a.order.pk)
    assert Order.objects.get(pk=a.order.pk).status == "cancelled"
    assert totals(chain.km1, chain.skus[0]) == (100, 0)
    b = online(chain, hq, [("S001", 2)], tenders=[("card", "25.00")])
    c = services.order_cancel(actor=hq, order_id=b.order.pk)
    assert (c.order.status, c.order.refunded_total) == ("cancelled", D("25.00"))
    assert list(Tender.objects.filter(order=b.order).order_by("id").values_list("method", "amount")) == [
        ("card", D("25.00")), ("card", D("-25.00"))]
    assert Refund.objects.get(order=b.order).amount == D("25.00")
    assert totals(chain.km1, chain.skus[0]) == (100, 0)
    with pytest.raises(Conflict) as exc:
        services.order_cancel(actor=hq, order_id=b.order.pk)
    assert exc.value.code == "invalid_state"
    assert topics(b.order.number) == ["order.created", "order.paid", "order.cancelled"]


def test_pos_orders_cannot_be_cancelled(chain, open_shift):
    cashier = chain.users["cashier_km1"]
    open_shift(cashier, chain.km1)
    r = pos_sale(chain, cashier, [("S001", 1)], [("cash", "20")])
    with pytest.raises(Conflict):
        services.order_cancel(actor=cashier, order_id=r.order.pk)
    assert totals(chain.km1, chain.skus[0]) == (99, 0)


def test_expiry_releases_old_unpaid_orders_only(chain):
    hq = chain.users["hq"]
    old = online(chain, hq, [("S001", 3)])
    young = online(chain, hq, [("S001", 2)])
    paid = online(chain, hq, [("S001", 1)], tenders=[("card", "12.50")])
    Order.objects.filter(pk__in=[old.order.pk, paid.order.pk]).update(
        created_at=timezone.now() - dt.timedelta(minutes=31))
    assert services.orders_expire_due() == 1
    assert dict(Order.objects.values_list("pk", "status")) == {
        old.order.pk: "expired", young.order.pk: "pending", paid.order.pk: "paid"}
    assert totals(chain.km1, chain.skus[0]) == (100, 3)
    assert topics(old.order.number) == ["order.created", "order.expired"]
    assert AuditEntry.objects.filter(object_ref=old.order.number, action="order.expire", actor="system").exists()
    assert services.orders_expire_due() == 0
    with pytest.raises(Conflict):
        services.order_pay(actor=hq, order_id=old.order.pk, tenders=[TenderRequest("card", D("37.50"))])


def test_the_expiry_job_is_registered_and_follows_the_chain_setting(chain):
    from mendian.platform.jobs import periodic_jobs
    from mendian.sales import jobs

    assert any(j.name == "sales.expire_unpaid_orders" and j.every == dt.timedelta(minutes=1) for j in periodic_jobs())
    ChainSettings.objects.update_or_create(pk=1, defaults={"unpaid_order_minutes": 5})
    a = online(chain, chain.users["hq"], [("S001", 1)])
    Order.objects.filter(pk=a.order.pk).update(created_at=timezone.now() - dt.timedelta(minutes=6))
    assert jobs.expire_unpaid_orders() == 1
    assert Order.objects.get(pk=a.order.pk).status == "expired"


def test_pay_refused_once_unpaid_time_is_over_and_when_short(chain):
    hq = chain.users["hq"]
    a = online(chain, hq, [("S001", 1)])
    with pytest.raises(InvalidInput) as exc:
        services.order_pay(actor=hq, order_id=a.order.pk, tenders=[TenderRequest("card", D("12.49"))])
    assert exc.value.code == "tenders_short"
    assert Order.objects.get(pk=a.order.pk).status == "pending" and not Tender.objects.exists()
    Order.objects.filter(pk=a.order.pk).update(created_at=timezone.now() - dt.timedelta(minutes=30))
    with pytest.raises(Conflict) as exc:
        services.order_pay(actor=hq, order_id=a.order.pk, tenders=[TenderRequest("card", D("12.50"))])
    assert exc.value.code == "order_expired"


def test_partial_then_full_refund_puts_stock_back_with_negative_tenders(chain, open_shift):
    cashier = chain.users["cashier_km1"]
    shift = open_shift(cashier, chain.km1)
    r = pos_sale(chain, cashier, [("S001", 3), ("S002", 1)], [("cash", "50.00")])
    assert r.order.change == D("9.50")
    first = services.order_refund(actor=cashier, order_id=r.order.pk, lines=[RefundRequestLine(1, 1)])
    assert (first.refund.number, first.refund.amount) == (f"{r.order.number}-R01", D("12.50"))
    assert first.order.order.status == "partially_refunded"
    assert totals(chain.km1, chain.skus[0]) == (98, 0)
    assert [(t.method, t.amount, t.shift_id) for t in first.tenders] == [("cash", D("-12.50"), shift.pk)]
    second = services.order_refund(actor=cashier, order_id=r.order.pk,
                                   lines=[RefundRequestLine(1, 2), RefundRequestLine(2, 1)])
    assert second.refund.amount == D("28.00") and second.order.order.status == "refunded"
    assert Order.objects.get(pk=r.order.pk).refunded_total == D("40.50")
    assert totals(chain.km1, chain.skus[0]) == (100, 0) and totals(chain.km1, chain.skus[1]) == (100, 0)
    returned = StockMovement.objects.filter(doc_type="refund", reason="return")
    assert sorted(returned.values_list("sku__code", "on_hand_delta", "unit_cost")) == [
        ("S001", 1, D("4.0000")), ("S001", 2, D("4.0000")), ("S002", 1, D("4.0000"))]
    with pytest.raises(Conflict):
        services.order_refund(actor=cashier, order_id=r.order.pk, lines=[RefundRequestLine(2, 1)])
    assert topics(r.order.number)[-2:] == ["order.refunded", "order.refunded"]
    assert AuditEntry.objects.filter(object_ref=r.order.number, action="order.refund").count() == 2
    assert stock_ledger_check() == []


def test_refund_of_a_lot_tracked_line_goes_back_into_its_lots(chain, open_shift):
    fresh = SkuFactory(code="FRESH", list_price=D("5.00"), lot_tracked=True)
    receive(chain.km1, fresh, 2, "2.00", lot="L-EARLY", expiry=timezone.localdate() + dt.timedelta(days=2))
    receive(chain.km1, fresh, 5, "3.00", lot="L-LATE", expiry=timezone.localdate() + dt.timedelta(days=9))
    cashier = chain.users["cashier_km1"]
    open_shift(cashier, chain.km1)
    r = pos_sale(chain, cashier, [("FRESH", 4)], [("cash", "20.00")])
    lots = [(t["lot"], t["quantity"]) for t in r.lines[0].lots]
    assert lots == [("L-EARLY", 2), ("L-LATE", 2)]  # FEFO
    assert level(chain.km1, fresh, "L-EARLY").on_hand == 0
    services.order_refund(actor=cashier, order_id=r.order.pk, lines=[RefundRequestLine(1, 3)])
    assert level(chain.km1, fresh, "L-EARLY").on_hand == 2  # the units taken first come back first
    assert level(chain.km1, fresh, "L-LATE").on_hand == 4
    assert stock_ledger_check() == []


def test_refund_to_given_tenders_must_match_the_amount(chain, open_shift):
    cashier = chain.users["cashier_km1"]
    open_shift(cashier, chain.km1)
    r = pos_sale(chain, cashier, [("S001", 2)], [("card", "25.00")])
    with pytest.raises(InvalidInput) as exc:
        services.order_refund(actor=cashier, order_id=r.order.pk, lines=[RefundRequestLine(1, 1)],
                              tenders=[TenderRequest("cash", D("12.00"))])
    assert exc.value.code == "refund_tenders_mismatch"
    assert totals(chain.km1, chain.skus[0]) == (98, 0) and not Refund.objects.exists()
    done = services.order_refund(actor=cashier, order_id=r.order.pk, lines=[RefundRequestLine(1, 1)],
                                 tenders=[TenderRequest("cash", D("12.50"))])
    assert [(t.method, t.amount) for t in done.tenders] == [("cash", D("-12.50"))]


def test_shift_close_counts_cash_and_records_the_variance(chain, open_shift):
    cashier = chain.users["cashier_km1"]
    shift = open_shift(cashier, chain.km1, "200.00")
    pos_sale(chain, cashier, [("S001", 1)], [("cash", "20.00")])  # change 7.50
    r = pos_sale(chain, cashier, [("S002", 2)], [("card", "6.00")])
    services.order_refund(actor=cashier, order_id=r.order.pk, lines=[RefundRequestLine(1, 1)],
                          tenders=[TenderRequest("cash", D("3.00"))])
    online(chain, chain.users["hq"], [("S001", 1)], tenders=[("cash", "99.00")])  # not on the shift
    closed = services.shift_close(actor=cashier, shift_id=shift.pk, counted_cash=D("208.00"))
    # 200 + 20 − 7.50 − 3.00 = 209.50
    assert (closed.status, closed.expected_cash, closed.counted_cash, closed.variance) == (
        "closed", D("209.50"), D("208.00"), D("-1.50"))
    entry = AuditEntry.objects.get(action="shift.close", object_ref=str(shift.pk))
    assert entry.after["expected_cash"] == "209.50" and entry.after["variance"] == "-1.50"
    with pytest.raises(Conflict):
        services.shift_close(actor=cashier, shift_id=shift.pk, counted_cash=D("1"))
    with pytest.raises(Conflict) as exc:
        pos_sale(chain, cashier, [("S001", 1)], [("cash", "20.00")])
    assert exc.value.code == "no_open_shift"


def test_one_open_shift_per_user_and_store_and_only_owner_or_manager_closes(chain, open_shift):
    cashier = chain.users["cashier_km1"]
    shift = open_shift(cashier, chain.km1)
    with pytest.raises(Conflict) as exc:
        open_shift(cashier, chain.km1)
    assert exc.value.code == "shift_already_open"
    assert Shift.objects.filter(user=cashier, status="open").count() == 1
    other = chain.users["manager_km1"]
    with pytest.raises(PermissionDenied):
        services.shift_close(actor=other, shift_id=shift.pk, counted_cash=D("200"))
    services.shift_close(actor=other, shift_id=shift.pk, counted_cash=D("200"), may_close_others=True)
    open_shift(cashier, chain.km1)  # a new shift after the close


def test_selling_at_a_warehouse_is_refused(chain, open_shift):
    with pytest.raises(InvalidInput) as exc:
        online(chain, chain.users["hq"], [("S001", 1)], store=chain.wh)
    assert exc.value.code == "not_a_store"
