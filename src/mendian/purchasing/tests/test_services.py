import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from mendian.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mendian.core.timeutil import local_tz
from mendian.inventory.models import StockCost, StockLevel, StockMovement
from mendian.inventory.services import StockLine, stock_ledger_check, stock_sell
from mendian.platform.models import AuditEntry, OutboxEvent
from mendian.platform.outbox import outbox_deliver
from mendian.purchasing import selectors, services
from mendian.purchasing import subscribers as _subscribers  # noqa: F401  (registers the e-mail subscriber)
from mendian.purchasing.models import (
    DeliveryAppointment,
    DockSlot,
    PurchaseOrder,
    QcReport,
    Receipt,
    ReceiptDiscrepancy,
)

from .conftest import access

pytestmark = pytest.mark.django_db


def _suggest(world, **kw):
    return services.purchase_order_suggest(actor=world["users"]["buyer"], access=access(world["users"]["buyer"]), **kw)


def _lines(order):
    return {ln.sku.code: ln.quantity for ln in order.lines.select_related("sku")}


def test_suggestion_uses_policy_and_minimum_rounded_to_packs_and_moq(world):
    res = _suggest(world)
    by = {(o.supplier.code, o.location.code): o for o in res.orders}
    assert set(by) == {("DAIRY", "DC01"), ("TEAS", "KM001")}
    dc = by[("DAIRY", "DC01")]
    # MILK: policy rop 30, up to 100, available 10 → need 90 → 8 packs of 12 = 96; YOG: minimum 10/40, need 40 → 42
    assert _lines(dc) == {"MILK": 96, "YOG": 42}
    assert _lines(by[("TEAS", "KM001")]) == {"TEA": 20}
    milk_line = dc.lines.get(sku__code="MILK")
    assert milk_line.suggestion["source"] == "planning" and milk_line.suggestion["need"] == 90
    assert dc.lines.get(sku__code="YOG").suggestion["source"] == "minimum"
    assert dc.status == "draft" and dc.number.startswith("PO")
    assert res.total == Decimal("856.00")  # 96×3 + 42×4 + 20×20
    assert OutboxEvent.objects.filter(topic="purchase_order.created").count() == 2


def test_second_suggestion_counts_drafts_as_on_order(world):
    _suggest(world)
    res = _suggest(world)
    assert res.orders == []


def test_budget_drops_lowest_priority_lines(world):
    # priority: YOG (nothing available, 100% of its minimum missing, need 40), TEA (100% missing, need 20),
    # MILK (10 of 30 available: 67% missing). YOG 168.00 fits; TEA 400.00 does not and no pack of it fits
    # the 132.00 left → dropped, and MILK below it too.
    res = _suggest(world, budget=Decimal("300.00"))
    kept = {(o.location.code, ln.sku.code): ln.quantity for o in res.orders for ln in o.lines.select_related("sku")}
    assert kept == {("DC01", "YOG"): 42}
    assert [d["sku"] for d in res.dropped] == ["TEA", "MILK"]
    assert res.total == Decimal("168.00")


def test_budget_cut_is_exact(world):
    res = _suggest(world, budget=Decimal("600.00"))
    kept = {(o.location.code, ln.sku.code): ln.quantity for o in res.orders for ln in o.lines.select_related("sku")}
    # YOG 168 + TEA 400 = 568 first (most urgent); MILK gets 32 left → 0 packs of 36 → dropped (MOQ 24 needs 72)
    assert kept == {("DC01", "YOG"): 42, ("KM001", "TEA"): 20}
    assert res.dropped == [{"location": "DC01", "sku": "MILK", "quantity": 96, "cost": Decimal("288.00")}]
    assert res.total == Decimal("568.00")


def test_only_buyers_suggest(world):
    for role in ("dc_manager", "cashier", "supplier", "region"):
        user = world["users"][role]
        with pytest.raises(PermissionDenied):
            services.purchase_order_suggest(actor=user, access=access(user))
    assert PurchaseOrder.objects.count() == 0


