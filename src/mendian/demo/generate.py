"""Generate the demo chain 彩云优选: regions, stores, warehouses, catalog, users, history, stock, orders.

Everything is drawn from one ``numpy.random.Generator(seed)`` in a fixed order, so a seed gives the
same chain (only password salts and database ids differ). Master data is bulk-inserted (it is a data
load, like fixtures); stock goes through ``inventory.services.stock_opening_bulk``; history through
the sales-history CSV import (``sales.history``) that real users use; the last seven days' orders,
shifts and pickups through the sales services.

Assortment: not every store sells every SKU. A store carries a share of the SKUs that grows with
its selling area (10% for a 100 m² convenience store, about 40% for a 1,000 m² supermarket),
chosen with a bias to popular SKUs; fresh food, apparel and seafood need a minimum area. History rows
exist only for days with a sale (absent = zero), which keeps the table compact for slow movers.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from mendian.catalog.domain import ean13_with_check_digit
from mendian.catalog.models import Barcode, Brand, Category, PriceChange, Product, Sku, StorePrice
from mendian.core.timeutil import local_tz
from mendian.org.models import Location, Region, Role, RoleAssignment

from . import data, demand

PASSWORD = "demo"
SERIES = (("", 1.0, 1.0), ("经典", 1.05, 0.6), ("臻选", 1.35, 0.35), ("轻享", 1.1, 0.5), ("家庭装", 1.7, 0.45),
          ("有机", 1.6, 0.3), ("低糖", 1.05, 0.4), ("加量", 1.25, 0.45), ("新品", 1.1, 0.4), ("特惠", 0.85, 0.6))
FRESH_SERIES = (("", 1.0, 1.0), ("本地", 0.95, 0.8), ("精品", 1.4, 0.4), ("有机", 1.8, 0.25), ("高原", 1.3, 0.35),
                ("特价", 0.8, 0.6))
APPAREL_SERIES = (("", 1.0, 1.0), ("基础款", 0.9, 0.8), ("新款", 1.2, 0.6), ("联名款", 1.6, 0.3))
GRAMS_PER_PURCHASE = {"西瓜": 4000, "牛肝菌": 300, "蓝莓": 250, "基围虾": 500, "牛腩": 800, "土鸡蛋": 900, "大白菜": 1500,
                      "草鱼": 1500, "罗非鱼": 900, "土豆": 1000}
RECENT_DAYS = 7  # the last days that also exist as real orders


Progress = Callable[[str, float], None]  # (phase label, fraction of the whole seed done)


@dataclass
class StorePlan:
    code: str
    name: str
    region: str  # top region code (KM)
    node: str  # the region or district the store belongs to (KMN)
    city: str
    town: str
    address: str
    lat: Decimal
    lon: Decimal
    area: int
    opens: dt.time
    closes: dt.time
    tourist: bool
    id: int = 0


@dataclass
class SkuPlan:
    code: str
    product: tuple  # key of its product
    product_name: str
    name: str
    leaf: int  # index into data.LEAVES
    brand: str
    attributes: dict
    by_weight: bool
    price: Decimal  # tax-inclusive, per kg when by weight
    vat: int
    margin: float
    lot_days: int
    pack: int
    volume_ml: int
    rate: float  # mean daily sales (pieces, or purchases for goods by weight) in a reference store
    grams: int  # mean grams per purchase (by weight)
    barcodes: list[str] = field(default_factory=list)
    plu: str | None = None
    id: int = 0

    @property
    def unit_qty(self) -> int:
        return 1000 if self.by_weight else 1

    @property
    def price_fen(self) -> int:
        return int(self.price * 100)


@dataclass
class SeedResult:
    regions: int = 0
    stores: int = 0
    locations: int = 0
    skus: int = 0
    products: int = 0
    users: int = 0
    history_rows: int = 0
    history_rejected: int = 0
    history_days: int = 0
    stock_levels: int = 0
    lots: int = 0
    orders: int = 0
    shifts: int = 0
    assortment: int = 0  # (store, SKU) pairs
    csv_path: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # wall clock per phase
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # this process's CPU per phase
    notes: list[str] = field(default_factory=list)


def demo_chain_present() -> bool:
    return Region.objects.filter(code=data.HQ_CODE).exists() or Location.objects.filter(code="WH01").exists()


# --- plans (pure: rng in, plain data out) ---------------------------------------------------------


def _dec(x: float, places: str = "0.000001") -> Decimal:
    return Decimal(repr(round(x, 6))).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _split(n: int, weights: list[float]) -> list[int]:
    """Largest remainder: n items over weights."""
    raw = [n * w / sum(weights) for w in weights]
    out = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))[: n - sum(out)]:
        out[i] += 1
    return out


def _short_town(town: str) -> str:
    return town.replace("大理市", "").rstrip("区市县") if len(town) > 2 else town


def plan_stores(rng: np.random.Generator, n: int) -> list[StorePlan]:
    counts = _split(n, [r.weight for r in data.REGIONS])
    stores: list[StorePlan] = []
    names: dict[str, int] = {}
    fmt_w = np.array([f[4] for f in data.STORE_FORMATS])
    for spec, count in zip(data.REGIONS, counts, strict=True):
        town_of_district = {t: code for code, _name, towns in spec.districts for t in towns}
        for i in range(count):
            t = i % len(spec.towns)
            town = spec.towns[t]
            street = town.streets[int(rng.integers(len(town.streets)))]
            fmt = data.STORE_FORMATS[int(rng.choice(len(fmt_w), p=fmt_w / fmt_w.sum()))]
            area = int(rng.integers(fmt[1][0], fmt[1][1] + 1))
            number = int(rng.integers(1, 300))
            code = f"{spec.code}{i + 1:03d}"
            place = f"{_short_town(town.name)}{street}"
            names[place] = names.get(place, 0) + 1
            if names[place] > 1:  # a second store on the same street: 青年路2号便利店
                place = f"{place}{names[place]}号"
            stores.append(StorePlan(
                code=code, name=f"{data.CHAIN_NAME}·{place}{fmt[0]}", region=spec.code,
                node=town_of_district.get(t, spec.code), city=spec.city, town=town.name,
                address=f"云南省{spec.city}{town.name}{street}{number}号",
                lat=_dec(town.lat + rng.normal(0, 0.008)), lon=_dec(town.lon + rng.normal(0, 0.008)),
                area=area, opens=dt.time.fromisoformat(fmt[2]), closes=dt.time.fromisoformat(fmt[3]),
                tourist=spec.tourist,
            ))
    return stores


def _round_price(x: float, by_weight: bool) -> Decimal:
    if by_weight or x < 10:
        p = max(round(x, 1), 0.5)
        return Decimal(f"{p:.1f}") - (Decimal("0.02") if by_weight else Decimal("0"))
    return Decimal(int(round(x))) - Decimal("0.1")


def _leaf_pool(rng: np.random.Generator, li: int, leaf: data.Leaf):
    """The SKUs a leaf can offer, base range first, then series variants; as dicts."""
    if leaf.apparel:
        series = APPAREL_SERIES
    elif leaf.by_weight:
        series = FRESH_SERIES
    else:
        series = SERIES
    for s_name, s_price, s_pop in series:
        brands = leaf.brands or ("",)
        combos = [(b, item) for b in brands for item in leaf.items]
        for k in rng.permutation(len(combos)):
            brand, (item, base) = combos[int(k)]
            product_name = " ".join(x for x in (brand, f"{s_name}{item}") if x)
            pkey = (leaf.code, s_name, brand, item)
            noise = float(rng.lognormal(0, 0.08))
            if leaf.apparel:
                sizes = data.SHOE_SIZES if "拖" in item else (("F",) if "袜" in item else data.APPAREL_SIZES)
                for _c_code, c_name in data.APPAREL_COLOURS:
                    for size in sizes:
                        yield dict(product=pkey, product_name=product_name, name=f"{product_name} {c_name} {size}",
                                   brand=brand, price=base * s_price * noise, spec_pop=s_pop / len(sizes),
                                   attributes={"colour": c_name, "size": size}, volume_ml=500)
            else:
                for j, (spec, factor, ml) in enumerate(leaf.specs):
                    yield dict(product=pkey, product_name=product_name,
                               name=f"{product_name} {spec}".strip(), brand=brand, price=base * s_price * factor * noise,
                               spec_pop=s_pop / (1 + j), attributes={"spec": spec} if spec else {}, volume_ml=ml,
                               item=item)


def _leaf_weight(leaf: data.Leaf) -> int:
    """How broad a leaf's range is: its base combinations (a chain has more sauces than seafood)."""
    if leaf.apparel:
        return len(leaf.items) * len(data.APPAREL_COLOURS) * 3
    return len(leaf.items) * max(1, len(leaf.brands)) * len(leaf.specs)


