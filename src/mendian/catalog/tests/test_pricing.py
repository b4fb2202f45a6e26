"""The price lookup: list price, or the per-store override valid at the time, many SKUs in one query."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from mendian.catalog.models import StorePrice
from mendian.catalog.pricing import price_at, price_lookup
from mendian.catalog.tests.factories import SkuFactory
from mendian.org.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _override(sku, store, price, start_days, end_days=None):
    return StorePrice.objects.create(
        sku=sku, location=store, price=D(price), valid_from=T0 + dt.timedelta(days=start_days),
        valid_to=None if end_days is None else T0 + dt.timedelta(days=end_days))


def test_list_price_without_override():
    store = LocationFactory()
    sku = SkuFactory(code="A1", list_price=D("12.50"), vat_rate=D("9"))
    p = price_lookup(location_id=store.pk, sku_codes=["A1"], at=T0)["A1"]
    assert (p.sku_id, p.price, p.source, p.vat_rate, p.price_unit_qty, p.active) == (sku.pk, D("12.50"), "list", D("9"),
                                                                                     1, True)


def test_override_applies_only_within_its_window_and_store():
    store, other = LocationFactory(), LocationFactory()
    sku = SkuFactory(code="A1", list_price=D("12.50"))
    _override(sku, store, "9.90", 1, 10)  # [Nov 2, Nov 11)
    at = lambda days: T0 + dt.timedelta(days=days)  # noqa: E731
    assert price_at(location_id=store.pk, sku_code="A1", at=at(0)).price == D("12.50")
    assert price_at(location_id=store.pk, sku_code="A1", at=at(1)).price == D("9.90")
    assert price_at(location_id=store.pk, sku_code="A1", at=at(9.9)).source == "store"
    assert price_at(location_id=store.pk, sku_code="A1", at=at(10)).price == D("12.50")  # valid_to is exclusive
    assert price_at(location_id=other.pk, sku_code="A1", at=at(5)).price == D("12.50")


def test_latest_starting_override_wins_and_open_ended_runs_on():
    store = LocationFactory()
    sku = SkuFactory(code="A1", list_price=D("12.50"))
    _override(sku, store, "11.00", 0)  # open-ended
    _override(sku, store, "8.00", 5, 7)  # a promotion week inside it
    at = lambda days: T0 + dt.timedelta(days=days)  # noqa: E731
    assert [price_at(location_id=store.pk, sku_code="A1", at=at(d)).price for d in (1, 5, 6, 7, 100)] == [
        D("11.00"), D("8.00"), D("8.00"), D("11.00"), D("11.00")]


def test_many_skus_in_one_query_unknown_codes_absent(django_assert_num_queries):
    store = LocationFactory()
    skus = [SkuFactory(code=f"M{i}", list_price=D(i + 1)) for i in range(5)]
    _override(skus[2], store, "0.50", -1)
    with django_assert_num_queries(1):
        prices = price_lookup(location_id=store.pk, sku_codes=[s.code for s in skus] + ["NOPE"], at=timezone.now())
    assert sorted(prices) == ["M0", "M1", "M2", "M3", "M4"]
    assert [prices[f"M{i}"].price for i in range(5)] == [D("1"), D("2"), D("0.50"), D("4"), D("5")]
    by_id = price_lookup(location_id=store.pk, sku_ids=[skus[0].pk], at=timezone.now())
    assert list(by_id) == ["M0"]
    assert price_lookup(location_id=store.pk, sku_codes=[]) == {}


def test_inactive_sku_is_reported_inactive():
    store = LocationFactory()
    SkuFactory(code="OFF", status="inactive")
    assert price_at(location_id=store.pk, sku_code="OFF").active is False
    assert price_at(location_id=store.pk, sku_code="NOPE") is None