def test_full_cycle_suggest_to_receipt_moves_stock_through_the_ledger(world):
    buyer, supplier, mgr = world["users"]["buyer"], world["users"]["supplier"], world["users"]["dc_manager"]
    res = _suggest(world, supplier_code="DAIRY")
    order = res.orders[0]
    n = order.number
    # buyer edits: MILK down to 84 (7 packs); a quantity off the pack is refused
    with pytest.raises(InvalidInput):
        services.purchase_order_line_set(actor=buyer, access=access(buyer), number=n, sku_id=world["milk"].pk,
                                         quantity=80)
    services.purchase_order_line_set(actor=buyer, access=access(buyer), number=n, sku_id=world["milk"].pk, quantity=84)
    # a supplier does not see a draft
    with pytest.raises(NotFound):
        services.purchase_order_confirm(actor=supplier, access=access(supplier), number=n)
    services.purchase_order_approve(actor=buyer, access=access(buyer), number=n)
    with pytest.raises(Conflict):
        services.purchase_order_approve(actor=buyer, access=access(buyer), number=n)
    services.purchase_order_send(actor=buyer, access=access(buyer), number=n)
    assert len(mail.outbox) == 0
    outbox_deliver()
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == ["orders@dairy.example"] and n in msg.subject
    assert "DD-MILK-1L" in msg.body and "| 84 | 7 |" in msg.body and "420.00" in msg.body  # 84×3 + 42×4
    outbox_deliver()
    assert len(mail.outbox) == 1
    # supplier confirms MILK 72 on a later date
    day = dt.date.today() + dt.timedelta(days=4)
    services.purchase_order_confirm(actor=supplier, access=access(supplier), number=n,
                                    lines=[services.ConfirmLine(world["milk"].pk, 72, day)])
    order.refresh_from_db()
    assert order.status == "confirmed"
    milk_line = order.lines.get(sku=world["milk"])
    assert (milk_line.quantity, milk_line.confirmed_qty, milk_line.confirmed_date) == (84, 72, day)
    assert order.lines.get(sku=world["yog"]).confirmed_qty == 42
    # ASN: over-shipping refused, then MILK 72 and YOG 42 in lot L1
    with pytest.raises(InvalidInput):
        services.ship_notice_create(actor=supplier, access=access(supplier), order_number=n,
                                    lines=[services.NoticeLine(world["milk"].pk, 84)])
    notice = services.ship_notice_create(
        actor=supplier, access=access(supplier), order_number=n,
        lines=[services.NoticeLine(world["milk"].pk, 72),
               services.NoticeLine(world["yog"].pk, 42, "L1", dt.date(2027, 3, 1))])
    # slot booking
    slot_start = dt.datetime.combine(world["tomorrow"], dt.time(8), tzinfo=local_tz())
    appt = services.appointment_book(actor=supplier, access=access(supplier), notice_number=notice.number,
                                     slot_start=slot_start)
    assert DockSlot.objects.get(pk=appt.slot_id).booked == 1
    # QC report
    report = services.qc_report_upload(actor=supplier, access=access(supplier), notice_number=notice.number,
                                       content=b"%PDF-1.4 qc ok", filename="qc.pdf", content_type="application/pdf")
    assert report.file.read() == b"%PDF-1.4 qc ok"
    # a store manager elsewhere cannot receive here
    other = world["users"]["store_manager"]
    with pytest.raises(NotFound):
        services.receipt_create(actor=other, access=access(other), notice_number=notice.number,
                                lines=[services.ReceiveLine(world["milk"].pk, 72)])
    # the DC manager receives: MILK 72 with 4 rejected, YOG 40 of lot L1 (2 short)
    receipt = services.receipt_create(
        actor=mgr, access=access(mgr), notice_number=notice.number,
        lines=[services.ReceiveLine(world["milk"].pk, 72, 4, "crushed"),
               services.ReceiveLine(world["yog"].pk, 40, 0, "", "L1", dt.date(2027, 3, 1))])
    assert receipt.number.startswith("GRN")
    disc = sorted((d.sku.code, d.kind, d.expected_qty, d.actual_qty) for d in
                  ReceiptDiscrepancy.objects.filter(receipt=receipt).select_related("sku"))
    assert disc == [("MILK", "rejected", 72, 4), ("YOG", "short", 42, 40)]
    order.refresh_from_db()
    assert order.status == "partially_received"
    assert {ln.sku.code: (ln.accepted_qty, ln.rejected_qty) for ln in order.lines.select_related("sku")} == {
        "MILK": (68, 4), "YOG": (40, 0)}
    # stock went in through the ledger, with the moving average
    dc = world["dc"]
    milk_mv = StockMovement.objects.get(doc_ref=receipt.number, sku=world["milk"])
    assert (milk_mv.on_hand_delta, milk_mv.reason, milk_mv.doc_type) == (68, "receipt", "purchase_receipt")
    assert StockLevel.objects.get(location=dc, sku=world["milk"]).on_hand == 78
    # (10 × 2.50 + 68 × 3.00) / 78 = 2.9359
    assert StockCost.objects.get(location=dc, sku=world["milk"]).avg_cost == Decimal("2.9359")
    yog_level = StockLevel.objects.get(location=dc, sku=world["yog"])
    assert (yog_level.on_hand, yog_level.lot.code, yog_level.lot.expiry) == (40, "L1", dt.date(2027, 3, 1))
    assert stock_ledger_check() == []
    # the notice is received; a second receipt on it is refused
    with pytest.raises(Conflict):
        services.receipt_create(actor=mgr, access=access(mgr), notice_number=notice.number,
                                lines=[services.ReceiveLine(world["milk"].pk, 1)])
    # the rest, against the order, closes it
    services.receipt_create(actor=mgr, access=access(mgr), order_number=n,
                            lines=[services.ReceiveLine(world["milk"].pk, 4), services.ReceiveLine(
                                world["yog"].pk, 2, 0, "", "L2", dt.date(2027, 4, 1))])
    order.refresh_from_db()
    assert order.status == "received"
    assert stock_ledger_check() == []
    actions = set(AuditEntry.objects.filter(object_ref=n).values_list("action", flat=True))
    assert {"purchase_order.created", "purchase_order.edited", "purchase_order.approved", "purchase_order.sent",
            "purchase_order.confirmed", "purchase_order.partially_received", "purchase_order.received"} <= actions
    topics = set(OutboxEvent.objects.values_list("topic", flat=True))
    assert {"receipt.created", "ship_notice.created", "appointment.booked", "qc_report.uploaded"} <= topics
    # the scorecard sees one order, 114 accepted of 126 ordered, 4 rejected of 118 received
    sc = selectors.supplier_scorecard(supplier_id=world["dairy"].pk)
    assert (sc.orders, sc.fill_rate, sc.reject_rate, sc.on_time_rate) == (1, 0.9048, 0.0339, 1.0)


