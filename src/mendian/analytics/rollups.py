"""Keeping the rollups current: incrementally from order events, and by a full rebuild.

An order contributes to the rollups once it is paid (statuses below), net of refunded quantities, on
the local day and hour it was paid (POS sales are created paid). The subscriber recomputes an order's
contribution from the order as it is now and applies only the difference to what it contributed
before (kept in ``OrderRollup``), so a redelivered or stale event changes nothing, and a refund simply
lowers the contribution. The rebuild recounts everything from the orders and the imported history.

The imported sales history is the complete record of the days it covers (a chain's old system; the
demo's orders of those days are a subset of it). So, per location, history counts up to its last day
(``HistoryCutover``) and orders count after it: nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import F, Max

from mendian.core.timeutil import local_tz

from .models import (
    HISTORY_CHANNEL,
    UNKNOWN_TIER,
    HistoryCutover,
    OrderRollup,
    SalesDayCategory,
    SalesDayLocation,
    SalesDaySku,
    SalesHour,
    SkuWindow,
    SkuWindowEnd,
)

log = logging.getLogger(__name__)

COUNTED_STATUSES = frozenset({"paid", "fulfilled", "completed", "partially_refunded", "refunded"})
FEN = Decimal("0.01")
COST_Q = Decimal("0.0001")
MEMBER_TIER = "member"

# values: quantity, amount, tax, cost, transactions
Values = list  # [int, Decimal, Decimal, Decimal, int]


@dataclass(frozen=True)
class OrderFacts:
    """An order's current contribution: one day/hour/channel/tier, net values per SKU."""

    location_id: int
    region_id: int
    day: dt.date
    hour: int
    channel: str
    tier: str
    skus: dict[int, tuple[int, int, Decimal, Decimal, Decimal]]  # sku_id -> (category_id, qty, amount, tax, cost)

    def to_json(self) -> dict:
        return {"location": self.location_id, "region": self.region_id, "day": self.day.isoformat(),
                "hour": self.hour, "channel": self.channel, "tier": self.tier,
                "skus": {str(k): [c, q, str(a), str(t), str(co)] for k, (c, q, a, t, co) in self.skus.items()}}

    @classmethod
    def from_json(cls, data: dict) -> OrderFacts | None:
        if not data:
            return None
        return cls(location_id=data["location"], region_id=data["region"], day=dt.date.fromisoformat(data["day"]),
                   hour=data["hour"], channel=data["channel"], tier=data["tier"],
                   skus={int(k): (c, q, Decimal(a), Decimal(t), Decimal(co))
                         for k, (c, q, a, t, co) in data["skus"].items()})


def _net(value: Decimal, refunded: int, whole: int, q: Decimal) -> Decimal:
    """What is left of a line's ``value`` after ``refunded`` of ``whole`` units went back: the same
    rule as sales' refunds (the first c units carry value × c / quantity, rounded to the fen)."""
    if not refunded:
        return value
    return value - (value * refunded / whole).quantize(q, rounding=ROUND_HALF_UP)


def order_facts(order, lines: Iterable, *, category_of: dict[int, int], region_id: int) -> OrderFacts | None:
    """The net contribution of an order (``None`` when it does not count: unpaid, cancelled, expired).

    A refunded part of a line leaves as sales refunded it (the whole line leaves exactly)."""
    if order.status not in COUNTED_STATUSES:
        return None
    at = (order.paid_at or order.created_at).astimezone(local_tz())
    skus: dict[int, list] = {}
    for line in lines:
        refunded = line.refunded_qty or 0
        net = line.quantity - refunded
        if net <= 0:
            continue
        row = skus.setdefault(line.sku_id, [category_of[line.sku_id], 0, Decimal(0), Decimal(0), Decimal(0)])
        row[1] += net
        row[2] += _net(Decimal(line.amount), refunded, line.quantity, FEN)
        row[3] += _net(Decimal(line.tax), refunded, line.quantity, FEN)
        row[4] += _net(Decimal(line.cost), refunded, line.quantity, COST_Q)
    tier = MEMBER_TIER if order.member_code else ""
    return OrderFacts(location_id=order.store_id, region_id=region_id, day=at.date(), hour=at.hour,
                      channel=order.channel, tier=tier,
                      skus={k: (v[0], v[1], v[2], v[3], v[4]) for k, v in skus.items()})


