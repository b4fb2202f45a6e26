"""Pure rules of the stock ledger: FEFO lot choice, moving-average cost, count distribution, ledger
comparison. Plain dataclasses and functions; no Django, no I/O (tested without a database).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

COST_PLACES = Decimal("0.0001")

ADJUSTMENT_REASONS: tuple[str, ...] = ("correction", "damage", "theft", "found", "expired", "other")


@dataclass(frozen=True)
class LotBalance:
    """One balance of a SKU at a location: a lot, or the lot-less row (``lot_id`` None).

    ``level_id`` None means the row does not exist yet (it is created when something is put on it).
    """

    level_id: int | None
    lot_id: int | None
    lot_code: str | None
    expiry: dt.date | None
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class Take:
    """A quantity taken from one balance."""

    level_id: int | None
    lot_id: int | None
    lot_code: str | None
    quantity: int


@dataclass(frozen=True)
class LotChoice:
    takes: list[Take]
    short: int  # the quantity that could not be covered by available stock (0 when covered)
    available: int  # sellable available over the balances considered


def fefo_key(b: LotBalance) -> tuple:
    """Earliest expiry first; lots without expiry after dated lots; the lot-less row last."""
    return (b.lot_id is None, b.expiry is None, b.expiry or dt.date.max, b.lot_id or 0, b.level_id or 0)


def is_expired(b: LotBalance, today: dt.date | None) -> bool:
    return today is not None and b.expiry is not None and b.expiry < today


def choose_lots(balances: Sequence[LotBalance], quantity: int, *, allow_negative: bool = False,
                today: dt.date | None = None) -> LotChoice:
    """Choose which balances a quantity is taken from, earliest expiry first (FEFO).

    Only available stock (on hand − reserved, never below zero) is taken, and lots expired before
    ``today`` are skipped. What cannot be covered is ``short``; with ``allow_negative`` (a POS sale:
    the goods are physically at the till) the remainder is put on the lot-less balance (created if
    missing), which then goes below zero and is settled by a count.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    remaining = quantity
    takes: list[Take] = []
    sellable = [b for b in sorted(balances, key=fefo_key) if not is_expired(b, today)]
    available = sum(max(b.available, 0) for b in sellable)
    for b in sellable:
        if remaining == 0:
            break
        q = min(remaining, max(b.available, 0))
        if q > 0:
            takes.append(Take(b.level_id, b.lot_id, b.lot_code, q))
            remaining -= q
    if remaining and allow_negative:
        lotless = next((b for b in balances if b.lot_id is None), None)
        level_id = lotless.level_id if lotless else None
        for i, t in enumerate(takes):
            if t.lot_id is None:
                takes[i] = Take(t.level_id, None, None, t.quantity + remaining)
                break
        else:
            takes.append(Take(level_id, None, None, remaining))
        remaining = 0
    return LotChoice(takes=takes, short=remaining, available=available)


def moving_average(*, on_hand: int, avg_cost: Decimal, quantity: int, unit_cost: Decimal) -> Decimal:
    """Moving-average unit cost after receiving ``quantity`` at ``unit_cost`` onto ``on_hand``.

    When nothing (or less than nothing) is on hand, the old average no longer describes any goods and
    the incoming cost becomes the average.
    """
    if quantity <= 0:
        return avg_cost.quantize(COST_PLACES, ROUND_HALF_UP)
    if on_hand <= 0:
        return Decimal(unit_cost).quantize(COST_PLACES, ROUND_HALF_UP)
    total = Decimal(on_hand) * avg_cost + Decimal(quantity) * Decimal(unit_cost)
    return (total / Decimal(on_hand + quantity)).quantize(COST_PLACES, ROUND_HALF_UP)


def distribute_count(balances: Sequence[LotBalance], counted: int) -> list[tuple[LotBalance, int]]:
    """Spread a counted quantity of a whole SKU over its balances; returns (balance, new on hand).

    Sales take earliest expiry first, so what is left on the shelf is the latest lots: the count
    fills balances from the latest expiry backwards, each up to its book on hand, and puts any
    surplus on the latest lot (or the lot-less balance when there are no lots). The lot-less
    balance (unknown lot) ends at zero whenever there are lots to hold the quantity.
    """
    if counted < 0:
        raise ValueError("counted must not be negative")
    lots = sorted((b for b in balances if b.lot_id is not None), key=fefo_key, reverse=True)
    lotless = [b for b in balances if b.lot_id is None]
    order = lots + lotless
    if not order:
        order = [LotBalance(None, None, None, None, 0, 0)]
    new: list[int] = []
    remaining = counted
    for b in order:
        q = min(remaining, max(b.on_hand, 0))
        new.append(q)
        remaining -= q
    new[0] += remaining
    return list(zip(order, new, strict=True))


@dataclass(frozen=True)
class BookBalance:
    level_id: int
    location_code: str
    sku_code: str
    lot_code: str | None
    on_hand: int
    reserved: int


@dataclass(frozen=True)
class Problem:
    """A balance that differs from the sum of its movements."""

    level_id: int
    location_code: str
    sku_code: str
    lot_code: str | None
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int

    def describe(self) -> str:
        lot = f" lot {self.lot_code}" if self.lot_code else ""
        return (f"{self.location_code} {self.sku_code}{lot}: on hand {self.on_hand} vs ledger {self.ledger_on_hand}, "
                f"reserved {self.reserved} vs ledger {self.ledger_reserved}")


def compare_ledger(balances: Iterable[BookBalance], sums: dict[int, tuple[int, int]]) -> list[Problem]:
    """Every balance must equal the sums (on hand, reserved) of its movements."""
    problems = []
    for b in balances:
        oh, rs = sums.get(b.level_id, (0, 0))
        if oh != b.on_hand or rs != b.reserved:
            problems.append(Problem(b.level_id, b.location_code, b.sku_code, b.lot_code, b.on_hand, b.reserved, oh, rs))
    return problems