def _sent_order(world):
    buyer = world["users"]["buyer"]
    order = _suggest(world, supplier_code="DAIRY").orders[0]
    services.purchase_order_approve(actor=buyer, access=access(buyer), number=order.number)
    services.purchase_order_send(actor=buyer, access=access(buyer), number=order.number)
    return order


def _notice(world, order, qty=12):
    supplier = world["users"]["supplier"]
    services.purchase_order_confirm(actor=supplier, access=access(supplier), number=order.number)
    return services.ship_notice_create(actor=supplier, access=access(supplier), order_number=order.number,
                                       lines=[services.NoticeLine(world["milk"].pk, qty)])


def test_full_slot_refuses_second_booking_and_changes_nothing(world):
    supplier = world["users"]["supplier"]
    order = _sent_order(world)
    a = _notice(world, order, 12)
    b = services.ship_notice_create(actor=supplier, access=access(supplier), order_number=order.number,
                                    lines=[services.NoticeLine(world["milk"].pk, 12)])
    start = dt.datetime.combine(world["tomorrow"], dt.time(9), tzinfo=local_tz())
    services.appointment_book(actor=supplier, access=access(supplier), notice_number=a.number, slot_start=start)
    with pytest.raises(Conflict) as exc:
        services.appointment_book(actor=supplier, access=access(supplier), notice_number=b.number, slot_start=start)
    assert exc.value.code == "slot_full"
    assert DockSlot.objects.get(starts_at=start).booked == 1
    assert DeliveryAppointment.objects.count() == 1
    with pytest.raises(Conflict) as exc:
        services.appointment_book(actor=supplier, access=access(supplier), notice_number=a.number,
                                  slot_start=start - dt.timedelta(hours=1))
    assert exc.value.code == "already_booked"
    # cancelling gives the slot back
    appt = DeliveryAppointment.objects.get()
    services.appointment_cancel(actor=supplier, access=access(supplier), number=appt.number)
    services.appointment_book(actor=supplier, access=access(supplier), notice_number=b.number, slot_start=start)
    assert DockSlot.objects.get(starts_at=start).booked == 1


