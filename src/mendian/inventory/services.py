"""Write use-cases of the stock ledger. Every change of a balance writes one StockMovement in the
same transaction. Other contexts (sales, purchasing, transfers) change stock only through these.

CONTRACT (agreed between the inventory and sales work; bodies are being implemented):
every function is one transaction (``transaction.atomic(savepoint=False)`` so that callers that
already hold a transaction pay no SAVEPOINT statements), takes ids not model instances where the
hot path matters, and publishes one outbox event ``stock.moved`` (partition = location code) per
call through ``mendian.platform.outbox.outbox_publish``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


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


def stock_reserve(*, location_id: int, lines: Sequence[StockLine], doc_type: str, doc_ref: str,
                  user_id: int | None) -> list[LotTake]:
    """Reserve all lines or none (online orders). FEFO across lots for lot-tracked SKUs.

    Guarded on available (on_hand − reserved); never oversells, never deadlocks (rows in a fixed
    order). Raises ``InsufficientStock(lines=[ShortLine(sku_id, requested, available)])`` naming every
    short line; writes nothing then.
    """
    raise NotImplementedError


def stock_release(*, location_id: int, takes: Sequence[LotTake], doc_type: str, doc_ref: str,
                  user_id: int | None) -> None:
    """Give back a reservation (cancel, expiry): reserved −= qty per take."""
    raise NotImplementedError


def stock_issue_reserved(*, location_id: int, takes: Sequence[LotTake], doc_type: str, doc_ref: str,
                         user_id: int | None) -> None:
    """Goods of a reservation leave (fulfilment): on_hand −= qty and reserved −= qty, reason sale."""
    raise NotImplementedError


def stock_sell(*, location_id: int, lines: Sequence[StockLine], doc_type: str, doc_ref: str,
               user_id: int | None, refuse_negative: bool = False) -> list[LotTake]:
    """A POS sale: on hand leaves at once. Not refused for book stock unless ``refuse_negative``
    (then ``InsufficientStock``); a balance driven below zero raises an open CountTask."""
    raise NotImplementedError


def stock_return(*, location_id: int, takes: Sequence[LotTake], doc_type: str, doc_ref: str,
                 user_id: int | None) -> None:
    """Refunded goods come back into the lots they left, at their recorded cost (reason return)."""
    raise NotImplementedError


def stock_receive(*, location_id: int, lines: Sequence[ReceiptLine], doc_type: str, doc_ref: str,
                  user_id: int | None) -> None:
    """Goods received (purchase receipt, opening balance): on hand += qty; moving-average cost."""
    raise NotImplementedError


def lost_demand_record(*, location_id: int, items: Sequence[StockLine], channel: str) -> None:
    """Record demand refused for stock (in its own transaction, so that it survives the refusal)."""
    raise NotImplementedError