def plan_skus(rng: np.random.Generator, n: int) -> list[SkuPlan]:
    """``n`` SKUs: one per leaf category first (so that even a small catalogue covers them all), then
    in proportion to each leaf's breadth, base ranges before series variants."""
    pools = [_leaf_pool(rng, li, leaf) for li, leaf in enumerate(data.LEAVES)]
    weights = np.array([_leaf_weight(leaf) for leaf in data.LEAVES], dtype=float)
    weights /= weights.sum()
    taken = np.zeros(len(pools))
    active = np.ones(len(pools), dtype=bool)
    picked: list[tuple[int, dict]] = []
    extra = 0
    while len(picked) < n:
        if not active.any():  # every pool used up: number further generations
            extra += 1
            pools = [_leaf_pool(rng, li, leaf) for li, leaf in enumerate(data.LEAVES)]
            active[:] = True
        if len(picked) < len(pools) and extra == 0:
            li = len(picked)
        else:
            deficit = np.where(active, weights * (len(picked) + 1) - taken, -np.inf)
            li = int(np.argmax(deficit))
        try:
            d = next(pools[li])
        except StopIteration:
            active[li] = False
            continue
        taken[li] += 1
        if extra:
            d = dict(d, product=(*d["product"], extra), product_name=f"{d['product_name']} {extra + 1}代",
                     name=f"{d['name']} {extra + 1}代")
        picked.append((li, d))
    counters: dict[str, int] = {}
    plu = 10001
    skus: list[SkuPlan] = []
    brand_no = {b: 100 + i for i, b in enumerate(sorted({d["brand"] for _, d in picked}))}
    for seq, (li, d) in enumerate(picked, start=1):
        leaf = data.LEAVES[li]
        top = leaf.code[:2]
        counters[top] = counters.get(top, 0) + 1
        code = f"{top}{counters[top]:05d}"
        slow = not leaf.by_weight and rng.random() < 0.45
        pop = leaf.popularity * d["spec_pop"] * float(rng.lognormal(0, 1.2))
        rate = float(rng.uniform(0.02, 0.2)) if slow else 0.7 * pop
        if leaf.by_weight:
            rate = 1.5 * leaf.popularity * d["spec_pop"] * float(rng.lognormal(0, 0.7))
        sku = SkuPlan(
            code=code, product=d["product"], product_name=d["product_name"], name=d["name"], leaf=li, brand=d["brand"],
            attributes=d["attributes"], by_weight=leaf.by_weight, price=_round_price(d["price"], leaf.by_weight),
            vat=leaf.vat, margin=float(rng.uniform(*leaf.margin)), lot_days=leaf.lot_days, pack=leaf.pack,
            volume_ml=d["volume_ml"] if not leaf.by_weight else 1, rate=rate,
            grams=GRAMS_PER_PURCHASE.get(d.get("item", ""), 600),
        )
        if leaf.by_weight:
            sku.plu = f"{plu:05d}"
            plu += 1
        else:
            first12 = f"69{brand_no[d['brand']]:03d}{seq:07d}"
            sku.barcodes.append(ean13_with_check_digit(first12))
            if rng.random() < 0.1:  # a second barcode: the previous packaging, still on shelves
                sku.barcodes.append(ean13_with_check_digit(f"69{brand_no[d['brand']]:03d}{seq + 5_000_000:07d}"))
        skus.append(sku)
    return skus


