"""Write use-cases of the stock ledger. Every change of a balance writes one StockMovement in the
same transaction. Other contexts (sales, purchasing, transfers) change stock only through these.

CONTRACT (agreed between the inventory and sales work):
every function is one transaction (``transaction.atomic(savepoint=False)`` so that callers that
already hold a transaction pay no SAVEPOINT statements), takes ids not model instances where the
hot path matters, and publishes one outbox event ``stock.moved`` (partition = location code) per
call and location through ``mendian.platform.outbox.outbox_publish``. The payload is
``{"location", "doc_type", "doc_ref", "movements": [{"id", "sku_id", "lot_id", "lot", "reason",
"on_hand_delta", "reserved_delta", "unit_cost"}]}``.

Takes (``LotTake``) are returned grouped by input line, in input order; within a line in FEFO order.
The sum of a line's takes is the line's quantity. ``unit_cost`` of a take is the moving-average
cost of the SKU at the location when it was taken (tax-exclusive), so that sales record the cost of
goods of every line.

Locks are taken in the global order described in ``locks.py`` (costs, then balances by location,
lot-less row first, id), so concurrent multi-line calls never deadlock. A refusal for stock or state
(``InsufficientStock``, ``Conflict``) has written nothing and is raised after the service's
transaction block, so that a caller's own transaction is still usable (it may record lost demand,
try another store…); invalid input (``InvalidInput``) found inside the block dooms the caller's
transaction, like any error inside ``atomic(savepoint=False)``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from mendian.core.errors import Conflict, InvalidInput

from . import domain
from .errors import InsufficientStock, ShortLine
from .locks import LevelRow, lock_costs, lock_levels, to_cost
from .models import CountTask, LostDemand, Lot, StockLevel, StockMovement

Reason = StockMovement.Reason
TOPIC = "stock.moved"


@dataclass(frozen=True)
class StockLine:
    sku_id: int
    quantity: int  # base units, > 0


@dataclass(frozen=True)
class LotTake:
    """How (part of) a line was taken: from which lot, how much, at what unit cost."""

    sku_id: int
    lot_id: int | None
    lot_code: str | None
    quantity: int
    unit_cost: Decimal


@dataclass(frozen=True)
class ReceiptLine:
    sku_id: int
    quantity: int
    unit_cost: Decimal  # tax-exclusive cost per base unit
    lot_code: str | None = None
    expiry: dt.date | None = None


# --- internals ------------------------------------------------------------------------------------


@dataclass
class _Change:
    """One movement to write: a delta on one balance."""

    level_id: int | None  # None: the balance is created first
    location_id: int
    sku_id: int
    lot_id: int | None
    lot_code: str | None
    reason: str
    on_hand_delta: int = 0
    reserved_delta: int = 0
    unit_cost: Decimal | None = None
    note: str = ""
    cause: str = ""


@dataclass
class _Applied:
    movement_ids: list[int]
    levels: dict[int, tuple[int, int]] = field(default_factory=dict)  # level id -> (on hand, reserved) after


def _check_lines(lines: Sequence[StockLine]) -> dict[int, int]:
    """Quantities per SKU, in first-seen order; quantities must be positive integers."""
    if not lines:
        raise InvalidInput("no lines", code="no_lines")
    per_sku: dict[int, int] = {}
    for ln in lines:
        if not isinstance(ln.quantity, int) or isinstance(ln.quantity, bool) or ln.quantity <= 0:
            raise InvalidInput("quantities must be positive integers", code="invalid_quantity",
                               details={"sku_id": ln.sku_id, "quantity": ln.quantity})
        per_sku[ln.sku_id] = per_sku.get(ln.sku_id, 0) + ln.quantity
    return per_sku


def _check_takes(takes: Sequence[LotTake]) -> None:
    if not takes:
        raise InvalidInput("no lines", code="no_lines")
    for t in takes:
        if not isinstance(t.quantity, int) or t.quantity <= 0:
            raise InvalidInput("quantities must be positive integers", code="invalid_quantity",
                               details={"sku_id": t.sku_id, "quantity": t.quantity})


def _location_code(location_id: int) -> str:
    from mendian.org.models import Location

    code = Location.objects.filter(pk=location_id).values_list("code", flat=True).first()
    if code is None:
        raise InvalidInput(f"unknown location id {location_id}", code="unknown_location")
    return code


def _ensure_levels(changes: Iterable[_Change]) -> None:
    """Create the balances that changes point at but that do not exist yet; fill in their ids.

    ``INSERT … ON CONFLICT DO NOTHING`` in key order (a concurrent creator of the same row makes us
    wait for its commit), then the ids are read back; the caller's later update takes the row lock.
    """
    missing = [c for c in changes if c.level_id is None]
    if not missing:
        return
    keys = sorted({(c.location_id, c.sku_id, c.lot_id) for c in missing}, key=lambda k: (k[0], k[1], k[2] or 0))
    sku_ids = {k[1] for k in keys}
    from mendian.catalog.models import Sku

    known = set(Sku.objects.filter(pk__in=sku_ids).values_list("pk", flat=True))
    if unknown := sku_ids - known:
        raise InvalidInput(f"unknown SKU id(s) {sorted(unknown)}", code="unknown_sku", details={"sku_ids": sorted(unknown)})
    StockLevel.objects.bulk_create(
        [StockLevel(location_id=loc, sku_id=sku, lot_id=lot, on_hand=0, reserved=0) for loc, sku, lot in keys],
        ignore_conflicts=True,
    )
    ids: dict[tuple[int, int, int | None], int] = {}
    for row in (StockLevel.objects.filter(location_id__in={k[0] for k in keys}, sku_id__in=sku_ids)
                .values_list("id", "location_id", "sku_id", "lot_id")):
        ids[(row[1], row[2], row[3])] = row[0]
    for c in missing:
        c.level_id = ids[(c.location_id, c.sku_id, c.lot_id)]


def _update_levels(deltas: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """One UPDATE for all balances: on hand and reserved by their deltas; returns the new values."""
    if not deltas:
        return {}
    table = StockLevel._meta.db_table
    ids = sorted(deltas)
    with connection.cursor() as cur:
        if settings.IS_POSTGRES:
            cur.execute(
                f"UPDATE {table} AS s SET on_hand = s.on_hand + v.d_on, reserved = s.reserved + v.d_res "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::integer[], %s::integer[]) AS v(vid, d_on, d_res) "
                "WHERE s.id = v.vid RETURNING s.id, s.on_hand, s.reserved",
                [ids, [deltas[i][0] for i in ids], [deltas[i][1] for i in ids]],
            )
        else:
            values = ", ".join(["(%s, %s, %s)"] * len(ids))
            params: list[Any] = []
            for i in ids:
                params += [i, deltas[i][0], deltas[i][1]]
            cur.execute(
                f"WITH v(vid, d_on, d_res) AS (VALUES {values}) "  # noqa: S608
                f"UPDATE {table} SET on_hand = on_hand + v.d_on, reserved = reserved + v.d_res "
                f"FROM v WHERE {table}.id = v.vid RETURNING id, on_hand, reserved",
                params,
            )
        return {r[0]: (r[1], r[2]) for r in cur.fetchall()}


_INSERT_COLUMNS = ("level_id, location_id, sku_id, lot_id, reason, on_hand_delta, reserved_delta, unit_cost, note, "
                   "cause, doc_type, doc_ref, user_id, created_at")


def _insert_movements(changes: Sequence[_Change], *, doc_type: str, doc_ref: str, user_id: int | None,
                      at: dt.datetime) -> list[int]:
    """One INSERT of all movements, returning their ids in order.

    On PostgreSQL the statement text is the same whatever the number of rows (arrays + ``unnest``),
    so it is prepared once per connection; no model instances are built on this hot path."""
    table = StockMovement._meta.db_table
    cols = ([c.level_id for c in changes], [c.location_id for c in changes], [c.sku_id for c in changes],
            [c.lot_id for c in changes], [c.reason for c in changes], [c.on_hand_delta for c in changes],
            [c.reserved_delta for c in changes], [c.unit_cost for c in changes], [c.note[:200] for c in changes],
            [c.cause for c in changes])
    with connection.cursor() as cur:
        if settings.IS_POSTGRES:
            cur.execute(
                f"INSERT INTO {table} ({_INSERT_COLUMNS}) "  # noqa: S608
                "SELECT u.level_id, u.location_id, u.sku_id, u.lot_id, u.reason, u.d_on, u.d_res, u.cost, u.note, "
                "u.cause, %s, %s, %s::bigint, %s::timestamptz FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], "
                "%s::bigint[], %s::varchar[], %s::integer[], %s::integer[], %s::numeric[], %s::varchar[], "
                "%s::varchar[]) AS u(level_id, location_id, sku_id, lot_id, reason, d_on, d_res, cost, note, cause) "
                "RETURNING id",
                [doc_type, doc_ref, user_id, at, *[list(c) for c in cols]],
            )
            return [r[0] for r in cur.fetchall()]
        ms = [StockMovement(level_id=c.level_id, location_id=c.location_id, sku_id=c.sku_id, lot_id=c.lot_id,
                            reason=c.reason, on_hand_delta=c.on_hand_delta, reserved_delta=c.reserved_delta,
                            unit_cost=c.unit_cost, doc_type=doc_type, doc_ref=doc_ref, note=c.note[:200],
                            cause=c.cause, user_id=user_id, created_at=at) for c in changes]
        StockMovement.objects.bulk_create(ms)
        return [m.pk for m in ms]


def _publish(location_code: str, ids: Sequence[int], changes: Sequence[_Change], *,
             doc_type: str, doc_ref: str) -> None:
    from mendian.platform.outbox import outbox_publish

    outbox_publish(topic=TOPIC, partition=location_code, payload={
        "location": location_code, "doc_type": doc_type, "doc_ref": doc_ref,
        "movements": [
            {"id": i, "sku_id": c.sku_id, "lot_id": c.lot_id, "lot": c.lot_code, "reason": c.reason,
             "on_hand_delta": c.on_hand_delta, "reserved_delta": c.reserved_delta,
             "unit_cost": None if c.unit_cost is None else str(c.unit_cost)}
            for i, c in zip(ids, changes, strict=True)
        ],
    })


def _apply(changes: list[_Change], *, location_codes: Mapping[int, str], doc_type: str, doc_ref: str,
           user_id: int | None, at: dt.datetime | None = None, known: dict[int, tuple[int, int]] | None = None,
           skip_update: bool = False) -> _Applied:
    """Write changes: create missing balances, one UPDATE of all balances, one INSERT of all movements,
    one event per location. ``skip_update``: the balances were already updated (POS fast path)."""
    at = at or timezone.now()
    changes = [c for c in changes if c.on_hand_delta or c.reserved_delta]
    if not changes:
        return _Applied(movement_ids=[])
    _ensure_levels(changes)
    levels: dict[int, tuple[int, int]] = dict(known or {})
    if not skip_update:
        deltas: dict[int, tuple[int, int]] = {}
        for c in changes:
            d = deltas.get(c.level_id, (0, 0))
            deltas[c.level_id] = (d[0] + c.on_hand_delta, d[1] + c.reserved_delta)
        levels.update(_update_levels(deltas))
    ids = _insert_movements(changes, doc_type=doc_type[:32], doc_ref=doc_ref[:64], user_id=user_id, at=at)
    by_loc: dict[int, tuple[list[int], list[_Change]]] = {}
    for i, c in zip(ids, changes, strict=True):
        ms, cs = by_loc.setdefault(c.location_id, ([], []))
        ms.append(i)
        cs.append(c)
    for loc_id, (ms, cs) in by_loc.items():
        code = location_codes.get(loc_id) or _location_code(loc_id)
        _publish(code, ms, cs, doc_type=doc_type, doc_ref=doc_ref)
    return _Applied(movement_ids=ids, levels=levels)


def _open_count_tasks(location_id: int, sku_ids: Iterable[int], *, at: dt.datetime,
                      reason: str = "negative_stock") -> None:
    """Open a count task per SKU unless one is open already (unique open task per location and SKU)."""
    skus = sorted(set(sku_ids))
    if skus:
        CountTask.objects.bulk_create(
            [CountTask(location_id=location_id, sku_id=s, reason=reason, status=CountTask.Status.OPEN, created_at=at)
             for s in skus], ignore_conflicts=True)


def _balances(rows: Sequence[LevelRow]) -> dict[int, list[LevelRow]]:
    out: dict[int, list[LevelRow]] = defaultdict(list)
    for r in rows:
        out[r.sku_id].append(r)
    return out


def _as_lot_balance(r: LevelRow) -> domain.LotBalance:
    return domain.LotBalance(r.id, r.lot_id, r.lot_code, r.expiry, r.on_hand, r.reserved)


def _avg_of(rows: Sequence[LevelRow]) -> Decimal:
    return rows[0].avg_cost if rows else Decimal("0.0000")


def _split_per_line(lines: Sequence[StockLine], takes_per_sku: dict[int, list[LotTake]]) -> list[LotTake]:
    """Hand the takes of each SKU out to its lines in input order (a SKU may appear on several lines)."""
    pools = {sku: list(ts) for sku, ts in takes_per_sku.items()}
    out: list[LotTake] = []
    for ln in lines:
        need = ln.quantity
        pool = pools.get(ln.sku_id, [])
        while need > 0 and pool:
            t = pool[0]
            q = min(need, t.quantity)
            out.append(LotTake(t.sku_id, t.lot_id, t.lot_code, q, t.unit_cost))
            need -= q
            if q == t.quantity:
                pool.pop(0)
            else:
                pool[0] = LotTake(t.sku_id, t.lot_id, t.lot_code, t.quantity - q, t.unit_cost)
    return out


def _today() -> dt.date:
    return timezone.localdate()


# --- reservations (online orders) ------------------------------------------------------------------


def stock_reserve(*, location_id: int, lines: Sequence[StockLine], doc_type: str, doc_ref: str,
                  user_id: int | None) -> list[LotTake]:
    """Reserve all lines or none (online orders). FEFO across lots for lot-tracked SKUs.

    Guarded on available (on_hand − reserved); never oversells, never deadlocks (rows in a fixed
    order). Raises ``InsufficientStock(lines=[ShortLine(sku_id, requested, available)])`` naming every
    short line; writes nothing then. Lots expired before today are not reserved.
    """
    per_sku = _check_lines(lines)
    with transaction.atomic(savepoint=False):
        rows = lock_levels(location_ids=[location_id], sku_ids=per_sku)
        by_sku = _balances(rows)
        today = _today()
        short: list[ShortLine] = []
        changes: list[_Change] = []
        takes: dict[int, list[LotTake]] = {}
        for sku_id, qty in per_sku.items():
            lvls = by_sku.get(sku_id, [])
            choice = domain.choose_lots([_as_lot_balance(r) for r in lvls], qty, today=today)
            if choice.short:
                short.append(ShortLine(sku_id=sku_id, requested=qty, available=max(choice.available, 0)))
                continue
            cost = _avg_of(lvls)
            takes[sku_id] = [LotTake(sku_id, t.lot_id, t.lot_code, t.quantity, cost) for t in choice.takes]
            changes += [_Change(t.level_id, location_id, sku_id, t.lot_id, t.lot_code, Reason.RESERVATION,
                                reserved_delta=t.quantity, unit_cost=cost) for t in choice.takes]
        if not short:
            codes = {location_id: rows[0].location_code} if rows else {}
            _apply(changes, location_codes=codes, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id)
    if short:  # raised outside the block: nothing was written and the caller's transaction stays usable
        raise InsufficientStock(short)
    return _split_per_line(lines, takes)


def _take_back(*, location_id: int, takes: Sequence[LotTake], doc_type: str, doc_ref: str, user_id: int | None,
               issue: bool) -> None:
    """Release (``issue`` False) or issue (True) reserved quantities, balance by balance."""
    _check_takes(takes)
    with transaction.atomic(savepoint=False):
        rows = lock_levels(location_ids=[location_id], sku_ids={t.sku_id for t in takes})
        by_key = {(r.sku_id, r.lot_id): r for r in rows}
        need: dict[tuple[int, int | None], int] = defaultdict(int)
        for t in takes:
            need[(t.sku_id, t.lot_id)] += t.quantity
        for key, q in need.items():
            r = by_key.get(key)
            if r is None or r.reserved < q:
                refused = Conflict("more than is reserved", code="not_reserved",
                                   details={"sku_id": key[0], "lot_id": key[1], "quantity": q,
                                            "reserved": r.reserved if r else 0})
                break
        else:
            refused = None
        if refused is None:
            _take_back_write(location_id, takes, rows, by_key, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id,
                             issue=issue)
    if refused is not None:
        raise refused


def _take_back_write(location_id: int, takes: Sequence[LotTake], rows: Sequence[LevelRow],
                     by_key: dict[tuple[int, int | None], LevelRow], *, doc_type: str, doc_ref: str,
                     user_id: int | None, issue: bool) -> None:
    reason = Reason.SALE if issue else Reason.RELEASE
    changes = [
        _Change(by_key[(t.sku_id, t.lot_id)].id, location_id, t.sku_id, t.lot_id, t.lot_code, reason,
                on_hand_delta=-t.quantity if issue else 0, reserved_delta=-t.quantity, unit_cost=t.unit_cost)
        for t in takes
    ]
    _apply(changes, location_codes={location_id: rows[0].location_code}, doc_type=doc_type, doc_ref=doc_ref,
           user_id=user_id)


def stock_release(*, location_id: int, takes: Sequence[LotTake], doc_type: str, doc_ref: str,
                  user_id: int | None) -> None:
    """Give back a reservation (cancel, expiry): reserved −= qty per take.

    Raises ``Conflict`` (``not_reserved``) when a take exceeds what is reserved on its balance."""
    _take_back(location_id=location_id, takes=takes, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id, issue=False)


def stock_issue_reserved(*, location_id: int, takes: Sequence[LotTake], doc_type: str, doc_ref: str,
                         user_id: int | None) -> None:
    """Goods of a reservation leave (fulfilment): on_hand −= qty and reserved −= qty, reason sale.

    The movement carries the take's unit cost (the cost the order recorded when it reserved)."""
    _take_back(location_id=location_id, takes=takes, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id, issue=True)


