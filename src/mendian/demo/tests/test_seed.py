"""seed-demo at a small size: the chain, users, stock, history and orders it makes, and idempotence."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Max, Min
from django.utils import timezone

from mendian.catalog.domain import ean13_is_valid
from mendian.catalog.models import Barcode, Category, Sku, StorePrice
from mendian.demo import data
from mendian.inventory.models import Lot, StockCost, StockLevel, StockMovement
from mendian.inventory.services import stock_ledger_check
from mendian.org.models import Location, Region, RoleAssignment
from mendian.sales.models import Order, OrderLine, SalesHistoryDay, Shift, Tender

STORES, SKUS, DAYS = 3, 30, 20


@pytest.fixture
def seeded(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("seed_demo", stores=STORES, skus=SKUS, days=DAYS, no_progress=True, stdout=out)
    return out.getvalue(), tmp_path


def test_seed_makes_the_chain(seeded):
    out, _ = seeded
    assert "Demo chain ready" in out
    assert Region.objects.get(code="HQ").level == "hq"
    tops = set(Region.objects.filter(parent__code="HQ").values_list("code", flat=True))
    assert tops == {r.code for r in data.REGIONS} and len(tops) >= 4
    assert set(Region.objects.filter(level="district").values_list("parent__code", flat=True)) == {"KM"}
    kinds = dict(Location.objects.values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    assert kinds == {"store": STORES, "warehouse": 2, "transit": 1}
    assert set(Location.objects.filter(kind="warehouse").values_list("code", flat=True)) == {"WH01", "WH02"}
    for store in Location.objects.filter(kind="store").select_related("region", "region__parent"):
        top = store.region if store.region.level == "region" else store.region.parent
        assert store.code[:2] == top.code and len(store.code) == 5 and store.code[2:].isdigit()
        assert store.name.startswith(data.CHAIN_NAME) and store.address.startswith("云南省")
        assert 22 < store.latitude < 28 and 98 < store.longitude < 106  # Yunnan
        assert store.area_m2 > 0 and store.opens_at < store.closes_at


def test_seed_makes_the_catalog(seeded):
    assert Sku.objects.count() == SKUS
    # one SKU per leaf category first: a small catalogue still covers the tree
    assert Category.objects.filter(parent__isnull=True).count() == len(data.TOPS)
    assert Sku.objects.values("product__category").distinct().count() == min(SKUS, len(data.LEAVES))
    for sku in Sku.objects.select_related("product__category"):
        leaf = next(lf for lf in data.LEAVES if lf.code == sku.product.category.code)
        assert sku.vat_rate == Decimal(leaf.vat)
        assert sku.list_price > 0
        if leaf.by_weight:
            assert (sku.unit, sku.price_unit_qty, sku.lot_tracked) == ("g", 1000, True)
            assert sku.plu and len(sku.plu) == 5
        else:
            codes = list(sku.barcodes.values_list("code", flat=True))
            assert codes and all(ean13_is_valid(c) and c.startswith("69") for c in codes)
        assert sku.lot_tracked == (leaf.lot_days > 0)
    assert Barcode.objects.count() >= SKUS - Sku.objects.filter(unit="g").count()
    fresh = Sku.objects.filter(product__category__parent__code="FR")
    assert set(fresh.values_list("vat_rate", flat=True)) <= {Decimal("0"), Decimal("9")}
    apparel = Sku.objects.filter(product__category__parent__code="AP").first()
    assert apparel is not None and {"colour", "size"} <= set(apparel.attributes)


def test_seed_makes_users_with_roles_and_the_demo_password(seeded):
    user_model = get_user_model()
    stores = list(Location.objects.filter(kind="store").values_list("code", flat=True))
    regions = list(Region.objects.exclude(level="hq").values_list("code", flat=True))
    expected = {"hq", "buyer"} | {f"region.{c}" for c in regions} | {f"manager.{s}" for s in stores} | \
        {f"cashier.{s}" for s in stores}
    assert set(user_model.objects.values_list("username", flat=True)) == expected
    hq = user_model.objects.get(username="hq")
    assert hq.is_superuser and hq.is_staff and hq.check_password("demo")
    assert not user_model.objects.get(username="buyer").is_staff
    roles = {(a.user.username, a.role, a.region.code if a.region else None, a.location.code if a.location else None)
             for a in RoleAssignment.objects.select_related("user", "region", "location")}
    s = stores[0]
    assert ("hq", "hq", None, None) in roles and ("buyer", "buyer", None, None) in roles
    assert ("region.KM", "region", "KM", None) in roles
    assert (f"manager.{s}", "store_manager", None, s) in roles and (f"cashier.{s}", "cashier", None, s) in roles
    assert user_model.objects.get(username=f"cashier.{s}").check_password("demo")


def test_seed_puts_stock_everywhere_with_costs_below_prices(seeded):
    for loc in Location.objects.all():
        assert StockLevel.objects.filter(location=loc).exists(), loc.code
    assert StockLevel.objects.filter(location__code="WH01").values("sku").distinct().count() == SKUS
    assert StockMovement.objects.filter(reason="opening").exists()
    for cost in StockCost.objects.select_related("sku")[:200]:
        price_per_unit = cost.sku.list_price / cost.sku.price_unit_qty
        net = price_per_unit / (1 + cost.sku.vat_rate / 100)
        margin = 1 - cost.avg_cost / net
        assert Decimal("0.14") < margin < Decimal("0.41"), (cost.sku.code, margin)  # 15–40%, cost rounded to 0.0001
    lot_skus = Sku.objects.filter(lot_tracked=True)
    if lot_skus.exists():
        assert not StockLevel.objects.filter(sku__in=lot_skus, lot__isnull=True).exists()
        assert not Lot.objects.filter(expiry__isnull=True).exists()
    assert stock_ledger_check() == []


def test_seed_imports_history_up_to_yesterday_through_the_csv(seeded):
    _, var = seeded
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    agg = SalesHistoryDay.objects.aggregate(first=Min("day"), last=Max("day"), n=Count("id"))
    assert agg["last"] == yesterday
    assert agg["first"] >= yesterday - dt.timedelta(days=DAYS - 1)
    with open(var / "demo_sales_history.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["date", "location", "sku", "quantity", "amount"]
    assert agg["n"] == len(rows) - 1 > 0
    assert set(SalesHistoryDay.objects.values_list("source", flat=True)) == {"import"}
    assert not SalesHistoryDay.objects.filter(quantity__lte=0).exists()  # only days with sales
    assert SalesHistoryDay.objects.filter(location__kind="store").count() == agg["n"]


def test_seed_makes_the_last_days_as_orders_within_the_history(seeded):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    orders = Order.objects.all()
    assert orders.filter(channel="pos", status="completed").count() > 0
    assert orders.filter(fulfilment="pickup").exists()
    days = {timezone.localtime(o.created_at).date() for o in orders}
    assert min(days) >= yesterday - dt.timedelta(days=6) and max(days) <= yesterday
    for o in orders.filter(channel="pos").prefetch_related("tenders")[:100]:
        paid = sum((t.amount for t in o.tenders.all()), Decimal("0"))
        assert paid - o.change == o.total and o.shift_id is not None
    assert Shift.objects.exists() and not Shift.objects.filter(status="open").exists()
    for shift in Shift.objects.all()[:20]:
        assert shift.expected_cash is not None and shift.counted_cash == shift.expected_cash + shift.variance
    assert Tender.objects.filter(method="cash", order__change__gt=0).exists() or \
        not Tender.objects.filter(method="cash").exists()
    # orders are a subset of the history of their day
    sold: dict[tuple, int] = {}
    for store, sku, at, qty in OrderLine.objects.values_list("order__store_id", "sku_id", "order__created_at",
                                                           "quantity"):
        key = (store, sku, timezone.localtime(at).date())
        sold[key] = sold.get(key, 0) + qty
    history = {(r[0], r[1], r[2]): r[3] for r in SalesHistoryDay.objects.filter(
        day__gte=yesterday - dt.timedelta(days=6)).values_list("location_id", "sku_id", "day", "quantity")}
    assert sold and all(q <= history.get(k, 0) for k, q in sold.items())
    assert stock_ledger_check() == []


def test_seed_is_idempotent_and_reset_regenerates(seeded, settings):
    counts = (Sku.objects.count(), SalesHistoryDay.objects.count(), Order.objects.count())
    out = StringIO()
    call_command("seed_demo", stores=STORES, skus=SKUS, days=DAYS, no_progress=True, stdout=out)
    assert "present already" in out.getvalue()
    assert (Sku.objects.count(), SalesHistoryDay.objects.count(), Order.objects.count()) == counts


def test_store_prices_follow_the_town_and_are_in_the_price_history(seeded):
    from mendian.catalog.models import PriceChange

    tourist = {r.code for r in data.REGIONS if r.tourist}
    for sp in StorePrice.objects.select_related("sku__product__category", "location"):
        if sp.location.code[:2] in tourist:  # drinks dearer in tourist towns
            assert sp.sku.product.category.code.startswith("BV") and sp.price > sp.sku.list_price
        else:  # a community price cut
            assert sp.price == (sp.sku.list_price * Decimal("0.95")).quantize(Decimal("0.01"))
        assert sp.valid_from < timezone.now() and sp.valid_to is None
    assert PriceChange.objects.filter(location__isnull=False).count() == StorePrice.objects.count()
