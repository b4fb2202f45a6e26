import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from mendian.catalog.tests.factories import SkuFactory
from mendian.core.errors import Conflict, InvalidInput
from mendian.inventory.errors import InsufficientStock, ShortLine
from mendian.inventory.models import CountTask, LostDemand, StockCost, StockCount, StockLevel, StockMovement
from mendian.inventory.services import (
    LotTake,
    OpeningRow,
    ReceiptLine,
    StockLine,
    lost_demand_record,
    stock_adjust,
    stock_count_record,
    stock_issue_reserved,
    stock_ledger_check,
    stock_opening_bulk,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_return,
    stock_sell,
    stock_transfer_receive,
    stock_transfer_ship,
)
from mendian.inventory.tests.factories import level, receive, totals
from mendian.org.models import Location
from mendian.org.tests.factories import LocationFactory, UserFactory
from mendian.platform.models import AuditEntry, OutboxEvent

pytestmark = pytest.mark.django_db
D = dt.date


def ledger(location, sku):
    rows = StockMovement.objects.filter(location=location, sku=sku)
    return sum(m.on_hand_delta for m in rows), sum(m.reserved_delta for m in rows)


def kw(ref="O1"):
    return {"doc_type": "order", "doc_ref": ref, "user_id": None}


# --- receive and moving average ---------------------------------------------------------------------


def test_receipt_creates_balance_movement_and_cost(store, sku):
    receive(store, sku, 10, "4.00")
    lv = level(store, sku)
    assert (lv.on_hand, lv.reserved) == (10, 0)
    m = StockMovement.objects.get(level=lv)
    assert (m.reason, m.on_hand_delta, m.unit_cost) == ("receipt", 10, Decimal("4.0000"))
    assert StockCost.objects.get(location=store, sku=sku).avg_cost == Decimal("4.0000")


def test_moving_average_cost_weights_receipts(store, sku):
    receive(store, sku, 10, "4.00")
    receive(store, sku, 30, "6.00")
    assert StockCost.objects.get(location=store, sku=sku).avg_cost == Decimal("5.5000")
    stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 40)], **kw())
    receive(store, sku, 5, "7.00")  # nothing on hand: the new cost is the average
    assert StockCost.objects.get(location=store, sku=sku).avg_cost == Decimal("7.0000")


def test_receipt_of_lot_tracked_sku_needs_a_lot(store, lot_sku):
    with pytest.raises(InvalidInput), transaction.atomic():
        receive(store, lot_sku, 5)
    assert not StockLevel.objects.exists()


def test_receipt_lot_on_plain_sku_is_refused(store, sku):
    with pytest.raises(InvalidInput), transaction.atomic():
        receive(store, sku, 5, lot="L1")
    assert not StockMovement.objects.exists()


def test_each_call_publishes_one_event_with_its_movements(store, sku):
    other = SkuFactory()
    stock_receive(location_id=store.pk, lines=[ReceiptLine(sku.pk, 3, Decimal("1")), ReceiptLine(other.pk, 4, Decimal("2"))],
                  doc_type="grn", doc_ref="GRN1", user_id=None)
    [ev] = OutboxEvent.objects.filter(topic="stock.moved")
    assert ev.partition == "KM001"
    assert ev.payload["doc_ref"] == "GRN1"
    assert sorted((m["sku_id"], m["on_hand_delta"]) for m in ev.payload["movements"]) == sorted([(sku.pk, 3), (other.pk, 4)])


# --- reservations ----------------------------------------------------------------------------------


def test_reserve_takes_available_and_returns_cost(store, sku):
    receive(store, sku, 10, "4.00")
    takes = stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 3)], **kw())
    assert takes == [LotTake(sku.pk, None, None, 3, Decimal("4.0000"))]
    assert (level(store, sku).on_hand, level(store, sku).reserved) == (10, 3)
    assert ledger(store, sku) == (10, 3)


def test_reserve_is_all_or_nothing_and_names_every_short_line(store, sku):
    a, b = SkuFactory(), SkuFactory()
    receive(store, sku, 10)
    receive(store, a, 1)
    with pytest.raises(InsufficientStock) as exc:
        stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 2), StockLine(a.pk, 3), StockLine(b.pk, 1)], **kw())
    assert exc.value.lines == [ShortLine(a.pk, 3, 1), ShortLine(b.pk, 1, 0)]
    assert exc.value.status == 409 and exc.value.code == "insufficient_stock"
    assert level(store, sku).reserved == 0
    assert StockMovement.objects.filter(reason="reservation").count() == 0