# --- POS sales -------------------------------------------------------------------------------------

_SELL_FAST_PG = """
WITH v AS (SELECT * FROM unnest(%s::bigint[], %s::integer[]) AS t(sku_id, q)),
l AS MATERIALIZED (
  SELECT s.id FROM {level} s
  WHERE s.location_id = %s AND s.lot_id IS NULL AND s.sku_id = ANY(%s::bigint[])
  ORDER BY s.id FOR UPDATE
)
UPDATE {level} AS s SET on_hand = s.on_hand - v.q
FROM l, v, {sku} k
WHERE s.id = l.id AND v.sku_id = s.sku_id AND k.id = s.sku_id AND NOT k.lot_tracked
RETURNING s.id, s.sku_id, s.on_hand, s.reserved,
  (SELECT c.avg_cost FROM {cost} c WHERE c.location_id = s.location_id AND c.sku_id = s.sku_id),
  (SELECT o.code FROM {location} o WHERE o.id = s.location_id)
"""

_SELL_FAST_SQLITE = """
WITH v(sku_id, q) AS (VALUES {values})
UPDATE {level} SET on_hand = on_hand - v.q
FROM v
WHERE {level}.location_id = %s AND {level}.lot_id IS NULL AND {level}.sku_id = v.sku_id
  AND {level}.sku_id IN (SELECT k.id FROM {sku} k WHERE NOT k.lot_tracked AND k.id IN (SELECT sku_id FROM v))
RETURNING id, sku_id, on_hand, reserved,
  (SELECT c.avg_cost FROM {cost} c WHERE c.location_id = {level}.location_id AND c.sku_id = {level}.sku_id),
  (SELECT o.code FROM {location} o WHERE o.id = {level}.location_id)
"""


