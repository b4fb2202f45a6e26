"""Statement budgets of the hot paths (the POS checkout must fit ~16 statements in total)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mendian.catalog.tests.factories import SkuFactory
from mendian.inventory.models import StockMovement
from mendian.inventory.services import OpeningRow, StockLine, stock_opening_bulk, stock_reserve, stock_sell
from mendian.org.tests.factories import LocationFactory
from mendian.platform.batch import write_batch
from mendian.platform.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def five(db):
    store = LocationFactory(code="KM001")
    skus = [SkuFactory() for _ in range(5)]
    stock_opening_bulk(rows=[OpeningRow(store.pk, s.pk, 100, Decimal("2.00")) for s in skus])
    return store, skus


def test_pos_sell_of_five_lines_costs_three_statements(five):
    store, skus = five
    with CaptureQueriesContext(connection) as ctx, write_batch():
        takes = stock_sell(location_id=store.pk, lines=[StockLine(s.pk, 2) for s in skus], doc_type="order",
                           doc_ref="P1", user_id=None)
    sql = [q["sql"].lstrip().split()[0].upper() for q in ctx.captured_queries]
    assert sql == ["WITH", "INSERT", "INSERT"], [q["sql"][:120] for q in ctx.captured_queries]
    assert [t.unit_cost for t in takes] == [Decimal("2.0000")] * 5
    assert StockMovement.objects.filter(reason="sale").count() == 5
    assert OutboxEvent.objects.filter(topic="stock.moved", payload__doc_ref="P1").count() == 1


def test_pos_sell_of_five_lines_max_statements(five, django_assert_max_num_queries):
    store, skus = five
    with django_assert_max_num_queries(3), write_batch():
        stock_sell(location_id=store.pk, lines=[StockLine(s.pk, 1) for s in skus], doc_type="order", doc_ref="P2",
                   user_id=None)


def test_reservation_of_five_lines_max_statements(five, django_assert_max_num_queries):
    store, skus = five
    with django_assert_max_num_queries(4), write_batch():
        stock_reserve(location_id=store.pk, lines=[StockLine(s.pk, 1) for s in skus], doc_type="order",
                      doc_ref="O1", user_id=None)