def test_reserve_guards_on_available_not_on_hand(store, sku):
    receive(store, sku, 5)
    stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 4)], **kw("O1"))
    with pytest.raises(InsufficientStock) as exc:
        stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 2)], **kw("O2"))
    assert exc.value.lines == [ShortLine(sku.pk, 2, 1)]


def test_reserve_lot_tracked_fefo(store, lot_sku):
    receive(store, lot_sku, 5, lot="LATE", expiry=D(2099, 3, 1))
    receive(store, lot_sku, 5, lot="EARLY", expiry=D(2099, 1, 1))
    takes = stock_reserve(location_id=store.pk, lines=[StockLine(lot_sku.pk, 7)], **kw())
    assert [(t.lot_code, t.quantity) for t in takes] == [("EARLY", 5), ("LATE", 2)]
    assert level(store, lot_sku, "EARLY").reserved == 5
    assert level(store, lot_sku, "LATE").reserved == 2


def test_reserve_does_not_promise_expired_lots(store, lot_sku):
    receive(store, lot_sku, 5, lot="OLD", expiry=D(2000, 1, 1))
    with pytest.raises(InsufficientStock):
        stock_reserve(location_id=store.pk, lines=[StockLine(lot_sku.pk, 1)], **kw())


def test_release_gives_back_and_issue_takes_out(store, sku):
    receive(store, sku, 10)
    t1 = stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 3)], **kw("O1"))
    t2 = stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 2)], **kw("O2"))
    stock_release(location_id=store.pk, takes=t1, **kw("O1"))
    assert (level(store, sku).on_hand, level(store, sku).reserved) == (10, 2)
    stock_issue_reserved(location_id=store.pk, takes=t2, **kw("O2"))
    assert (level(store, sku).on_hand, level(store, sku).reserved) == (8, 0)
    assert ledger(store, sku) == (8, 0)
    reasons = list(StockMovement.objects.order_by("id").values_list("reason", flat=True))
    assert reasons == ["receipt", "reservation", "reservation", "release", "sale"]


def test_release_more_than_reserved_is_refused(store, sku):
    receive(store, sku, 10)
    stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 1)], **kw())
    with pytest.raises(Conflict):
        stock_release(location_id=store.pk, takes=[LotTake(sku.pk, None, None, 2, Decimal("0"))], **kw())
    assert level(store, sku).reserved == 1


def test_lost_demand_is_recorded(store, sku):
    lost_demand_record(location_id=store.pk, items=[StockLine(sku.pk, 4)], channel="online")
    ld = LostDemand.objects.get()
    assert (ld.location_id, ld.sku_id, ld.quantity, ld.channel) == (store.pk, sku.pk, 4, "online")


# --- POS sales -------------------------------------------------------------------------------------


def test_sell_takes_on_hand_and_returns_average_cost(store, sku):
    receive(store, sku, 10, "2.50")
    takes = stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 4)], **kw())
    assert takes == [LotTake(sku.pk, None, None, 4, Decimal("2.5000"))]
    assert level(store, sku).on_hand == 6
    m = StockMovement.objects.get(reason="sale")
    assert (m.on_hand_delta, m.unit_cost, m.doc_ref) == (-4, Decimal("2.5000"), "O1")
    assert not CountTask.objects.exists()


def test_sell_below_zero_opens_one_count_task(store, sku):
    receive(store, sku, 1)
    stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 3)], **kw("O1"))
    stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 1)], **kw("O2"))
    assert level(store, sku).on_hand == -3
    task = CountTask.objects.get()
    assert (task.location_id, task.sku_id, task.status) == (store.pk, sku.pk, "open")
    assert ledger(store, sku) == (-3, 0)


def test_sell_of_a_sku_never_stocked_creates_the_balance(store, sku):
    takes = stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 2)], **kw())
    assert takes == [LotTake(sku.pk, None, None, 2, Decimal("0.0000"))]
    assert level(store, sku).on_hand == -2
    assert CountTask.objects.filter(sku=sku, status="open").count() == 1
    assert stock_ledger_check() == []