def _tables() -> dict[str, str]:
    from mendian.catalog.models import Sku
    from mendian.org.models import Location

    from .models import StockCost

    return {"level": StockLevel._meta.db_table, "sku": Sku._meta.db_table, "cost": StockCost._meta.db_table,
            "location": Location._meta.db_table}


def _sell_fast(location_id: int, per_sku: dict[int, int]) -> list[tuple]:
    """One statement: take the lot-less balances of SKUs that are not lot-tracked, returning the new
    balances, the average cost and the location code. SKUs without such a balance are not returned."""
    skus = list(per_sku)
    with connection.cursor() as cur:
        if settings.IS_POSTGRES:
            cur.execute(_SELL_FAST_PG.format(**_tables()), [skus, [per_sku[s] for s in skus], location_id, skus])
        else:
            params: list[Any] = []
            for s in skus:
                params += [s, per_sku[s]]
            params.append(location_id)
            sql = _SELL_FAST_SQLITE.format(values=", ".join(["(%s, %s)"] * len(skus)), **_tables())
            cur.execute(sql, params)
        return cur.fetchall()


def stock_sell(*, location_id: int, lines: Sequence[StockLine], doc_type: str, doc_ref: str,
               user_id: int | None, refuse_negative: bool = False) -> list[LotTake]:
    """A POS sale: on hand leaves at once. Not refused for book stock unless ``refuse_negative``
    (then ``InsufficientStock``); a balance driven below zero raises an open CountTask.

    Non-lot-tracked SKUs with a balance go through one ``UPDATE … RETURNING`` (with the average cost
    and location code), then one INSERT of the movements and the event (one statement more unless
    the caller buffers it with ``write_batch()``). Lot-tracked SKUs (FEFO; what the lots cannot cover
    goes on the lot-less balance, "lot unknown") and balances that do not exist yet take the general
    path: lock, choose, update.
    """
    per_sku = _check_lines(lines)
    at = timezone.now()
    with transaction.atomic(savepoint=False):
        takes: dict[int, list[LotTake]] = {}
        changes: list[_Change] = []
        known: dict[int, tuple[int, int]] = {}
        codes: dict[int, str] = {}
        negative: set[int] = set()
        rest = dict(per_sku)
        refused: InsufficientStock | None = None
        if not refuse_negative:
            for level_id, sku_id, on_hand, reserved, avg, code in _sell_fast(location_id, per_sku):
                qty = rest.pop(sku_id)
                cost = to_cost(avg)
                codes[location_id] = code
                known[level_id] = (on_hand, reserved)
                takes[sku_id] = [LotTake(sku_id, None, None, qty, cost)]
                changes.append(_Change(level_id, location_id, sku_id, None, None, Reason.SALE, on_hand_delta=-qty,
                                       unit_cost=cost))
                if on_hand < 0:
                    negative.add(sku_id)
        slow: list[_Change] = []
        if rest:
            rows = lock_levels(location_ids=[location_id], sku_ids=rest)
            if rows:
                codes[location_id] = rows[0].location_code
            by_sku = _balances(rows)
            today = _today()
            short: list[ShortLine] = []
            for sku_id, qty in rest.items():
                lvls = by_sku.get(sku_id, [])
                choice = domain.choose_lots([_as_lot_balance(r) for r in lvls], qty, today=today,
                                            allow_negative=not refuse_negative)
                if choice.short:
                    short.append(ShortLine(sku_id=sku_id, requested=qty, available=max(choice.available, 0)))
                    continue
                cost = _avg_of(lvls)
                takes[sku_id] = [LotTake(sku_id, t.lot_id, t.lot_code, t.quantity, cost) for t in choice.takes]
                slow += [_Change(t.level_id, location_id, sku_id, t.lot_id, t.lot_code, Reason.SALE,
                                 on_hand_delta=-t.quantity, unit_cost=cost) for t in choice.takes]
            if short:  # only with refuse_negative, when the fast path was not taken: nothing written yet
                refused = InsufficientStock(short)
        if refused is None:
            _sell_write(location_id, changes, slow, known, codes, negative, doc_type=doc_type, doc_ref=doc_ref,
                        user_id=user_id, at=at)
    if refused is not None:
        raise refused
    return _split_per_line(lines, takes)


