"""Exact money: Decimal with two places (yuan.fen), rounded half-up to the fen. Never float."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: Decimal | int | str) -> Decimal:
    """Round to the fen, half-up. Refuses float: money must never pass through binary floating point."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def money_str(value: Decimal) -> str:
    return str(to_money(value))


def line_amount(unit_price: Decimal, quantity: int, price_unit_qty: int = 1) -> Decimal:
    """Amount of ``quantity`` base units at ``unit_price`` per ``price_unit_qty`` base units.

    Goods sold by weight keep quantities in grams and prices per kilogram (``price_unit_qty=1000``).
    """
    return to_money(Decimal(unit_price) * quantity / price_unit_qty)


def tax_included(amount: Decimal, vat_rate: Decimal) -> Decimal:
    """VAT contained in a tax-inclusive amount; ``vat_rate`` in percent (13 means 13%)."""
    rate = Decimal(vat_rate) / 100
    return to_money(Decimal(amount) * rate / (1 + rate))


def allocate(total: Decimal, weights: Sequence[Decimal | int]) -> list[Decimal]:
    """Split ``total`` over ``weights`` in fen so that the parts sum exactly to ``total``.

    Largest-remainder method: each part gets its floor share, then the fen left over go to the
    parts with the largest remainders (ties to the earlier part). Used for discounts over lines
    and for refunds over tenders.
    """
    total = to_money(total)
    weights = [Decimal(w) for w in weights]
    if not weights:
        return []
    wsum = sum(weights)
    total_fen = int(total * 100)
    if wsum == 0:
        parts = [0] * len(weights)
        parts[0] = total_fen
        return [Decimal(p) / 100 for p in parts]
    raw = [Decimal(total_fen) * w / wsum for w in weights]
    floors = [int(r) if r >= 0 else -int(-r) for r in raw]
    left = total_fen - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(abs(raw[i] - floors[i])), i))
    step = 1 if left >= 0 else -1
    for i in order[: abs(left)]:
        floors[i] += step
    return [(Decimal(p) / 100).quantize(FEN) for p in floors]


def money_sum(values: Iterable[Decimal]) -> Decimal:
    return to_money(sum(values, ZERO))