def test_sell_refuse_negative_refuses_and_writes_nothing(store, sku):
    other = SkuFactory()
    receive(store, sku, 5)
    receive(store, other, 5)
    with pytest.raises(InsufficientStock) as exc:
        stock_sell(location_id=store.pk, lines=[StockLine(other.pk, 1), StockLine(sku.pk, 6)], refuse_negative=True, **kw())
    assert exc.value.lines == [ShortLine(sku.pk, 6, 5)]
    assert level(store, sku).on_hand == 5 and level(store, other).on_hand == 5
    assert not StockMovement.objects.filter(reason="sale").exists()


def test_sell_duplicate_sku_lines_get_takes_per_line(store, sku):
    receive(store, sku, 10)
    takes = stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 2), StockLine(sku.pk, 3)], **kw())
    assert [t.quantity for t in takes] == [2, 3]
    assert level(store, sku).on_hand == 5
    assert ledger(store, sku) == (5, 0)


def test_sell_lot_tracked_fefo_then_unknown_lot(store, lot_sku, sku):
    receive(store, sku, 10)
    receive(store, lot_sku, 2, lot="A", expiry=D(2099, 1, 1))
    receive(store, lot_sku, 2, lot="B", expiry=D(2099, 2, 1))
    takes = stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 1), StockLine(lot_sku.pk, 5)], **kw())
    assert [(t.sku_id, t.lot_code, t.quantity) for t in takes] == [
        (sku.pk, None, 1), (lot_sku.pk, "A", 2), (lot_sku.pk, "B", 2), (lot_sku.pk, None, 1)]
    assert level(store, lot_sku, "A").on_hand == 0
    assert level(store, lot_sku).on_hand == -1  # the lot-less balance: lot unknown
    assert CountTask.objects.filter(sku=lot_sku, status="open").exists()
    assert stock_ledger_check() == []


def test_sell_takes_do_not_touch_reserved(store, sku):
    receive(store, sku, 3)
    stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 2)], **kw("O1"))
    stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 3)], **kw("P1"))
    assert (level(store, sku).on_hand, level(store, sku).reserved) == (0, 2)


def test_return_puts_goods_back_into_their_lot_at_recorded_cost(store, lot_sku):
    receive(store, lot_sku, 4, "3.00", lot="A", expiry=D(2099, 1, 1))
    takes = stock_sell(location_id=store.pk, lines=[StockLine(lot_sku.pk, 2)], **kw())
    stock_return(location_id=store.pk, takes=takes, **kw("R1"))
    assert level(store, lot_sku, "A").on_hand == 4
    m = StockMovement.objects.get(reason="return")
    assert (m.on_hand_delta, m.unit_cost, m.lot.code) == (2, Decimal("3.0000"), "A")
    assert StockCost.objects.get(location=store, sku=lot_sku).avg_cost == Decimal("3.0000")


def test_invalid_quantities_are_refused(store, sku):
    with pytest.raises(InvalidInput):
        stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 0)], **kw())
    with pytest.raises(InvalidInput):
        stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, -1)], **kw())
    assert not StockMovement.objects.exists()


# --- adjustments and counts ------------------------------------------------------------------------


def test_adjust_down_records_cause_and_audit(store, sku):
    user = UserFactory(username="mgr")
    receive(store, sku, 10, "2.00")
    r = stock_adjust(location_id=store.pk, sku_id=sku.pk, delta=-3, reason="damage", note="dropped", user=user)
    assert (r.on_hand, r.delta) == (7, -3)
    m = StockMovement.objects.get(reason="adjustment")
    assert (m.on_hand_delta, m.cause, m.note, m.user_id, m.unit_cost) == (-3, "damage", "dropped", user.pk, Decimal("2.0000"))
    a = AuditEntry.objects.get(action="stock.adjust")
    assert (a.actor, a.object_ref, a.before["on_hand"], a.after["on_hand"]) == ("mgr", "KM001/MILK1L", 10, 7)


def test_adjust_rejects_unknown_reason_and_changes_nothing(store, sku):
    receive(store, sku, 10)
    with pytest.raises(InvalidInput):
        stock_adjust(location_id=store.pk, sku_id=sku.pk, delta=-1, reason="eaten", note="", user=None)
    assert level(store, sku).on_hand == 10
    assert not AuditEntry.objects.filter(action="stock.adjust").exists()