def _sell_write(location_id: int, changes: list[_Change], slow: list[_Change], known: dict[int, tuple[int, int]],
                codes: dict[int, str], negative: set[int], *, doc_type: str, doc_ref: str, user_id: int | None,
                at: dt.datetime) -> None:
    if changes:  # fast path rows: already updated, only movements to write
        _ensure_levels(slow)
        deltas: dict[int, tuple[int, int]] = {}
        for c in slow:
            d = deltas.get(c.level_id, (0, 0))
            deltas[c.level_id] = (d[0] + c.on_hand_delta, 0)
        for level_id, (oh, rs) in _update_levels(deltas).items():
            known[level_id] = (oh, rs)
            negative.update(c.sku_id for c in slow if c.level_id == level_id and oh < 0)
        _apply(changes + slow, location_codes=codes, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id, at=at,
               known=known, skip_update=True)
    else:
        applied = _apply(slow, location_codes=codes, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id, at=at)
        negative.update(c.sku_id for c in slow if applied.levels.get(c.level_id, (0, 0))[0] < 0)
    if negative:
        _open_count_tasks(location_id, negative, at=at)


# --- goods coming in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PutLine:
    sku_id: int
    lot_id: int | None
    lot_code: str | None
    quantity: int
    unit_cost: Decimal
    reason: str
    note: str = ""


def _put(*, location_id: int, items: Sequence[_PutLine], doc_type: str, doc_ref: str, user_id: int | None,
         extra_changes: Sequence[_Change] = (), costs: dict | None = None,
         rows: Sequence[LevelRow] | None = None) -> _Applied:
    """Goods in: on hand += qty per item and the moving-average cost per SKU (locks: costs, then levels).

    ``extra_changes`` (other balances, already locked and resolved) are written in the same
    UPDATE/INSERT, e.g. the transit side of a transfer; callers that lock more than this location
    pass ``costs`` and ``rows`` locked in the global order."""
    if costs is None:
        costs = lock_costs(keys=[(location_id, it.sku_id) for it in items])
    if rows is None:
        rows = lock_levels(location_ids=[location_id], sku_ids={it.sku_id for it in items})
    here = [r for r in rows if r.location_id == location_id]
    by_key = {(r.sku_id, r.lot_id): r for r in here}
    on_hand: dict[int, int] = defaultdict(int)
    for r in here:
        on_hand[r.sku_id] += r.on_hand
    changes: list[_Change] = list(extra_changes)
    for it in items:
        c = costs[(location_id, it.sku_id)]
        c.avg_cost = domain.moving_average(on_hand=on_hand[it.sku_id], avg_cost=to_cost(c.avg_cost),
                                           quantity=it.quantity, unit_cost=it.unit_cost)
        on_hand[it.sku_id] += it.quantity
        r = by_key.get((it.sku_id, it.lot_id))
        changes.append(_Change(r.id if r else None, location_id, it.sku_id, it.lot_id, it.lot_code, it.reason,
                               on_hand_delta=it.quantity, unit_cost=to_cost(it.unit_cost), note=it.note))
    codes = {r.location_id: r.location_code for r in rows}
    applied = _apply(changes, location_codes=codes, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id)
    from .models import StockCost

    now = timezone.now()
    for c in costs.values():
        c.updated_at = now
    StockCost.objects.bulk_update(list(costs.values()), ["avg_cost", "updated_at"])
    return applied


def _resolve_lots(lines: Sequence[ReceiptLine]) -> dict[tuple[int, str], tuple[int, str]]:
    """Lots of lot-tracked lines by (SKU, code), created when new; validates the lot rules."""
    from mendian.catalog.models import Sku

    sku_ids = {ln.sku_id for ln in lines}
    flags = dict(Sku.objects.filter(pk__in=sku_ids).values_list("pk", "lot_tracked"))
    if unknown := sku_ids - set(flags):
        raise InvalidInput(f"unknown SKU id(s) {sorted(unknown)}", code="unknown_sku", details={"sku_ids": sorted(unknown)})
    wanted: dict[tuple[int, str], dt.date | None] = {}
    for ln in lines:
        if flags[ln.sku_id] and not ln.lot_code:
            raise InvalidInput("a lot code is required for a lot-tracked SKU", code="lot_required",
                               details={"sku_id": ln.sku_id})
        if not flags[ln.sku_id] and ln.lot_code:
            raise InvalidInput("this SKU is not lot-tracked", code="not_lot_tracked", details={"sku_id": ln.sku_id})
        if ln.lot_code:
            wanted.setdefault((ln.sku_id, ln.lot_code), ln.expiry)
    if not wanted:
        return {}
    Lot.objects.bulk_create([Lot(sku_id=s, code=c, expiry=e) for (s, c), e in sorted(wanted.items())],
                            ignore_conflicts=True)
    found: dict[tuple[int, str], tuple[int, str]] = {}
    for pk, sku_id, code in Lot.objects.filter(sku_id__in={k[0] for k in wanted},
                                               code__in={k[1] for k in wanted}).values_list("pk", "sku_id", "code"):
        if (sku_id, code) in wanted:
            found[(sku_id, code)] = (pk, code)
    return found


