"""Integer fen arithmetic for the engine's inner loop (exact, fast); Decimal only at the edges."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

RATE_ONE = 10000  # rates are kept in basis points: 0.85 -> 8500


@lru_cache(maxsize=1 << 16)
def to_fen(value: Decimal | int | str) -> int:
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return int((Decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@lru_cache(maxsize=1 << 16)
def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def to_bp(rate: Decimal | str) -> int:
    """A rate to pay (0.8 = 八折) in basis points, exactly (rates finer than 0.0001 are refused)."""
    bp = Decimal(rate) * RATE_ONE
    if bp != bp.to_integral_value() or not 0 <= bp <= RATE_ONE:
        raise ValueError(f"rate must be between 0 and 1 with at most 4 decimals: {rate}")
    return int(bp)


def div_half_up(num: int, den: int) -> int:
    """round(num / den) half-up, for num >= 0 and den > 0."""
    return (2 * num + den) // (2 * den)


def line_fen(price_fen: int, quantity: int, price_unit_qty: int = 1) -> int:
    """Amount of ``quantity`` base units at ``price_fen`` per ``price_unit_qty`` units, half-up."""
    if price_unit_qty == 1:
        return price_fen * quantity
    return div_half_up(price_fen * quantity, price_unit_qty)


def rate_off(amount_fen: int, rate_bp: int) -> int:
    """The discount of paying ``rate_bp`` of ``amount_fen``: amount - round_half_up(amount * rate)."""
    return amount_fen - div_half_up(amount_fen * rate_bp, RATE_ONE)


def allocate_fen(total: int, weights: list[int]) -> list[int]:
    """Largest remainder in integer fen (same rule as mendian.core.money.allocate: ties to the earlier
    part). With weights = the lines' remaining amounts and total <= sum(weights), no part exceeds its
    weight."""
    n = len(weights)
    if n == 0:
        return []
    wsum = sum(weights)
    if wsum == 0:
        parts = [0] * n
        parts[0] = total
        return parts
    floors = [total * w // wsum for w in weights]
    left = total - sum(floors)
    if left:
        rems = sorted(range(n), key=lambda i: (-((total * weights[i]) % wsum), i))
        for i in rems[:left]:
            floors[i] += 1
    return floors