def test_adjust_cannot_take_on_hand_below_zero(store, sku):
    receive(store, sku, 2)
    with pytest.raises(InsufficientStock):
        stock_adjust(location_id=store.pk, sku_id=sku.pk, delta=-3, reason="theft", note="", user=None)
    assert level(store, sku).on_hand == 2


def test_adjust_up_on_new_balance(store, sku):
    stock_adjust(location_id=store.pk, sku_id=sku.pk, delta=4, reason="found", note="back room", user=None)
    assert level(store, sku).on_hand == 4
    assert stock_ledger_check() == []


def test_adjust_lot_tracked_takes_earliest_expiry(store, lot_sku):
    receive(store, lot_sku, 2, lot="A", expiry=D(2020, 1, 1))
    receive(store, lot_sku, 5, lot="B", expiry=D(2099, 1, 1))
    stock_adjust(location_id=store.pk, sku_id=lot_sku.pk, delta=-3, reason="expired", note="", user=None)
    assert (level(store, lot_sku, "A").on_hand, level(store, lot_sku, "B").on_hand) == (0, 4)


def test_count_records_variances_and_closes_tasks(store, sku):
    user = UserFactory(username="counter")
    other = SkuFactory(code="BREAD")
    receive(store, sku, 10)
    stock_sell(location_id=store.pk, lines=[StockLine(other.pk, 2)], **kw())  # other: -2, a count task
    assert CountTask.objects.filter(status="open").count() == 1
    count = stock_count_record(location_id=store.pk, lines=[(sku.pk, 8), (other.pk, 0)], user=user, note="weekly")
    lines = {ln.sku_id: (ln.book_qty, ln.counted_qty, ln.variance) for ln in StockCount.objects.get().lines.all()}
    assert lines == {sku.pk: (10, 8, -2), other.pk: (-2, 0, 2)}
    assert count.number.startswith("CNT-KM001-")
    assert (level(store, sku).on_hand, level(store, other).on_hand) == (8, 0)
    assert sorted(StockMovement.objects.filter(reason="count").values_list("on_hand_delta", flat=True)) == [-2, 2]
    assert CountTask.objects.filter(status="open").count() == 0
    assert AuditEntry.objects.filter(action="stock.count", object_ref=count.number).count() == 1
    assert stock_ledger_check() == []


def test_count_rejects_negative_and_duplicates(store, sku):
    with pytest.raises(InvalidInput):
        stock_count_record(location_id=store.pk, lines=[(sku.pk, -1)], user=None)
    with pytest.raises(InvalidInput):
        stock_count_record(location_id=store.pk, lines=[(sku.pk, 1), (sku.pk, 2)], user=None)
    assert not StockCount.objects.exists()


def test_count_of_lot_tracked_sku_spreads_over_lots(store, lot_sku):
    receive(store, lot_sku, 3, lot="A", expiry=D(2099, 1, 1))
    receive(store, lot_sku, 3, lot="B", expiry=D(2099, 2, 1))
    stock_count_record(location_id=store.pk, lines=[(lot_sku.pk, 4)], user=None)
    assert (level(store, lot_sku, "A").on_hand, level(store, lot_sku, "B").on_hand) == (1, 3)
    stock_count_record(location_id=store.pk, lines=[(lot_sku.pk, 5, "A")], user=None)
    assert level(store, lot_sku, "A").on_hand == 5


# --- transfers -------------------------------------------------------------------------------------


@pytest.fixture
def transit(store):
    return LocationFactory(code="TRANSIT", kind=Location.Kind.TRANSIT, region=store.region)