def stock_receive(*, location_id: int, lines: Sequence[ReceiptLine], doc_type: str, doc_ref: str,
                  user_id: int | None, reason: str = Reason.RECEIPT) -> None:
    """Goods received (purchase receipt, opening balance): on hand += qty; moving-average cost.

    Lot-tracked SKUs need ``lot_code`` (the lot is created with its expiry when new); other SKUs must
    not have one. The moving average per (location, SKU) becomes (on hand × average + qty × cost) /
    (on hand + qty), or the receipt's cost when nothing was on hand."""
    if not lines:
        raise InvalidInput("no lines", code="no_lines")
    for ln in lines:
        if not isinstance(ln.quantity, int) or ln.quantity <= 0:
            raise InvalidInput("quantities must be positive integers", code="invalid_quantity",
                               details={"sku_id": ln.sku_id, "quantity": ln.quantity})
        if Decimal(ln.unit_cost) < 0:
            raise InvalidInput("unit cost must not be negative", code="invalid_cost", details={"sku_id": ln.sku_id})
    with transaction.atomic(savepoint=False):
        lots = _resolve_lots(lines)
        items = []
        for ln in lines:
            lot_id, lot_code = lots[(ln.sku_id, ln.lot_code)] if ln.lot_code else (None, None)
            items.append(_PutLine(ln.sku_id, lot_id, lot_code, ln.quantity, Decimal(ln.unit_cost), reason))
        _put(location_id=location_id, items=items, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id)


def stock_return(*, location_id: int, takes: Sequence[LotTake], doc_type: str, doc_ref: str,
                 user_id: int | None) -> None:
    """Refunded goods come back into the lots they left, at their recorded cost (reason return).

    The returned goods enter the moving average at the cost the sale recorded."""
    _check_takes(takes)
    with transaction.atomic(savepoint=False):
        items = [_PutLine(t.sku_id, t.lot_id, t.lot_code, t.quantity, to_cost(t.unit_cost), Reason.RETURN) for t in takes]
        _put(location_id=location_id, items=items, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id)


def lost_demand_record(*, location_id: int, items: Sequence[StockLine], channel: str) -> None:
    """Record demand refused for stock (in its own transaction, so that it survives the refusal).

    Call it after the refused transaction has rolled back (outside of it), e.g. in the API handler
    that maps ``InsufficientStock`` to 409."""
    rows = [LostDemand(location_id=location_id, sku_id=i.sku_id, quantity=i.quantity, channel=channel[:16],
                       created_at=timezone.now()) for i in items if i.quantity > 0]
    if rows:
        with transaction.atomic():
            LostDemand.objects.bulk_create(rows)


# --- opening balances (bulk) -----------------------------------------------------------------------


@dataclass(frozen=True)
class OpeningRow:
    location_id: int
    sku_id: int
    quantity: int  # >= 0; 0 creates the balance without a movement
    unit_cost: Decimal  # tax-exclusive
    lot_code: str | None = None
    expiry: dt.date | None = None


@dataclass(frozen=True)
class OpeningResult:
    levels: int
    movements: int
    lots: int