# --- the four grains --------------------------------------------------------------------------------

def _grains(f: OrderFacts) -> dict[str, dict[tuple, Values]]:
    """Rows an order contributes to, per table: key -> [qty, amount, tax, cost, transactions]."""
    out: dict[str, dict[tuple, Values]] = {"loc": {}, "cat": {}, "sku": {}, "hour": {}}
    if not f.skus:
        return out
    total = [0, Decimal(0), Decimal(0), Decimal(0), 1]
    cats: dict[int, Values] = {}
    for sku_id, (cat, q, a, t, c) in f.skus.items():
        out["sku"][(f.day, f.location_id, f.region_id, sku_id, cat, f.channel, f.tier)] = [q, a, t, c, 1]
        row = cats.setdefault(cat, [0, Decimal(0), Decimal(0), Decimal(0), 1])
        for i, v in enumerate((q, a, t, c)):
            row[i] += v
            total[i] += v
    for cat, row in cats.items():
        out["cat"][(f.day, f.location_id, f.region_id, cat, f.channel, f.tier)] = row
    out["loc"][(f.day, f.location_id, f.region_id, f.channel, f.tier)] = list(total)
    out["hour"][(f.day, f.hour, f.location_id, f.region_id, f.channel, f.tier)] = list(total)
    return out


_MODELS = {"loc": SalesDayLocation, "cat": SalesDayCategory, "sku": SalesDaySku, "hour": SalesHour}
_KEYS = {
    "loc": ("day", "location_id", "region_id", "channel", "member_tier"),
    "cat": ("day", "location_id", "region_id", "category_id", "channel", "member_tier"),
    "sku": ("day", "location_id", "region_id", "sku_id", "category_id", "channel", "member_tier"),
    "hour": ("day", "hour", "location_id", "region_id", "channel", "member_tier"),
}
# determined by the rest of the key: left out of the lookup
_LOOKUP_DROP = {"loc": {"region_id"}, "cat": {"region_id"}, "sku": {"region_id", "category_id"}, "hour": {"region_id"}}


def _delta(old: OrderFacts | None, new: OrderFacts | None) -> dict[str, dict[tuple, Values]]:
    out: dict[str, dict[tuple, Values]] = {g: {} for g in _MODELS}
    for facts, sign in ((old, -1), (new, 1)):
        if facts is None:
            continue
        for grain, rows in _grains(facts).items():
            for key, vals in rows.items():
                acc = out[grain].setdefault(key, [0, Decimal(0), Decimal(0), Decimal(0), 0])
                for i, v in enumerate(vals):
                    acc[i] += sign * v
    for grain in out:
        out[grain] = {k: v for k, v in out[grain].items() if any(x != 0 for x in v)}
    return out


# --- the trailing store × SKU window of the purchasing dashboard --------------------------------------

WINDOW_DAYS = 28