def plan_assortment(rng: np.random.Generator, stores: list[StorePlan], skus: list[SkuPlan]) -> list[np.ndarray]:
    """Per store, the sorted indices of the SKUs it carries."""
    pop = np.array([s.rate for s in skus]) ** 0.5
    min_area = np.array([data.LEAVES[s.leaf].min_area for s in skus])
    out = []
    for st in stores:
        allowed = np.flatnonzero(min_area <= st.area)
        share = min(max(0.03 + st.area / 2800.0, 0.10), 0.50)
        k = max(1, min(len(allowed), int(round(share * len(allowed)))))
        p = pop[allowed] / pop[allowed].sum()
        out.append(np.sort(rng.choice(allowed, size=k, replace=False, p=p)))
    return out


# --- writers --------------------------------------------------------------------------------------


def create_org(stores: list[StorePlan]) -> dict[str, int]:
    """Regions (HQ → regions → districts), stores, warehouses and the transit location; code → id."""
    hq = Region.objects.create(code=data.HQ_CODE, name=f"{data.CHAIN_NAME}云南总部", level=Region.Level.HQ)
    regions = Region.objects.bulk_create([Region(code=r.code, name=r.name, level=Region.Level.REGION, parent=hq)
                                          for r in data.REGIONS])
    by_code = {r.code: r for r in regions}
    by_code[hq.code] = hq
    districts = Region.objects.bulk_create([
        Region(code=code, name=name, level=Region.Level.DISTRICT, parent=by_code[r.code])
        for r in data.REGIONS for code, name, _towns in r.districts])
    by_code.update({d.code: d for d in districts})
    locs = [Location(code=s.code, name=s.name, kind=Location.Kind.STORE, region=by_code[s.node], city=s.city,
                     address=s.address, latitude=s.lat, longitude=s.lon, area_m2=Decimal(s.area), opens_at=s.opens,
                     closes_at=s.closes) for s in stores]
    for code, name, region, _town, lat, lon, address in data.WAREHOUSES:
        spec = next(r for r in data.REGIONS if r.code == region)
        locs.append(Location(code=code, name=name, kind=Location.Kind.WAREHOUSE, region=by_code[region], city=spec.city,
                             address=address, latitude=_dec(lat), longitude=_dec(lon), area_m2=Decimal(12000),
                             opens_at=dt.time(6), closes_at=dt.time(22)))
    locs.append(Location(code=data.TRANSIT_CODE, name="在途（全链）", kind=Location.Kind.TRANSIT, region=hq,
                         city="", address="goods on the road between locations"))
    Location.objects.bulk_create(locs)
    ids = dict(Location.objects.filter(code__in=[x.code for x in locs]).values_list("code", "id"))
    for s in stores:
        s.id = ids[s.code]
    return ids