def test_transfer_ship_and_receive_with_discrepancies(store, sku, transit):
    dest = LocationFactory(code="KM002", region=store.region)
    receive(store, sku, 10, "3.00")
    takes = stock_transfer_ship(from_location_id=store.pk, transit_location_id=transit.pk,
                                lines=[StockLine(sku.pk, 6)], doc_ref="TR1", user_id=None)
    assert takes == [LotTake(sku.pk, None, None, 6, Decimal("3.0000"))]
    assert (level(store, sku).on_hand, level(transit, sku).on_hand) == (4, 6)
    r = stock_transfer_receive(transit_location_id=transit.pk, to_location_id=dest.pk, takes=takes,
                               received={sku.pk: 4}, damaged={sku.pk: 1}, doc_ref="TR1", user_id=None)
    assert ([t.quantity for t in r.received], [t.quantity for t in r.short], [t.quantity for t in r.damaged]) == ([4], [1], [1])
    assert (level(transit, sku).on_hand, level(dest, sku).on_hand) == (0, 4)
    assert StockCost.objects.get(location=dest, sku=sku).avg_cost == Decimal("3.0000")
    causes = sorted(StockMovement.objects.filter(location=transit, reason="adjustment").values_list("cause", flat=True))
    assert causes == ["damage", "short"]
    assert stock_ledger_check() == []


def test_transfer_ship_guarded_on_available(store, sku, transit):
    receive(store, sku, 3)
    stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 2)], **kw())
    with pytest.raises(InsufficientStock):
        stock_transfer_ship(from_location_id=store.pk, transit_location_id=transit.pk,
                            lines=[StockLine(sku.pk, 2)], doc_ref="TR1", user_id=None)
    assert level(store, sku).on_hand == 3
    assert not StockLevel.objects.filter(location=transit).exists()


def test_transfer_receive_more_than_shipped_is_refused(store, sku, transit):
    receive(store, sku, 3)
    takes = stock_transfer_ship(from_location_id=store.pk, transit_location_id=transit.pk,
                                lines=[StockLine(sku.pk, 2)], doc_ref="TR1", user_id=None)
    with pytest.raises(InvalidInput):
        stock_transfer_receive(transit_location_id=transit.pk, to_location_id=store.pk, takes=takes,
                               received={sku.pk: 3}, doc_ref="TR1", user_id=None)
    assert level(transit, sku).on_hand == 2


# --- opening balances, ledger check ----------------------------------------------------------------


def test_opening_bulk_sets_balances_movements_costs(store, sku, lot_sku):
    r = stock_opening_bulk(rows=[OpeningRow(store.pk, sku.pk, 10, Decimal("2")),
                                 OpeningRow(store.pk, lot_sku.pk, 4, Decimal("1"), "A", D(2099, 1, 1)),
                                 OpeningRow(store.pk, lot_sku.pk, 4, Decimal("2"), "B", D(2099, 2, 1))])
    assert (r.levels, r.movements, r.lots) == (3, 3, 2)
    assert level(store, lot_sku, "B").on_hand == 4
    assert StockCost.objects.get(location=store, sku=lot_sku).avg_cost == Decimal("1.5000")
    assert set(StockMovement.objects.values_list("reason", flat=True)) == {"opening"}
    assert stock_ledger_check() == []
    with pytest.raises(Conflict), transaction.atomic():
        stock_opening_bulk(rows=[OpeningRow(store.pk, sku.pk, 1, Decimal("2"))])
    assert totals(store, sku) == (10, 0)


def test_ledger_check_finds_a_tampered_balance(store, sku):
    receive(store, sku, 10)
    assert stock_ledger_check() == []
    StockLevel.objects.filter(location=store, sku=sku).update(on_hand=11)
    [p] = stock_ledger_check()
    assert (p.location_code, p.sku_code, p.on_hand, p.ledger_on_hand) == ("KM001", "MILK1L", 11, 10)


def test_check_stock_command_exit_codes(store, sku, capsys):
    receive(store, sku, 10)
    call_command("check_stock")
    assert "stock ledger OK: 1 balances" in capsys.readouterr().out
    StockLevel.objects.filter(location=store, sku=sku).update(reserved=2)
    with pytest.raises(CommandError) as exc:
        call_command("check_stock")
    assert exc.value.returncode == 2
    assert "KM001 MILK1L: on hand 10 vs ledger 10, reserved 2 vs ledger 0" in capsys.readouterr().err


def test_periodic_ledger_check_counts_and_logs_problems(store, sku, caplog):
    from mendian.inventory.jobs import ledger_check

    receive(store, sku, 4)
    assert ledger_check() == 0
    StockLevel.objects.filter(location=store, sku=sku).update(on_hand=5)
    assert ledger_check() == 1
    assert "KM001 MILK1L: on hand 5 vs ledger 4" in caplog.text