def test_supplier_sees_only_own_documents(world):
    order = _sent_order(world)
    notice = _notice(world, order)
    other = world["users"]["other_supplier"]
    with pytest.raises(NotFound):
        services.purchase_order_confirm(actor=other, access=access(other), number=order.number)
    with pytest.raises(NotFound):
        services.qc_report_upload(actor=other, access=access(other), notice_number=notice.number, content=b"x",
                                  filename="a.pdf")
    assert selectors.purchase_order_list(access=access(other))[1] == 0
    assert selectors.purchase_order_list(access=access(world["users"]["supplier"]))[1] == 1
    assert QcReport.objects.count() == 0


def test_rejected_everything_writes_no_stock_and_records_rejects(world):
    mgr = world["users"]["dc_manager"]
    order = _sent_order(world)
    before = StockMovement.objects.count()
    receipt = services.receipt_create(actor=mgr, access=access(mgr), order_number=order.number,
                                      lines=[services.ReceiveLine(world["milk"].pk, 12, 12, "spoiled")])
    assert StockMovement.objects.count() == before
    disc = sorted(ReceiptDiscrepancy.objects.filter(receipt=receipt).values_list("sku__code", "kind", "expected_qty",
                                                                                 "actual_qty"))
    # MILK: 96 expected, 12 came, all 12 rejected; YOG: 42 expected, none came
    assert disc == [("MILK", "rejected", 12, 12), ("MILK", "short", 96, 12), ("YOG", "short", 42, 0)]
    order.refresh_from_db()
    assert order.status == "partially_received"
    assert order.lines.get(sku=world["milk"]).rejected_qty == 12


def test_receipt_needs_lot_for_lot_tracked_sku_and_rolls_back(world):
    mgr = world["users"]["dc_manager"]
    order = _sent_order(world)
    with pytest.raises(InvalidInput):
        services.receipt_create(actor=mgr, access=access(mgr), order_number=order.number,
                                lines=[services.ReceiveLine(world["yog"].pk, 6)])
    assert Receipt.objects.count() == 0
    order.refresh_from_db()
    assert order.status == "sent"


def test_cancel_sent_order_emails_supplier(world):
    buyer = world["users"]["buyer"]
    order = _sent_order(world)
    services.purchase_order_cancel(actor=buyer, access=access(buyer), number=order.number, reason="duplicate")
    outbox_deliver()
    subjects = [m.subject for m in mail.outbox]
    assert any("cancelled" in s for s in subjects)
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_lot_trace_follows_units_to_sales(world):
    mgr = world["users"]["dc_manager"]
    order = _sent_order(world)
    receipt = services.receipt_create(actor=mgr, access=access(mgr), order_number=order.number,
                                      lines=[services.ReceiveLine(world["yog"].pk, 42, 0, "", "LT9", dt.date(2027, 1, 1))])
    stock_sell(location_id=world["dc"].pk, lines=[StockLine(world["yog"].pk, 5)], doc_type="order", doc_ref="SO1",
               user_id=None)
    traces = selectors.lot_trace(access=access(world["users"]["hq"]), code="LT9")
    assert len(traces) == 1
    t = traces[0]
    assert [r["receipt"] for r in t.receipts] == [receipt.number]
    assert {(m["location"], m["reason"], m["doc_ref"], m["quantity"]) for m in t.movements} == {
        ("DC01", "receipt", receipt.number, 42), ("DC01", "sale", "SO1", -5)}
    assert t.on_hand == [{"location": "DC01", "on_hand": 37, "reserved": 0}]
    # a store manager elsewhere sees nothing of it
    assert selectors.lot_trace(access=access(world["users"]["store_manager"]), code="LT9") == []