def _bulk_insert(table: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[Any]], *,
                 returning: str = "", conflict: str = "") -> list[tuple]:
    """Insert many rows with no model instances (the bulk paths handle ~10⁵ rows): on PostgreSQL
    ``COPY`` into a temporary table (``types``: the columns' SQL types), then one ``INSERT … SELECT``;
    on SQLite multi-row INSERTs in chunks that fit its parameter limit. Optional RETURNING and
    ON CONFLICT clauses."""
    out: list[tuple] = []
    if not rows:
        return out
    tail = f"{(' ' + conflict) if conflict else ''}{(' RETURNING ' + returning) if returning else ''}"
    cols = ", ".join(columns)
    if settings.IS_POSTGRES:
        tmp = f"_bulk_{table}"
        with connection.cursor() as cur:
            cur.execute(f"CREATE TEMPORARY TABLE {tmp} ("  # noqa: S608
                        + ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True)) + ") ON COMMIT DROP")
            with cur.cursor.copy(f"COPY {tmp} ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp}{tail}")  # noqa: S608
            if returning:
                out = cur.fetchall()
            cur.execute(f"DROP TABLE {tmp}")
        return out
    per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    chunk = max(1, min(5000, 30000 // len(columns)))
    with connection.cursor() as cur:
        for i in range(0, len(rows), chunk):
            part = rows[i: i + chunk]
            sql = f"INSERT INTO {table} ({cols}) VALUES {', '.join([per_row] * len(part))}{tail}"  # noqa: S608
            cur.execute(sql, [v for r in part for v in r])
            if returning:
                out.extend(cur.fetchall())
    return out


def stock_opening_bulk(*, rows: Sequence[OpeningRow], doc_ref: str = "OPENING", user_id: int | None = None,
                       at: dt.datetime | None = None) -> OpeningResult:
    """Opening balances for many (location, SKU[, lot]) rows at once — the move to mendian, the demo.

    A handful of bulk statements whatever the size (``COPY`` on PostgreSQL, multi-row INSERTs of a
    few thousand rows each on SQLite; no model instances): lots (created when new), balances, movements (reason ``opening``), average
    costs (quantity-weighted over the lots of a SKU at a location, upserted) and one ``stock.moved``
    event per location. The balances must not exist yet (``Conflict`` otherwise: use receipts or
    counts on existing stock). No row locks are needed: new rows are invisible to others until the
    commit, and a concurrent creator of the same balance fails on the unique constraint.
    """
    from mendian.catalog.models import Sku
    from mendian.org.models import Location
    from mendian.platform.outbox import outbox_publish

    from .models import StockCost

    if not rows:
        return OpeningResult(0, 0, 0)
    at = at or timezone.now()
    for r in rows:
        if not isinstance(r.quantity, int) or r.quantity < 0 or Decimal(r.unit_cost) < 0:
            raise InvalidInput("opening quantities and costs must not be negative", code="invalid_quantity",
                               details={"location_id": r.location_id, "sku_id": r.sku_id})
    ops = connection.ops
    at_db = ops.adapt_datetimefield_value(at)
    with transaction.atomic(savepoint=False):
        loc_ids = {r.location_id for r in rows}
        sku_ids = {r.sku_id for r in rows}
        codes = dict(Location.objects.filter(pk__in=loc_ids).values_list("pk", "code"))
        if missing := loc_ids - set(codes):
            raise InvalidInput(f"unknown location id(s) {sorted(missing)[:10]}", code="unknown_location")
        if Sku.objects.filter(pk__in=sku_ids).count() != len(sku_ids):
            raise InvalidInput("unknown SKU id(s) in opening rows", code="unknown_sku")
        wanted_lots = {(r.sku_id, r.lot_code): r.expiry for r in rows if r.lot_code}
        lot_ids: dict[tuple[int, str], int] = {}
        if wanted_lots:
            Lot.objects.bulk_create([Lot(sku_id=s, code=c, expiry=e) for (s, c), e in wanted_lots.items()],
                                    ignore_conflicts=True, batch_size=2000)
            lot_skus = {k[0] for k in wanted_lots}
            for pk, s, c in Lot.objects.filter(sku_id__in=lot_skus).values_list("pk", "sku_id", "code"):
                if (s, c) in wanted_lots:
                    lot_ids[(s, c)] = pk
        keys: list[tuple[int, int, int | None]] = []
        seen: set[tuple[int, int, int | None]] = set()
        for r in rows:
            key = (r.location_id, r.sku_id, lot_ids[(r.sku_id, r.lot_code)] if r.lot_code else None)
            if key in seen:
                raise InvalidInput("the same location, SKU and lot twice in the opening rows", code="duplicate_line",
                                   details={"location": codes[key[0]], "sku_id": key[1], "lot": r.lot_code})
            seen.add(key)
            keys.append(key)
        existing = StockLevel.objects.filter(location_id__in=loc_ids, sku_id__in=sku_ids).values_list(
            "location_id", "sku_id", "lot_id")
        for key in existing:
            if key in seen:
                raise Conflict("an opening balance exists already for this location, SKU and lot",
                               code="opening_exists", details={"location": codes[key[0]], "sku_id": key[1],
                                                               "lot_id": key[2]})
        level_ids = {
            (loc, sku, lot): pk for pk, loc, sku, lot in _bulk_insert(
                StockLevel._meta.db_table, ["location_id", "sku_id", "lot_id", "on_hand", "reserved"],
                ["bigint", "bigint", "bigint", "integer", "integer"], [(k[0], k[1], k[2], r.quantity, 0) for k, r in zip(keys, rows, strict=True)],
                returning="id, location_id, sku_id, lot_id")
        }
        moving = [(k, r) for k, r in zip(keys, rows, strict=True) if r.quantity]
        mov_rows = [(level_ids[k], k[0], k[1], k[2], Reason.OPENING, r.quantity, 0,
                     str(to_cost(r.unit_cost)), "", "", "opening", doc_ref, user_id, at_db) for k, r in moving]
        mov_ids = dict((lvl, pk) for pk, lvl in _bulk_insert(
            StockMovement._meta.db_table, [c.strip() for c in _INSERT_COLUMNS.split(",")],
            ["bigint", "bigint", "bigint", "bigint", "varchar", "integer", "integer", "numeric", "varchar", "varchar",
             "varchar", "varchar", "bigint", "timestamptz"], mov_rows,
            returning="id, level_id"))
        value: dict[tuple[int, int], list] = {}
        for r in rows:
            v = value.setdefault((r.location_id, r.sku_id), [0, Decimal(0), Decimal(r.unit_cost)])
            v[0] += r.quantity
            v[1] += Decimal(r.quantity) * Decimal(r.unit_cost)
        _bulk_insert(StockCost._meta.db_table, ["location_id", "sku_id", "avg_cost", "updated_at"],
                     ["bigint", "bigint", "numeric", "timestamptz"], [(loc, sku, str(to_cost(tv / q if q else last)), at_db) for (loc, sku), (q, tv, last) in value.items()],
                     conflict="ON CONFLICT (location_id, sku_id) DO UPDATE SET avg_cost = EXCLUDED.avg_cost, "
                              "updated_at = EXCLUDED.updated_at")
        lot_code_of = {v: k[1] for k, v in lot_ids.items()}
        per_loc: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for k, r in moving:
            per_loc[k[0]].append({
                "id": mov_ids[level_ids[k]], "sku_id": k[1], "lot_id": k[2], "lot": lot_code_of.get(k[2]),
                "reason": Reason.OPENING.value, "on_hand_delta": r.quantity, "reserved_delta": 0,
                "unit_cost": str(to_cost(r.unit_cost))})
        for loc_id in sorted(per_loc):
            outbox_publish(topic=TOPIC, partition=codes[loc_id], payload={
                "location": codes[loc_id], "doc_type": "opening", "doc_ref": doc_ref, "movements": per_loc[loc_id]})
    return OpeningResult(levels=len(keys), movements=len(moving), lots=len(lot_ids))


# --- ledger check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerReport:
    levels: int
    movements: int
    problems: list[domain.Problem]


def stock_ledger_report() -> LedgerReport:
    """Every balance against the sums of its movements: two aggregate queries, compared in memory."""
    from django.db.models import Count, Sum

    sums: dict[int, tuple[int, int]] = {}
    n_movements = 0
    for row in StockMovement.objects.values("level_id").order_by().annotate(
            oh=Sum("on_hand_delta"), rs=Sum("reserved_delta"), n=Count("id")):
        sums[row["level_id"]] = (row["oh"] or 0, row["rs"] or 0)
        n_movements += row["n"]
    n_levels = 0

    def balances() -> Iterable[domain.BookBalance]:
        nonlocal n_levels
        for pk, loc, sku, lot, oh, rs in StockLevel.objects.order_by("pk").values_list(
                "pk", "location__code", "sku__code", "lot__code", "on_hand", "reserved").iterator(chunk_size=5000):
            n_levels += 1
            yield domain.BookBalance(pk, loc, sku, lot, oh, rs)

    problems = domain.compare_ledger(balances(), sums)
    return LedgerReport(levels=n_levels, movements=n_movements, problems=problems)


def stock_ledger_check() -> list[domain.Problem]:
    """The balances that differ from the sums of their movements (empty when the ledger holds)."""
    return stock_ledger_report().problems


# --- adjustments and counts ------------------------------------------------------------------------


@dataclass(frozen=True)
class AdjustmentResult:
    location_code: str
    sku_code: str
    delta: int
    reason: str
    note: str
    on_hand: int  # after, summed over lots
    reserved: int
    takes: list[LotTake]


def _sku_info(sku_ids: Iterable[int]) -> dict[int, tuple[str, bool]]:
    from mendian.catalog.models import Sku

    ids = set(sku_ids)
    info = {pk: (code, lt) for pk, code, lt in Sku.objects.filter(pk__in=ids).values_list("pk", "code", "lot_tracked")}
    if unknown := ids - set(info):
        raise InvalidInput(f"unknown SKU id(s) {sorted(unknown)}", code="unknown_sku", details={"sku_ids": sorted(unknown)})
    return info


def _lot_id(sku_id: int, lot_code: str) -> int:
    pk = Lot.objects.filter(sku_id=sku_id, code=lot_code).values_list("pk", flat=True).first()
    if pk is None:
        raise InvalidInput(f"unknown lot {lot_code!r} for this SKU", code="unknown_code",
                           details={"field": "lot", "value": lot_code})
    return pk


def _uid(user: Any) -> int | None:
    if user is None:
        return None
    if isinstance(user, int):
        return user
    return getattr(user, "pk", None)


def stock_adjust(*, location_id: int, sku_id: int, delta: int, reason: str, note: str, user: Any,
                 lot_code: str | None = None, doc_ref: str = "") -> AdjustmentResult:
    """A stock adjustment (damage, theft, found goods, a correction…), audited.

    ``reason`` is one of ``domain.ADJUSTMENT_REASONS`` (else 422); it is kept on the movement as its
    ``cause`` (movement reason ``adjustment``). A positive delta goes onto ``lot_code``, else the
    latest-expiry lot of a lot-tracked SKU, else the lot-less balance. A negative delta comes off
    ``lot_code``, else the lots earliest expiry first, and cannot take on hand below zero (409
    ``insufficient_stock``): stock that is not in the book is settled by a count.
    """
    if reason not in domain.ADJUSTMENT_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(domain.ADJUSTMENT_REASONS)}", code="invalid_reason",
                           details={"field": "reason", "value": reason})
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidInput("delta must be a non-zero integer", code="invalid_quantity", details={"field": "delta"})
    refused: InsufficientStock | None = None
    with transaction.atomic(savepoint=False):
        sku_code, _lot_tracked = _sku_info([sku_id])[sku_id]
        lot_id = _lot_id(sku_id, lot_code) if lot_code else None
        rows = lock_levels(location_ids=[location_id], sku_ids=[sku_id])
        code = rows[0].location_code if rows else _location_code(location_id)
        cost = _avg_of(rows)
        balances = [_as_lot_balance(r) for r in rows]
        if lot_id is not None:
            balances = [b for b in balances if b.lot_id == lot_id] or [
                domain.LotBalance(None, lot_id, lot_code, None, 0, 0)]
        before = (sum(r.on_hand for r in rows), sum(r.reserved for r in rows))
        if delta > 0:
            lots = [b for b in balances if b.lot_id is not None]
            target = max(lots, key=domain.fefo_key) if lots else next(
                (b for b in balances if b.lot_id is None), domain.LotBalance(None, None, None, None, 0, 0))
            picks = [domain.Take(target.level_id, target.lot_id, target.lot_code, delta)]
        else:
            physical = [domain.LotBalance(b.level_id, b.lot_id, b.lot_code, b.expiry, b.on_hand, 0) for b in balances]
            choice = domain.choose_lots(physical, -delta) if physical else domain.LotChoice([], -delta, 0)
            if choice.short:
                refused = InsufficientStock([ShortLine(sku_id=sku_id, requested=-delta,
                                                       available=max(choice.available, 0))],
                                            message="an adjustment cannot take on hand below zero")
            picks = choice.takes
        if refused is None:
            after = _adjust_write(location_id, sku_id, code, sku_code, cost, picks, before, delta=delta, reason=reason,
                                  note=note, user=user, doc_ref=doc_ref)
    if refused is not None:  # raised outside the block: nothing written, the caller's transaction usable
        raise refused
    return AdjustmentResult(code, sku_code, delta, reason, note or "", after[0], after[1],
                            [LotTake(sku_id, t.lot_id, t.lot_code, t.quantity, cost) for t in picks])