def create_catalog(skus: list[SkuPlan]) -> int:
    tops = Category.objects.bulk_create([Category(code=c, name=n) for c, n in data.TOPS])
    top_of = {c.code: c for c in tops}
    leaves = Category.objects.bulk_create([Category(code=lf.code, name=lf.name, parent=top_of[lf.code[:2]])
                                           for lf in data.LEAVES])
    leaf_of = {c.code: c for c in leaves}
    brands = Brand.objects.bulk_create([Brand(code=f"B{i:03d}", name=b)
                                        for i, b in enumerate(sorted({s.brand for s in skus if s.brand}), start=1)])
    brand_of = {b.name: b for b in brands}
    products: dict[tuple, Product] = {}
    for s in skus:
        if s.product not in products:
            products[s.product] = Product(code=f"P{len(products) + 1:05d}", name=s.product_name,
                                          category=leaf_of[data.LEAVES[s.leaf].code], brand=brand_of.get(s.brand))
    Product.objects.bulk_create(list(products.values()))
    rows = [Sku(code=s.code, product=products[s.product], name=s.name, attributes=s.attributes, vat_rate=Decimal(s.vat),
                unit=Sku.Unit.GRAM if s.by_weight else Sku.Unit.PIECE, price_unit_qty=s.unit_qty,
                lot_tracked=s.lot_days > 0, list_price=s.price, pack_size=s.pack, plu=s.plu, volume_ml=s.volume_ml)
            for s in skus]
    Sku.objects.bulk_create(rows, batch_size=2000)
    ids = dict(Sku.objects.filter(code__in=[s.code for s in skus]).values_list("code", "id"))
    for s in skus:
        s.id = ids[s.code]
    Barcode.objects.bulk_create([Barcode(code=b, sku_id=s.id, kind=Barcode.Kind.EAN13) for s in skus for b in s.barcodes],
                                batch_size=2000)
    return len(products)


