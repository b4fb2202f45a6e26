"""A small chain with sales history for planning tests: two stores in two regions, a few SKUs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.utils import timezone

from mendian.catalog.models import Sku
from mendian.catalog.tests.factories import SkuFactory
from mendian.core.timeutil import local_tz
from mendian.inventory.models import LostDemand, StockLevel, StockMovement
from mendian.org.models import Location
from mendian.org.tests.factories import LocationFactory, RegionFactory
from mendian.planning.forecasting.synthetic import make_chain
from mendian.sales.models import SalesHistoryDay

AS_OF = dt.date(2026, 9, 30)


@dataclass
class SmallChain:
    km: Location
    dl: Location
    skus: list[Sku]
    days: int
    stockout_days: int


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=local_tz())


def small_chain(*, skus: int = 3, days: int = 150, seed: int = 5) -> SmallChain:
    km = LocationFactory(code="KM001", region=RegionFactory(code="KM"), city="Kunming")
    dl = LocationFactory(code="DL001", region=RegionFactory(code="DL"), city="Dali")
    sku_objs = [SkuFactory(code=f"GR{i:03d}", list_price=Decimal("12.50")) for i in range(skus)]
    series = make_chain(stores=2, skus=skus, days=days, horizon=28, seed=seed, end=AS_OF, intermittent_share=0.34,
                        promo_share=0.0, stockout_rate=0.0)
    start = AS_OF - dt.timedelta(days=days - 1)
    rows = []
    for s in series:
        store, k = s.inp.key
        loc = (km, dl)[store]
        for i, q in enumerate(np.asarray(s.inp.sales, int)):
            if q:
                rows.append(SalesHistoryDay(location=loc, sku=sku_objs[k], day=start + dt.timedelta(days=i),
                                            quantity=int(q), amount=Decimal(int(q)) * sku_objs[k].list_price))
    SalesHistoryDay.objects.bulk_create(rows)
    # KM001 / GR000: stock ran out for the last 5 days (opening 0 → sold out on day -6), with demand refused
    sku0 = sku_objs[0]
    level = StockLevel.objects.create(location=km, sku=sku0, on_hand=0)
    sold = sum(r.quantity for r in rows if r.location_id == km.pk and r.sku_id == sku0.pk and r.day <= AS_OF - dt.timedelta(days=5))
    SalesHistoryDay.objects.filter(location=km, sku=sku0, day__gt=AS_OF - dt.timedelta(days=5)).delete()
    StockMovement.objects.bulk_create([
        StockMovement(level=level, location=km, sku=sku0, reason="opening", on_hand_delta=sold,
                      created_at=_at(start, 6)),
        StockMovement(level=level, location=km, sku=sku0, reason="sale", on_hand_delta=-sold,
                      created_at=_at(AS_OF - dt.timedelta(days=5), 20)),
    ])
    LostDemand.objects.create(location=km, sku=sku0, quantity=2, channel="online", created_at=_at(AS_OF - dt.timedelta(days=2)))
    if skus > 1:  # an overstocked SKU at KM001 (the last SKU): 900 on hand
        lvl2 = StockLevel.objects.create(location=km, sku=sku_objs[-1], on_hand=900)
        StockMovement.objects.create(level=lvl2, location=km, sku=sku_objs[-1], reason="opening", on_hand_delta=900,
                                     created_at=timezone.now() - dt.timedelta(days=400))
    return SmallChain(km=km, dl=dl, skus=sku_objs, days=days, stockout_days=5)