def _adjust_write(location_id: int, sku_id: int, code: str, sku_code: str, cost: Decimal, picks: list[domain.Take],
                  before: tuple[int, int], *, delta: int, reason: str, note: str, user: Any,
                  doc_ref: str) -> tuple[int, int]:
    from mendian.platform.audit import audit_record

    sign = 1 if delta > 0 else -1
    changes = [_Change(t.level_id, location_id, sku_id, t.lot_id, t.lot_code, Reason.ADJUSTMENT,
                       on_hand_delta=sign * t.quantity, unit_cost=cost, note=note or "", cause=reason)
               for t in picks]
    _apply(changes, location_codes={location_id: code}, doc_type="adjustment", doc_ref=doc_ref, user_id=_uid(user))
    after = (before[0] + delta, before[1])
    audit_record(actor=user, action="stock.adjust", object_type="stock", object_ref=f"{code}/{sku_code}",
                 before={"on_hand": before[0], "reserved": before[1]},
                 after={"on_hand": after[0], "reserved": after[1], "delta": delta, "reason": reason,
                        "note": note, "lots": [{"lot": t.lot_code, "quantity": sign * t.quantity} for t in picks]})
    return after


def stock_count_record(*, location_id: int, lines: Sequence[tuple], user: Any, note: str = "") -> Any:
    """Record a stock count (盘点): each line ``(sku_id, counted)`` or ``(sku_id, counted, lot_code)``.

    Book quantities are read under lock; the variance (counted − book) becomes ``count`` movements.
    A count of a whole lot-tracked SKU is spread over its lots by ``domain.distribute_count``.
    Open count tasks of the counted SKUs at the location are closed. Returns the ``StockCount``
    (number ``CNT-<location>-<yyyymmdd>-<random>``) with its lines saved (also on
    ``.recorded_lines``); audited.
    """
    import secrets

    from mendian.platform.audit import audit_record

    from .models import StockCount, StockCountLine

    if not lines:
        raise InvalidInput("no lines", code="no_lines")
    parsed: list[tuple[int, int, str | None]] = []
    seen: set[tuple[int, str | None]] = set()
    for ln in lines:
        sku_id, counted = ln[0], ln[1]
        lot_code = ln[2] if len(ln) > 2 else None
        if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
            raise InvalidInput("counted quantities must be integers of zero or more", code="invalid_quantity",
                               details={"sku_id": sku_id, "counted": counted})
        if (sku_id, lot_code) in seen:
            raise InvalidInput("a SKU is counted twice", code="duplicate_line", details={"sku_id": sku_id})
        seen.add((sku_id, lot_code))
        parsed.append((sku_id, counted, lot_code))
    at = timezone.now()
    with transaction.atomic(savepoint=False):
        info = _sku_info(p[0] for p in parsed)
        lot_ids = {(s, lc): _lot_id(s, lc) for s, _c, lc in parsed if lc}
        rows = lock_levels(location_ids=[location_id], sku_ids=info)
        code = rows[0].location_code if rows else _location_code(location_id)
        by_sku = _balances(rows)
        count = StockCount.objects.create(
            number=f"CNT-{code}-{timezone.localdate(at):%Y%m%d}-{secrets.token_hex(3)}", location_id=location_id,
            created_by_id=_uid(user), created_at=at, note=(note or "")[:200])
        changes: list[_Change] = []
        count_lines: list[StockCountLine] = []
        for sku_id, counted, lot_code in parsed:
            lvls = by_sku.get(sku_id, [])
            cost = _avg_of(lvls)
            balances = [_as_lot_balance(r) for r in lvls]
            if lot_code:
                lid = lot_ids[(sku_id, lot_code)]
                balances = [b for b in balances if b.lot_id == lid] or [domain.LotBalance(None, lid, lot_code, None, 0, 0)]
                plan = [(balances[0], counted)]
            else:
                plan = domain.distribute_count(balances, counted)
            book = sum(b.on_hand for b in balances)
            count_lines.append(StockCountLine(count=count, sku_id=sku_id, lot_id=lot_ids.get((sku_id, lot_code)),
                                              book_qty=book, counted_qty=counted, variance=counted - book))
            changes += [_Change(b.level_id, location_id, sku_id, b.lot_id, b.lot_code, Reason.COUNT,
                                on_hand_delta=new - b.on_hand, unit_cost=cost) for b, new in plan if new != b.on_hand]
        StockCountLine.objects.bulk_create(count_lines)
        _apply(changes, location_codes={location_id: code}, doc_type="count", doc_ref=count.number, user_id=_uid(user),
               at=at)
        CountTask.objects.filter(location_id=location_id, sku_id__in=list(info), status=CountTask.Status.OPEN).update(
            status=CountTask.Status.DONE, done_at=at)
        audit_record(actor=user, action="stock.count", object_type="stock_count", object_ref=count.number,
                     after={"location": code, "note": count.note, "lines": [
                         {"sku": info[cl.sku_id][0], "lot": lc, "book": cl.book_qty, "counted": cl.counted_qty,
                          "variance": cl.variance} for cl, (_s, _c, lc) in zip(count_lines, parsed, strict=True)]})
    count.recorded_lines = count_lines
    return count


# --- transfers -------------------------------------------------------------------------------------