@dataclass(frozen=True)
class Override:
    store: int  # index into stores
    sku: int  # index into skus
    price: Decimal
    start: dt.datetime


def plan_overrides(rng: np.random.Generator, stores: list[StorePlan], skus: list[SkuPlan],
                   assortment: list[np.ndarray], now: dt.datetime) -> list[Override]:
    """A few per-store prices: drinks dearer in tourist towns, a few community-price cuts elsewhere."""
    out: list[Override] = []
    start = (now - dt.timedelta(days=60)).replace(hour=0, minute=0, second=0, microsecond=0)
    plain = [i for i, s in enumerate(stores) if not s.tourist]
    cuts = set(rng.choice(plain, size=min(3, len(plain)), replace=False).tolist()) if plain else set()
    for i, st in enumerate(stores):
        carried = assortment[i]
        if st.tourist:
            drinks = [k for k in carried if data.LEAVES[skus[k].leaf].code.startswith("BV")]
            for k in rng.permutation(drinks)[:6] if drinks else []:
                factor = Decimal(str(round(float(rng.uniform(1.1, 1.2)), 2)))
                price = skus[k].price
                dearer = max((price * factor).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), price + Decimal("0.1"))
                out.append(Override(i, int(k), dearer, start))
        elif i in cuts:
            for k in rng.permutation(carried)[:4]:
                out.append(Override(i, int(k), (skus[k].price * Decimal("0.95")).quantize(Decimal("0.01")), start))
    return out


def create_overrides(overrides: list[Override], stores: list[StorePlan], skus: list[SkuPlan], hq_user: Any) -> None:
    StorePrice.objects.bulk_create([StorePrice(sku_id=skus[o.sku].id, location_id=stores[o.store].id, price=o.price,
                                               valid_from=o.start) for o in overrides])
    PriceChange.objects.bulk_create([PriceChange(sku_id=skus[o.sku].id, location_id=stores[o.store].id,
                                                 old_price=skus[o.sku].price, new_price=o.price, valid_from=o.start,
                                                 changed_by=hq_user) for o in overrides])