def window_end_locked() -> dt.date | None:
    """The window's last day, locked against a recount until this transaction ends (FOR SHARE: order
    events apply side by side; the recount waits for them, and they for it)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"SELECT end_day FROM {SkuWindowEnd._meta.db_table} WHERE id = 1 FOR SHARE")
            row = cur.fetchone()
        return row[0] if row else None
    return SkuWindowEnd.objects.filter(pk=1).values_list("end_day", flat=True).first()


def window_end() -> dt.date | None:
    return SkuWindowEnd.objects.filter(pk=1).values_list("end_day", flat=True).first()


def sku_window_refresh(*, end: dt.date) -> int:
    """Recount the window (the ``WINDOW_DAYS`` days ending ``end``) from ``SalesDaySku`` in one
    INSERT … SELECT. Returns its rows."""
    t, w = SalesDaySku._meta.db_table, SkuWindow._meta.db_table
    with transaction.atomic():
        SkuWindowEnd.objects.get_or_create(pk=1)
        SkuWindowEnd.objects.select_for_update().filter(pk=1).first()
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {w}")
            cur.execute(f"""
                INSERT INTO {w} (location_id, sku_id, category_id, quantity, cost, margin)
                SELECT location_id, sku_id, MIN(category_id), SUM(quantity), SUM(cost), SUM(amount - tax - cost)
                FROM {t} WHERE day >= %s AND day <= %s GROUP BY location_id, sku_id ORDER BY location_id, sku_id
            """, [end - dt.timedelta(days=WINDOW_DAYS - 1), end])
            n = cur.rowcount
        SkuWindowEnd.objects.filter(pk=1).update(end_day=end)
    return n


def _window_apply(rows: dict[tuple, Values], end: dt.date | None) -> None:
    """Add the SKU-grain delta of an order to the window, for the days inside it."""
    if end is None:
        return
    first = end - dt.timedelta(days=WINDOW_DAYS - 1)
    acc: dict[tuple[int, int, int], list] = {}
    for (day, location_id, _region, sku_id, category_id, _ch, _tier), (q, a, t, c, _n) in rows.items():
        if first <= day <= end:
            v = acc.setdefault((location_id, sku_id, category_id), [0, Decimal(0), Decimal(0)])
            v[0] += q
            v[1] += c
            v[2] += a - t - c
    for (location_id, sku_id, category_id), (q, c, mg) in acc.items():
        if not (q or c or mg):
            continue
        updated = SkuWindow.objects.filter(location_id=location_id, sku_id=sku_id).update(
            quantity=F("quantity") + q, cost=F("cost") + c, margin=F("margin") + mg)
        if not updated:
            SkuWindow.objects.create(location_id=location_id, sku_id=sku_id, category_id=category_id,
                                     quantity=q, cost=c, margin=mg)


def _apply(delta: dict[str, dict[tuple, Values]], *, window: dt.date | None = None) -> None:
    _window_apply(delta.get("sku", {}), window)
    for grain, rows in delta.items():
        model = _MODELS[grain]
        names = _KEYS[grain]
        for key, (q, a, t, c, n) in rows.items():
            kw = dict(zip(names, key, strict=True))
            lookup = {k: v for k, v in kw.items() if k not in _LOOKUP_DROP[grain]}
            updated = model.objects.filter(**lookup).update(
                quantity=F("quantity") + q, amount=F("amount") + a, tax=F("tax") + t, cost=F("cost") + c,
                transactions=F("transactions") + n)
            if not updated:
                model.objects.create(**kw, quantity=q, amount=a, tax=t, cost=c, transactions=n)


def _facts_for_order(number: str) -> tuple[object | None, OrderFacts | None]:
    from mendian.catalog.models import Sku
    from mendian.sales.models import Order

    order = Order.objects.select_related("store").filter(number=number).first()
    if order is None:
        return None, None
    lines = list(order.lines.all())
    category_of = dict(Sku.objects.filter(pk__in={ln.sku_id for ln in lines}).values_list("pk", "product__category_id"))
    facts = order_facts(order, lines, category_of=category_of, region_id=order.store.region_id)
    if facts is not None:
        last = HistoryCutover.objects.filter(location_id=order.store_id).values_list("last_day", flat=True).first()
        if last is not None and facts.day <= last:
            facts = None  # a day the imported history covers: the order is part of it already
    return order, facts


def order_rollup_apply(*, number: str, event_id: int = 0) -> bool:
    """Bring the rollups in line with order ``number`` as it is now. Idempotent. Returns True when
    the rollups changed. Call it from the outbox subscriber, never inside the checkout transaction."""
    with transaction.atomic():
        state = OrderRollup.objects.select_for_update().filter(number=number).first()
        if state is not None and event_id and event_id <= state.last_event_id:
            return False  # this event (or a later one) was applied already
        order, facts = _facts_for_order(number)
        if order is None:
            return False
        old = OrderFacts.from_json(state.contribution) if state else None
        delta = _delta(old, facts)
        _apply(delta, window=window_end_locked() if delta["sku"] else None)
        contribution = facts.to_json() if facts else {}
        if state is None:
            OrderRollup.objects.create(number=number, location_id=order.store_id, last_event_id=event_id,
                                       contribution=contribution)
        else:
            state.contribution = contribution
            state.last_event_id = max(event_id, state.last_event_id)
            state.save(update_fields=["contribution", "last_event_id", "updated_at"])
        return any(delta.values())


# --- rebuild ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RebuildResult:
    orders: int
    history_rows: int
    rows: dict[str, int]


def history_cutover_refresh() -> dict[int, dt.date]:
    """Per location, the last day of its imported history (orders count after it); stored for the
    subscriber."""
    from mendian.sales.models import SalesHistoryDay

    last = dict(SalesHistoryDay.objects.filter(source="import").values("location_id").annotate(d=Max("day"))
                .values_list("location_id", "d"))
    HistoryCutover.objects.all().delete()
    HistoryCutover.objects.bulk_create([HistoryCutover(location_id=k, last_day=v) for k, v in last.items()])
    return last


def _history_insert(*, start: dt.date | None, end: dt.date | None, location_ids: set[int] | None) -> int:
    """Copy imported daily history into the SKU grain in one INSERT … SELECT, then roll it up."""
    from mendian.catalog.models import Product, Sku
    from mendian.inventory.models import StockCost
    from mendian.org.models import Location
    from mendian.sales.models import SalesHistoryDay

    t = {m: m._meta.db_table for m in (SalesHistoryDay, Sku, Product, Location, StockCost, SalesDaySku,
                                       SalesDayCategory, SalesDayLocation)}
    where = ["h.source = %s"]
    params: list = ["import"]
    if start:
        where.append("h.day >= %s")
        params.append(start)
    if end:
        where.append("h.day <= %s")
        params.append(end)
    if location_ids is not None:
        if not location_ids:
            return 0
        where.append(f"h.location_id IN ({','.join(str(int(i)) for i in location_ids)})")
    tax = "ROUND(h.amount * s.vat_rate / (100 + s.vat_rate), 2)"
    sql = f"""
        INSERT INTO {t[SalesDaySku]} (day, location_id, region_id, sku_id, category_id, channel, member_tier,
                                      quantity, amount, tax, cost, transactions)
        SELECT h.day, h.location_id, l.region_id, h.sku_id, p.category_id, %s, %s,
               h.quantity, h.amount, {tax}, ROUND(h.quantity * COALESCE(c.avg_cost, 0), 4), 0
        FROM {t[SalesHistoryDay]} h
        JOIN {t[Sku]} s ON s.id = h.sku_id
        JOIN {t[Product]} p ON p.id = s.product_id
        JOIN {t[Location]} l ON l.id = h.location_id
        LEFT JOIN {t[StockCost]} c ON c.location_id = h.location_id AND c.sku_id = h.sku_id
        WHERE {' AND '.join(where)}
        ORDER BY h.day, h.location_id, h.sku_id
    """
    with connection.cursor() as cur:
        cur.execute(sql, [HISTORY_CHANNEL, UNKNOWN_TIER, *params])
        n = cur.rowcount
        rng, rparams = "", []
        if start:
            rng += " AND day >= %s"
            rparams.append(start)
        if end:
            rng += " AND day <= %s"
            rparams.append(end)
        if location_ids is not None:
            rng += f" AND location_id IN ({','.join(str(int(i)) for i in location_ids)})"
        for target, extra in ((SalesDayCategory, "category_id, "), (SalesDayLocation, "")):
            cur.execute(f"""
                INSERT INTO {t[target]} (day, location_id, region_id, {extra}channel, member_tier,
                                         quantity, amount, tax, cost, transactions)
                SELECT day, location_id, region_id, {extra}channel, member_tier,
                       SUM(quantity), SUM(amount), SUM(tax), SUM(cost), 0
                FROM {t[SalesDaySku]} WHERE channel = %s {rng}
                GROUP BY day, location_id, region_id, {extra}channel, member_tier
                ORDER BY day, location_id
            """, [HISTORY_CHANNEL, *rparams])
    return n


def _delete_range(*, start: dt.date | None, end: dt.date | None, location_ids: set[int] | None) -> None:
    for model in _MODELS.values():
        qs = model.objects.all()
        if start:
            qs = qs.filter(day__gte=start)
        if end:
            qs = qs.filter(day__lte=end)
        if location_ids is not None:
            qs = qs.filter(location_id__in=location_ids)
        qs._raw_delete(qs.db)


def rollups_rebuild(*, start: dt.date | None = None, end: dt.date | None = None,
                    location_ids: set[int] | None = None, chunk: int = 2000,
                    progress: Callable[[int, int], None] | None = None) -> RebuildResult:
    """Recount the rollups of [start, end] (local days; all when None) from the imported sales history
    on the days it covers and from the orders after them (per location). One transaction: readers see
    the old or the new figures, never a half. Run it with the worker stopped or idle for those days."""
    if connection.vendor != "sqlite":
        return _rebuild(start=start, end=end, location_ids=location_ids, chunk=chunk, progress=progress)
    # one big transaction: a page cache that holds its dirty index pages keeps SQLite from spilling
    # (and rewriting) them into the WAL again and again (2 MB default → 256 MB, for this call)
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        before = cur.fetchone()[0]
        cur.execute("PRAGMA cache_size = -262144")
    try:
        return _rebuild(start=start, end=end, location_ids=location_ids, chunk=chunk, progress=progress)
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA cache_size = {int(before)}")


def _rebuild(*, start: dt.date | None, end: dt.date | None, location_ids: set[int] | None, chunk: int,
             progress: Callable[[int, int], None] | None) -> RebuildResult:
    from mendian.catalog.models import Sku
    from mendian.org.models import Location
    from mendian.sales.models import Order, OrderLine

    tz = local_tz()
    with transaction.atomic():
        _delete_range(start=start, end=end, location_ids=location_ids)
        cutover = history_cutover_refresh()
        history_rows = _history_insert(start=start, end=end, location_ids=location_ids)

        orders = Order.objects.filter(status__in=COUNTED_STATUSES)
        if location_ids is not None:
            orders = orders.filter(store_id__in=location_ids)
        # the local day of a sale is that of paid_at (or created_at): filter loosely, then exactly
        if start:
            orders = orders.filter(created_at__gte=dt.datetime.combine(start, dt.time(), tz) - dt.timedelta(days=62))
        if end:
            orders = orders.filter(created_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz))
        region_of = dict(Location.objects.values_list("pk", "region_id"))
        category_of = dict(Sku.objects.values_list("pk", "product__category_id"))
        ids = list(orders.order_by("pk").values_list("pk", flat=True))
        acc: dict[str, dict[tuple, Values]] = {g: {} for g in _MODELS}
        states: list[OrderRollup] = []
        seen_numbers: list[str] = []
        counted = 0
        for i in range(0, len(ids), chunk):
            part = ids[i:i + chunk]
            lines_of: dict[int, list] = defaultdict(list)
            for ln in OrderLine.objects.filter(order_id__in=part).only(
                    "order_id", "sku_id", "quantity", "refunded_qty", "amount", "tax", "cost"):
                lines_of[ln.order_id].append(ln)
            for order in Order.objects.filter(pk__in=part).only(
                    "pk", "number", "store_id", "status", "channel", "member_code", "paid_at", "created_at"):
                facts = order_facts(order, lines_of[order.pk], category_of=category_of,
                                    region_id=region_of[order.store_id])
                seen_numbers.append(order.number)
                if facts is None or (start and facts.day < start) or (end and facts.day > end):
                    continue
                if order.store_id in cutover and facts.day <= cutover[order.store_id]:
                    continue  # the imported history covers that day
                counted += 1
                states.append(OrderRollup(number=order.number, location_id=order.store_id,
                                          contribution=facts.to_json()))
                for grain, rows in _grains(facts).items():
                    for key, vals in rows.items():
                        a = acc[grain].setdefault(key, [0, Decimal(0), Decimal(0), Decimal(0), 0])
                        for j, v in enumerate(vals):
                            a[j] += v
            if progress:
                progress(min(i + chunk, len(ids)), len(ids))
        for i in range(0, len(seen_numbers), chunk):  # what those orders contributed before is recounted
            OrderRollup.objects.filter(number__in=seen_numbers[i:i + chunk]).delete()
        from mendian.platform.models import OutboxEvent

        last_event = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        for s in states:
            s.last_event_id = last_event
        OrderRollup.objects.bulk_create(states, batch_size=1000)
        rows = {}
        for grain, data in acc.items():
            model, names = _MODELS[grain], _KEYS[grain]
            objs = [model(**dict(zip(names, key, strict=True)), quantity=q, amount=a, tax=t, cost=c, transactions=n)
                    for key, (q, a, t, c, n) in data.items() if q or a]
            model.objects.bulk_create(objs, batch_size=2000)
            rows[grain] = len(objs)
        end_day = window_end()
        if end_day is not None:  # the recounted days may lie in the window: recount it too
            rows["window"] = sku_window_refresh(end=end_day)
    return RebuildResult(orders=counted, history_rows=history_rows, rows=rows)