def stock_transfer_ship(*, from_location_id: int, transit_location_id: int, lines: Sequence[StockLine],
                        doc_ref: str, user_id: int | None, doc_type: str = "transfer") -> list[LotTake]:
    """Ship a transfer: goods leave the sender (``transfer_out``) into an in-transit location
    (``transfer_in``), lot by lot (FEFO, expired lots are not shipped), at the sender's average cost.

    Guarded on the sender's available stock, all-or-nothing: ``InsufficientStock`` naming every short
    line. Returns the takes (per line, input order): keep them, ``stock_transfer_receive`` needs them.
    """
    per_sku = _check_lines(lines)
    if from_location_id == transit_location_id:
        raise InvalidInput("sender and transit location must differ", code="same_location")
    with transaction.atomic(savepoint=False):
        costs = lock_costs(keys=[(transit_location_id, s) for s in per_sku])
        rows = lock_levels(location_ids=[from_location_id, transit_location_id], sku_ids=per_sku)
        sender = [r for r in rows if r.location_id == from_location_id]
        by_sku = _balances(sender)
        today = _today()
        short: list[ShortLine] = []
        out_changes: list[_Change] = []
        items: list[_PutLine] = []
        takes: dict[int, list[LotTake]] = {}
        for sku_id, qty in per_sku.items():
            lvls = by_sku.get(sku_id, [])
            choice = domain.choose_lots([_as_lot_balance(r) for r in lvls], qty, today=today)
            if choice.short:
                short.append(ShortLine(sku_id=sku_id, requested=qty, available=max(choice.available, 0)))
                continue
            cost = _avg_of(lvls)
            takes[sku_id] = [LotTake(sku_id, t.lot_id, t.lot_code, t.quantity, cost) for t in choice.takes]
            for t in choice.takes:
                out_changes.append(_Change(t.level_id, from_location_id, sku_id, t.lot_id, t.lot_code,
                                           Reason.TRANSFER_OUT, on_hand_delta=-t.quantity, unit_cost=cost))
                items.append(_PutLine(sku_id, t.lot_id, t.lot_code, t.quantity, cost, Reason.TRANSFER_IN))
        if not short:
            _put(location_id=transit_location_id, items=items, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id,
                 extra_changes=out_changes, costs=costs, rows=rows)
    if short:
        raise InsufficientStock(short)
    return _split_per_line(lines, takes)


@dataclass(frozen=True)
class TransferReceipt:
    received: list[LotTake]  # into the destination
    short: list[LotTake]  # never arrived: written off at the transit location (adjustment, cause short)
    damaged: list[LotTake]  # arrived unsellable: written off at the transit location (adjustment, cause damage)


def _qty_map(m: Mapping | None) -> dict[tuple[int, int | None], int] | None:
    if m is None:
        return None
    out: dict[tuple[int, int | None], int] = {}
    for k, v in m.items():
        key = (k, None) if isinstance(k, int) else (k[0], k[1])
        if not isinstance(v, int) or v < 0:
            raise InvalidInput("received and damaged quantities must be integers of zero or more",
                               code="invalid_quantity", details={"sku_id": key[0], "lot_id": key[1]})
        out[key] = out.get(key, 0) + v
    return out


def stock_transfer_receive(*, transit_location_id: int, to_location_id: int, takes: Sequence[LotTake],
                           received: Mapping | None = None, damaged: Mapping | None = None, doc_ref: str,
                           user_id: int | None, doc_type: str = "transfer") -> TransferReceipt:
    """Receive a shipped transfer at its destination, recording discrepancies.

    ``takes``: what ``stock_transfer_ship`` returned (shipped per SKU and lot, at the sender's cost).
    ``received``: good quantities that arrived, keyed ``(sku_id, lot_id)`` (or ``sku_id`` for
    lot-less goods); ``None`` = everything shipped that is not ``damaged``. ``damaged``: quantities
    that arrived unsellable, same keys. Per key: short = shipped − received − damaged, which must not be
    negative (422 ``over_receipt``).

    Movements: at the transit location ``transfer_out`` of the received quantity, and ``adjustment``
    write-offs with cause ``short`` and ``damage``; at the destination ``transfer_in`` of the received
    quantity at the shipped cost (moving average updated). Raises ``Conflict`` (``not_in_transit``)
    when the transit location does not hold what is being received. Returns a ``TransferReceipt``.
    """
    _check_takes(takes)
    if transit_location_id == to_location_id:
        raise InvalidInput("transit and destination must differ", code="same_location")
    shipped: dict[tuple[int, int | None], int] = defaultdict(int)
    meta: dict[tuple[int, int | None], LotTake] = {}
    for t in takes:
        shipped[(t.sku_id, t.lot_id)] += t.quantity
        meta.setdefault((t.sku_id, t.lot_id), t)
    dmg = _qty_map(damaged) or {}
    rec = _qty_map(received)
    if rec is None:
        rec = {k: max(q - dmg.get(k, 0), 0) for k, q in shipped.items()}
    for k in set(rec) | set(dmg):
        if k not in shipped:
            raise InvalidInput("received or damaged goods that were not shipped", code="not_shipped",
                               details={"sku_id": k[0], "lot_id": k[1]})
    out_received: list[LotTake] = []
    out_short: list[LotTake] = []
    out_damaged: list[LotTake] = []
    for k, q in shipped.items():
        r, d = rec.get(k, 0), dmg.get(k, 0)
        if r + d > q:
            raise InvalidInput("more received than shipped", code="over_receipt",
                               details={"sku_id": k[0], "lot_id": k[1], "shipped": q, "received": r, "damaged": d})
        t = meta[k]
        for qty, bucket in ((r, out_received), (q - r - d, out_short), (d, out_damaged)):
            if qty:
                bucket.append(LotTake(t.sku_id, t.lot_id, t.lot_code, qty, to_cost(t.unit_cost)))
    with transaction.atomic(savepoint=False):
        sku_ids = {k[0] for k in shipped}
        costs = lock_costs(keys=[(to_location_id, s) for s in sku_ids])
        rows = lock_levels(location_ids=[transit_location_id, to_location_id], sku_ids=sku_ids)
        transit = {(r.sku_id, r.lot_id): r for r in rows if r.location_id == transit_location_id}
        refused: Conflict | None = None
        for k, q in shipped.items():
            lv = transit.get(k)
            if lv is None or lv.on_hand < q:
                refused = Conflict("the transit location does not hold these goods", code="not_in_transit",
                                   details={"sku_id": k[0], "lot_id": k[1], "quantity": q,
                                            "in_transit": lv.on_hand if lv else 0})
                break
        if refused is None:
            _transfer_receive_write(transit_location_id, to_location_id, transit, out_received, out_short, out_damaged,
                                    costs, rows, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id)
    if refused is not None:
        raise refused
    return TransferReceipt(received=out_received, short=out_short, damaged=out_damaged)


def _transfer_receive_write(transit_location_id: int, to_location_id: int, transit: dict, out_received: list[LotTake],
                            out_short: list[LotTake], out_damaged: list[LotTake], costs: dict,
                            rows: Sequence[LevelRow], *, doc_type: str, doc_ref: str, user_id: int | None) -> None:
    transit_changes: list[_Change] = []
    for bucket, reason, cause in ((out_received, Reason.TRANSFER_OUT, ""), (out_short, Reason.ADJUSTMENT, "short"),
                                  (out_damaged, Reason.ADJUSTMENT, "damage")):
        for t in bucket:
            transit_changes.append(_Change(transit[(t.sku_id, t.lot_id)].id, transit_location_id, t.sku_id, t.lot_id,
                                           t.lot_code, reason, on_hand_delta=-t.quantity, unit_cost=t.unit_cost,
                                           cause=cause, note=f"transfer {doc_ref} {cause}" if cause else ""))
    items = [_PutLine(t.sku_id, t.lot_id, t.lot_code, t.quantity, t.unit_cost, Reason.TRANSFER_IN) for t in out_received]
    if items:
        _put(location_id=to_location_id, items=items, doc_type=doc_type, doc_ref=doc_ref, user_id=user_id,
             extra_changes=transit_changes, costs=costs, rows=rows)
    else:
        _apply(transit_changes, location_codes={r.location_id: r.location_code for r in rows}, doc_type=doc_type,
               doc_ref=doc_ref, user_id=user_id)