def test_demo_setup_is_idempotent(world):
    first = services.purchasing_demo_setup(days=2, capacity=2)
    assert first.suppliers >= 1 and first.portal_users == first.suppliers
    # 2 days × 10 hourly slots; tomorrow's 08:00 and 09:00 existed already (capacity 1) and are kept
    assert DockSlot.objects.filter(location=world["dc"]).count() == 20
    assert DockSlot.objects.filter(location=world["dc"], capacity=2).count() == 18
    second = services.purchasing_demo_setup(days=2, capacity=2)
    assert second.portal_users == 0
    assert DockSlot.objects.filter(location=world["dc"]).count() == 20


def test_console_selectors(world):
    order = _sent_order(world)
    buyer = access(world["users"]["buyer"])
    assert selectors.purchase_order_status_counts(access=buyer) == {"sent": 1}
    assert selectors.purchase_order_status_counts(access=access(world["users"]["store_manager"])) == {}
    later = order.expected_date + dt.timedelta(days=1)
    assert [o.number for o in selectors.purchase_orders_overdue(access=buyer, today=later)] == [order.number]
    assert selectors.purchase_orders_overdue(access=buyer, today=order.expected_date) == []
    notice = _notice(world, order)
    supplier = world["users"]["supplier"]
    start = dt.datetime.combine(world["tomorrow"], dt.time(8), tzinfo=local_tz())
    services.appointment_book(actor=supplier, access=access(supplier), notice_number=notice.number, slot_start=start)
    plan = selectors.appointments_for_day(access=buyer, location_id=world["dc"].pk, day=world["tomorrow"])
    assert [a.notice.number for a in plan] == [notice.number]
    params = selectors.supplier_params_for([world["milk"].pk, world["tea"].pk])
    assert (params[world["milk"].pk].supplier_code, params[world["milk"].pk].lead_time_std_days) == ("DAIRY", Decimal("1"))
    assert params[world["tea"].pk].lead_time_days == Decimal("7")


def test_email_is_sent_once_even_when_the_event_is_delivered_again(world):
    _sent_order(world)
    outbox_deliver()
    assert len(mail.outbox) == 1
    OutboxEvent.objects.filter(topic="purchase_order.sent").update(delivered_at=None)
    outbox_deliver()
    assert len(mail.outbox) == 1


def test_shipped_order_cannot_be_cancelled_or_reconfirmed(world):
    buyer, supplier = world["users"]["buyer"], world["users"]["supplier"]
    order = _sent_order(world)
    _notice(world, order)
    with pytest.raises(Conflict) as exc:
        services.purchase_order_cancel(actor=buyer, access=access(buyer), number=order.number)
    assert exc.value.code == "shipment_in_transit"
    with pytest.raises(Conflict) as exc:
        services.purchase_order_confirm(actor=supplier, access=access(supplier), number=order.number,
                                        lines=[services.ConfirmLine(world["milk"].pk, 12)])
    assert exc.value.code == "already_shipped"
    order.refresh_from_db()
    assert order.status == "confirmed"
    assert order.lines.get(sku=world["milk"]).confirmed_qty == 96


def test_manual_order_respects_packs_and_supplier_catalogue(world):
    buyer = world["users"]["buyer"]
    with pytest.raises(InvalidInput):
        services.purchase_order_create(actor=buyer, access=access(buyer), supplier_code="DAIRY",
                                       location_id=world["store"].pk, lines=[(world["tea"].pk, 10)])
    with pytest.raises(InvalidInput):
        services.purchase_order_create(actor=buyer, access=access(buyer), supplier_code="DAIRY",
                                       location_id=world["store"].pk, lines=[(world["milk"].pk, 12)])  # < MOQ 24
    order = services.purchase_order_create(actor=buyer, access=access(buyer), supplier_code="DAIRY",
                                           location_id=world["store"].pk, lines=[(world["milk"].pk, 24)])
    assert (order.source, _lines(order)) == ("manual", {"MILK": 24})
    assert PurchaseOrder.objects.count() == 1