def create_users(stores: list[StorePlan]) -> tuple[int, Any, dict[str, Any]]:
    """hq, buyer, region.<CODE> per region and district, manager.<STORE> and cashier.<STORE>."""
    user_model = get_user_model()
    hashed = make_password(PASSWORD)  # one hash for every demo user: hashing is slow on purpose
    region_ids = dict(Region.objects.values_list("code", "id"))
    store_ids = {s.code: s.id for s in stores}
    specs: list[tuple[str, str, str, dict]] = [
        ("hq", "总部管理员", Role.HQ, {}), ("buyer", "采购经理", Role.BUYER, {})]
    for r in data.REGIONS:
        specs.append((f"region.{r.code}", f"{r.name}总监", Role.REGION, {"region_id": region_ids[r.code]}))
        for code, name, _towns in r.districts:
            specs.append((f"region.{code}", f"{name}经理", Role.REGION, {"region_id": region_ids[code]}))
    for s in stores:
        specs.append((f"manager.{s.code}", f"{s.code}店长", Role.STORE_MANAGER, {"location_id": store_ids[s.code]}))
        specs.append((f"cashier.{s.code}", f"{s.code}收银员", Role.CASHIER, {"location_id": store_ids[s.code]}))
    users = user_model.objects.bulk_create([
        user_model(username=u, first_name=name, password=hashed, is_staff=(u == "hq"), is_superuser=(u == "hq"))
        for u, name, _role, _scope in specs])
    by_name = {u.username: u for u in users}
    if any(u.pk is None for u in users):
        by_name = {u.username: u for u in user_model.objects.filter(username__in=[s[0] for s in specs])}
    RoleAssignment.objects.bulk_create([RoleAssignment(user=by_name[u], role=role, **scope) for u, _n, role, scope in specs])
    return len(users), by_name["hq"], by_name


# --- history --------------------------------------------------------------------------------------


@dataclass
class StoreSales:
    """What the later phases need of a store's generated sales."""

    skus: np.ndarray  # indices into skus
    recent: np.ndarray  # (K, RECENT_DAYS) base units sold in the last days
    mean28: np.ndarray  # (K,) mean daily base units over the last 28 days


def _fen_strings(fen: np.ndarray) -> list[str]:
    return [f"{a // 100}.{a % 100:02d}" for a in fen.tolist()]


def generate_history(rng: np.random.Generator, *, stores: list[StorePlan], skus: list[SkuPlan],
                     assortment: list[np.ndarray], overrides: list[Override], days: list[dt.date], path: Path,
                     progress: Callable[[float], None] | None = None) -> tuple[int, list[StoreSales]]:
    """Simulate daily sales and write them as a sales-history import file; returns (rows, per store)."""
    n_days = len(days)
    day_f = demand.day_factors(days)
    leaf_amp = np.array([lf.season[0] for lf in data.LEAVES])
    leaf_peak = np.array([lf.season[1] or 1 for lf in data.LEAVES])
    season = demand.season_factors(days, leaf_amp, leaf_peak)
    promo = demand.promo_days(rng, n_skus=len(skus), n_days=n_days)
    rate = np.array([s.rate for s in skus])
    leaf = np.array([s.leaf for s in skus])
    by_weight = np.array([s.by_weight for s in skus])
    grams = np.array([s.grams for s in skus], dtype=float)
    price_fen = np.array([s.price_fen for s in skus], dtype=np.int64)
    unit_qty = np.array([s.unit_qty for s in skus], dtype=np.int64)
    day_str = [d.isoformat() for d in days]
    sku_code = [s.code for s in skus]
    tz = local_tz()
    override_of: dict[tuple[int, int], tuple[int, int]] = {}
    for o in overrides:
        start = (o.start.astimezone(tz).date() - days[0]).days
        override_of[(o.store, o.sku)] = (int(o.price * 100), max(start, 0))
    out: list[StoreSales] = []
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("date,location,sku,quantity,amount\n")
        for si, st in enumerate(stores):
            ks = assortment[si]
            scale = (st.area / 300.0) ** 0.6 * (1.1 if st.tourist else 1.0)
            growth = rng.normal(0.06, 0.05)
            q = demand.simulate(rng, base=rate[ks] * scale, tourist=np.full(len(ks), int(st.tourist)), leaf=leaf[ks],
                                growth=np.full(len(ks), growth), season=season, day_f=day_f, promo=promo[ks])
            q = q.astype(np.int64)
            w = by_weight[ks]
            if w.any():  # purchases → grams, each purchase a little different, to 10 g
                g = grams[ks][w][:, None] * rng.lognormal(0, 0.25, size=(int(w.sum()), n_days))
                q[w] = (np.rint(q[w] * g / 10.0) * 10).astype(np.int64)
            unit_price = np.broadcast_to(price_fen[ks][:, None], q.shape).astype(np.float64)
            unit_price = np.where(promo[ks], unit_price * 0.85, unit_price)
            for row, k in enumerate(ks.tolist()):
                ov = override_of.get((si, k))
                if ov is not None:
                    unit_price[row, ov[1]:] = ov[0]
            amount = np.rint(q * unit_price / unit_qty[ks][:, None]).astype(np.int64)
            pi, di = np.nonzero(q)
            codes = [sku_code[k] for k in ks.tolist()]
            lines = [f"{day_str[d]},{st.code},{codes[p]},{v},{a}\n" for p, d, v, a in
                     zip(pi.tolist(), di.tolist(), q[pi, di].tolist(), _fen_strings(amount[pi, di]), strict=True)]
            f.writelines(lines)
            rows += len(lines)
            out.append(StoreSales(skus=ks, recent=q[:, -RECENT_DAYS:].copy(), mean28=q[:, -28:].mean(axis=1)))
            if progress is not None:
                progress((si + 1) / len(stores))
    return rows, out


