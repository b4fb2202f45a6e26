"""A small chain with stock, users and a way to sell, for the analytics and console tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from mendian.catalog.tests.factories import CategoryFactory, ProductFactory, SkuFactory
from mendian.inventory.tests.factories import receive
from mendian.org.models import Location
from mendian.org.tests.factories import LocationFactory, RegionFactory, user_with_role
from mendian.platform.outbox import outbox_deliver
from mendian.sales import services
from mendian.sales.domain import LineRequest, RefundRequestLine, TenderRequest
from mendian.sales.selectors import sale_context_get


@dataclass
class Chain:
    hq_region: object
    km: object
    dl: object
    km1: object
    km2: object
    dl1: object
    wh: object
    food: object
    drinks: object
    snacks: object
    skus: list
    users: dict
    shifts: dict = field(default_factory=dict)


def make_chain() -> Chain:
    hq_region = RegionFactory(code="HQ", name="Head office", level="hq")
    km = RegionFactory(code="KM", name="Kunming", parent=hq_region)
    dl = RegionFactory(code="DL", name="Dali", parent=hq_region)
    km1 = LocationFactory(code="KM001", region=km, area_m2=Decimal("100.00"))
    km2 = LocationFactory(code="KM002", region=km, area_m2=Decimal("80.00"))
    dl1 = LocationFactory(code="DL001", region=dl, area_m2=Decimal("50.00"))
    wh = LocationFactory(code="WH01", region=km, kind=Location.Kind.WAREHOUSE, area_m2=None)
    food = CategoryFactory(code="FOOD", name="Food")
    snacks = CategoryFactory(code="SNACK", name="Snacks", parent=food)
    drinks = CategoryFactory(code="DRINK", name="Drinks")
    cats = [snacks, snacks, drinks, drinks]
    prices = ["12.50", "3.00", "9.90", "7.77"]
    skus = []
    for i, (p, c) in enumerate(zip(prices, cats, strict=True), start=1):
        prod = ProductFactory(code=f"P{i:03d}", category=c)
        skus.append(SkuFactory(code=f"S{i:03d}", product=prod, list_price=Decimal(p),
                               vat_rate=Decimal("13.00") if i % 2 else Decimal("9.00")))
    for store in (km1, km2, dl1):
        for sku in skus:
            receive(store, sku, 1000, "4.0000")
    users = {
        "hq": user_with_role("hq", username="hq"),
        "buyer": user_with_role("buyer", username="buyer"),
        "region_km": user_with_role("region", username="region.KM", region=km),
        "manager_km1": user_with_role("store_manager", username="manager.KM001", location=km1),
        "manager_km2": user_with_role("store_manager", username="manager.KM002", location=km2),
        "cashier_km1": user_with_role("cashier", username="cashier.KM001", location=km1),
        "manager_dl1": user_with_role("store_manager", username="manager.DL001", location=dl1),
    }
    return Chain(hq_region=hq_region, km=km, dl=dl, km1=km1, km2=km2, dl1=dl1, wh=wh, food=food, drinks=drinks,
                 snacks=snacks, skus=skus, users=users)


def ensure_shift(chain: Chain, user, store) -> None:
    key = (user.pk, store.pk)
    if key not in chain.shifts:
        chain.shifts[key] = services.shift_open(actor=user, store_id=store.pk, opening_float=Decimal("100.00"))


def pos_sale(chain: Chain, user, store, lines: list[tuple[str, int]], *, at: dt.datetime | None = None,
             method: str = "wechat_pay"):
    ensure_shift(chain, user, store)
    ctx = sale_context_get(store_code=store.code, user_id=user.pk)
    reqs = [LineRequest(sku=c, quantity=q) for c, q in lines]
    tenders = [TenderRequest(method, Decimal("1000.00"), "T")] if method == "cash" else _exact(store, lines, method)
    with transaction.atomic():
        return services.order_create(actor=user, ctx=ctx, channel="pos", fulfilment="in_store", lines=reqs,
                                     tenders=tenders, now=at)


def _exact(store, lines, method):
    from mendian.catalog.pricing import price_lookup
    from mendian.core.money import to_money

    prices = price_lookup(location_id=store.pk, sku_codes=[c for c, _ in lines])
    total = sum((to_money(prices[c].price * q / prices[c].price_unit_qty) for c, q in lines), Decimal(0))
    return [TenderRequest(method, to_money(total), "T")]


def online_order(user, store, lines: list[tuple[str, int]], *, pay: bool = True, channel: str = "miniprogram",
                 at: dt.datetime | None = None):
    ctx = sale_context_get(store_code=store.code, user_id=user.pk)
    reqs = [LineRequest(sku=c, quantity=q) for c, q in lines]
    with transaction.atomic():
        result = services.order_create(actor=user, ctx=ctx, channel=channel, fulfilment="pickup", lines=reqs,
                                       tenders=_exact(store, lines, "alipay") if pay else (), now=at)
    return result


def refund(user, order, lines: list[tuple[int, int]]):
    return services.order_refund(actor=user, order_id=order.pk,
                                 lines=[RefundRequestLine(line=n, quantity=q) for n, q in lines])


def deliver() -> int:
    """Deliver every pending outbox event to the subscribers (as ``mendian worker`` does)."""
    import mendian.analytics.subscribers  # noqa: F401  (registers the subscriber)

    total = 0
    while True:
        res = outbox_deliver()
        assert res.failed == 0
        total += res.delivered
        if not res.delivered:
            return total