# --- stock ----------------------------------------------------------------------------------------


def unit_cost(s: SkuPlan) -> Decimal:
    """Tax-exclusive cost per base unit: the price less VAT less the SKU's margin."""
    net = s.price / (1 + Decimal(s.vat) / 100) / s.unit_qty
    return (net * Decimal(str(round(1 - s.margin, 4)))).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def plan_stock(rng: np.random.Generator, *, stores: list[StorePlan], skus: list[SkuPlan], sales: list[StoreSales],
               ids: dict[str, int], today: dt.date) -> list:
    """Opening rows (inventory.services.OpeningRow) as of the start of the recent days: enough for the
    recent orders plus 5–20 days of supply; a few stock-outs; lots with expiry for lot-tracked SKUs.
    Warehouses hold about ten days of the chain's demand; the transit location a few shipments."""
    from mendian.inventory.services import OpeningRow

    rows: list[OpeningRow] = []
    chain_daily = np.zeros(len(skus))

    def lots_for(s: SkuPlan, qty: int, loc_id: int) -> None:
        if s.lot_days <= 0:
            rows.append(OpeningRow(loc_id, s.id, qty, unit_cost(s)))
            return
        n = 1 if qty < 2 or s.lot_days <= 2 else int(rng.integers(1, 3))
        first = qty // n if n > 1 else qty
        parts = [first, qty - first] if n > 1 else [qty]
        lag = int(rng.integers(0, 2))
        for j, part in enumerate(parts):
            # lots as a store holds them today: the older one expires first (FEFO takes it first)
            received = today - dt.timedelta(days=lag + j * (max(1, s.lot_days // 3) + 1))
            expiry = max(received + dt.timedelta(days=s.lot_days), today + dt.timedelta(days=1))
            rows.append(OpeningRow(loc_id, s.id, part, unit_cost(s), lot_code=f"L{received:%Y%m%d}", expiry=expiry))

    for st, sa in zip(stores, sales, strict=True):
        cover = rng.uniform(5, 20, size=len(sa.skus))
        for j, k in enumerate(sa.skus.tolist()):
            s = skus[k]
            chain_daily[k] += sa.mean28[j]
            need = int(sa.recent[j].sum())
            qty = need + int(math.ceil(sa.mean28[j] * cover[j]))
            if s.by_weight:
                qty = int(math.ceil(qty / 100.0) * 100)
            else:
                qty = max(qty, int(rng.integers(2, 6)))
            if rng.random() < 0.02 and need == 0:
                qty = 0  # out of stock (the balance exists, nothing on hand)
            lots_for(s, qty, st.id)
    wh_share = {"WH01": 0.65, "WH02": 0.35}
    for code, share in wh_share.items():
        for k, s in enumerate(skus):
            qty = chain_daily[k] * 10 * share
            qty = int(math.ceil(max(qty, s.pack) / s.pack) * s.pack)
            lots_for(s, qty, ids[code])
    for k in rng.choice(len(skus), size=min(12, len(skus)), replace=False).tolist():
        s = skus[k]
        lots_for(s, s.pack * int(rng.integers(1, 4)), ids[data.TRANSIT_CODE])
    return rows


# --- the whole chain ------------------------------------------------------------------------------


def demo_chain_seed(*, stores: int = 30, skus: int = 1000, days: int = 400, seed: int = 42, var_dir: Path,
                    progress: Progress | None = None, with_orders: bool = True) -> SeedResult:
    """Generate the demo chain into the configured database (which must not hold it yet)."""
    from mendian.inventory.services import stock_opening_bulk
    from mendian.sales.history import sales_history_import

    if stores < 1 or skus < 1 or days < RECENT_DAYS:
        raise ValueError(f"need at least 1 store, 1 SKU and {RECENT_DAYS} days")
    res = SeedResult()
    rng = np.random.default_rng(seed)
    report = progress or (lambda _label, _f: None)
    clock = (time.perf_counter(), time.process_time())

    def lap(name: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        res.seconds[name] = round(now[0] - clock[0], 2)
        res.cpu_seconds[name] = round(now[1] - clock[1], 2)
        clock = now

    now = timezone.now()
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    day_list = [yesterday - dt.timedelta(days=days - 1 - i) for i in range(days)]

    report("组织 org", 0.0)
    store_plans = plan_stores(rng, stores)
    sku_plans = plan_skus(rng, skus)
    assortment = plan_assortment(rng, store_plans, sku_plans)
    overrides = plan_overrides(rng, store_plans, sku_plans, assortment, now)
    with transaction.atomic():
        ids = create_org(store_plans)
        report("商品 catalog", 0.02)
        res.products = create_catalog(sku_plans)
        res.users, hq_user, users = create_users(store_plans)
        create_overrides(overrides, store_plans, sku_plans, hq_user)
    res.regions = Region.objects.count()
    res.stores, res.locations, res.skus = len(store_plans), len(ids), len(sku_plans)
    res.assortment = int(sum(len(a) for a in assortment))
    lap("master data")

    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "demo_sales_history.csv"
    res.csv_path = str(path)
    report("销售历史 history", 0.05)
    rows, sales = generate_history(rng, stores=store_plans, skus=sku_plans, assortment=assortment,
                                   overrides=overrides, days=day_list, path=path,
                                   progress=lambda f: report("销售历史 history", 0.05 + 0.15 * f))
    lap("history generate")

    def import_progress(phase: str, done: int, total: int) -> None:
        base, span = (0.20, 0.15) if phase == "validate" else (0.35, 0.35)
        report("导入 import", base + span * done / max(total, 1))

    result = sales_history_import(source=path, actor=hq_user, progress=import_progress, today=today)
    res.history_rows = result.imported + result.updated
    res.history_rejected = result.rejected
    res.history_days = days
    if result.rejected:
        res.notes.append(f"history import rejected {result.rejected} rows: {result.errors[:3]}")
    lap("history import")

    report("库存 stock", 0.70)
    opening_at = dt.datetime.combine(today - dt.timedelta(days=RECENT_DAYS), dt.time(6), tzinfo=local_tz())
    stock_rows = plan_stock(rng, stores=store_plans, skus=sku_plans, sales=sales, ids=ids, today=today)
    opened = stock_opening_bulk(rows=stock_rows, doc_ref="DEMO-OPENING", user_id=hq_user.pk, at=opening_at)
    res.stock_levels, res.lots = opened.levels, opened.lots
    lap("stock")

    if with_orders:
        from .orders import create_recent_orders

        report("订单 orders", 0.78)
        res.orders, res.shifts = create_recent_orders(
            rng, stores=store_plans, skus=sku_plans, sales=sales, users=users, today=today,
            progress=lambda f: report("订单 orders", 0.78 + 0.22 * f))
        lap("orders")
    report("完成 done", 1.0)
    return res
