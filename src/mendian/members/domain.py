"""Pure membership rules: masking, tiers and growth value, points earn / expiry / FIFO / clawback.

No Django here: plain values in, plain values out (Decimal money, integer points).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalise_mobile(raw: str) -> str | None:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86 / 86 prefix dropped), or None."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if MOBILE_RE.match(digits) else None


def mask_mobile(mobile: str) -> str:
    """``13812341234`` → ``138****1234``; anything shorter than 8 characters is masked whole."""
    if len(mobile) < 8:
        return "*" * len(mobile)
    return f"{mobile[:3]}{'*' * (len(mobile) - 7)}{mobile[-4:]}"


# ---- tiers and growth value -------------------------------------------------------------------


@dataclass(frozen=True)
class TierDef:
    code: str
    threshold: int          # growth value needed (over the trailing window)


def growth_for_amount(amount: Decimal) -> int:
    """One growth point per whole yuan paid (refunds and fractions earn nothing)."""
    return max(0, int(Decimal(amount).to_integral_value(rounding=ROUND_DOWN)))


def tier_for_growth(tiers: Sequence[TierDef], growth: int) -> str:
    """The highest tier whose threshold ``growth`` reaches ('' when none, e.g. no tiers defined)."""
    reached = [t for t in tiers if growth >= t.threshold]
    if not reached:
        return ""
    return max(reached, key=lambda t: (t.threshold, t.code)).code


def tier_rank(tiers: Sequence[TierDef], code: str) -> int:
    """Position of ``code`` by threshold (the lowest tier 0; unknown or '' is -1)."""
    ordered = sorted(tiers, key=lambda t: (t.threshold, t.code))
    for i, t in enumerate(ordered):
        if t.code == code:
            return i
    return -1


@dataclass(frozen=True)
class TierDecision:
    new_tier: str
    change: str     # "upgrade" | "downgrade" | "" (unchanged)


def tier_on_growth(tiers: Sequence[TierDef], current: str, window_growth: int) -> TierDecision:
    """After spend: upgrade at once when the trailing growth reaches a higher tier; never downgrade here."""
    target = tier_for_growth(tiers, window_growth)
    if tier_rank(tiers, target) > tier_rank(tiers, current):
        return TierDecision(target, "upgrade")
    return TierDecision(current, "")


def tier_on_review(tiers: Sequence[TierDef], current: str, window_growth: int) -> TierDecision:
    """At the scheduled review: the tier the trailing growth supports, up or down."""
    target = tier_for_growth(tiers, window_growth)
    r_new, r_old = tier_rank(tiers, target), tier_rank(tiers, current)
    if r_new > r_old:
        return TierDecision(target, "upgrade")
    if r_new < r_old:
        return TierDecision(target, "downgrade")
    return TierDecision(current, "")


# ---- points earn --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EarnRule:
    """Points per yuan for spend matching channel / store / category ('' = any). The most specific
    matching rule wins (category, then store, then channel count as specificity; then priority)."""

    points_per_yuan: Decimal
    channel: str = ""
    store: str = ""
    category: str = ""
    priority: int = 0

    def matches(self, channel: str, store: str, category_path: Sequence[str]) -> bool:
        return ((not self.channel or self.channel == channel) and (not self.store or self.store == store)
                and (not self.category or self.category in category_path))

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        return (bool(self.category), bool(self.store), bool(self.channel), self.priority)


@dataclass(frozen=True)
class SpendPart:
    """An amount paid for goods of one category path (root → leaf); path () for uncategorised."""

    amount: Decimal
    category_path: tuple[str, ...] = ()


def points_earned(parts: Iterable[SpendPart], rules: Sequence[EarnRule], *, channel: str, store: str,
                  multiplier: Decimal = Decimal("1")) -> int:
    """Points for an order: each part earns at its best rule's rate × the tier multiplier, summed
    exactly and rounded down once at the end (no per-part rounding loss)."""
    total = Decimal(0)
    for part in parts:
        if part.amount <= 0:
            continue
        matching = [r for r in rules if r.matches(channel, store, part.category_path)]
        if not matching:
            continue
        rule = max(matching, key=lambda r: r.specificity)
        total += Decimal(part.amount) * rule.points_per_yuan
    return max(0, int((total * multiplier).to_integral_value(rounding=ROUND_DOWN)))


def points_expiry(earned_at: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Points expire at the end of the year after the one they were earned in (local time):
    earned any day of 2026 → expire at 2028-01-01 00:00 local (i.e. usable through 2027-12-31)."""
    local = earned_at.astimezone(tz)
    return dt.datetime(local.year + 2, 1, 1, tzinfo=tz)


# ---- FIFO lots, redemption value, clawback -------------------------------------------------------


@dataclass(frozen=True)
class Lot:
    id: int
    remaining: int
    expires_at: dt.datetime


def fifo_take(lots: Sequence[Lot], points: int) -> list[tuple[int, int]]:
    """Take ``points`` from lots, soonest expiry first (then oldest id): [(lot id, points taken)].
    Raises ValueError when the lots hold fewer points."""
    if points < 0:
        raise ValueError("points must be >= 0")
    taken: list[tuple[int, int]] = []
    left = points
    for lot in sorted(lots, key=lambda x: (x.expires_at, x.id)):
        if left == 0:
            break
        n = min(lot.remaining, left)
        if n > 0:
            taken.append((lot.id, n))
            left -= n
    if left:
        raise ValueError(f"lots hold {points - left} points, {points} asked")
    return taken


def points_value(points: int, points_per_yuan: int) -> Decimal:
    """Money value of ``points`` (100 points = ¥1 by default), to the fen, rounded down."""
    return (Decimal(points) / Decimal(points_per_yuan)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def max_redeemable(payable: Decimal, balance: int, *, points_per_yuan: int, max_share: Decimal) -> int:
    """The most points an order of ``payable`` may take: at most ``max_share`` of it, whole fen only."""
    cap_money = (Decimal(payable) * max_share).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    cap_points = int(cap_money * points_per_yuan)
    fen_points = points_per_yuan // 100 if points_per_yuan >= 100 and points_per_yuan % 100 == 0 else 1
    cap_points -= cap_points % fen_points
    return max(0, min(balance, cap_points))


def proportional_due(total: int, refunded_cumulative: Decimal, original: Decimal, already: int) -> int:
    """Points to take back (earned) or give back (redeemed) now for a refund, so that after refunds
    totalling ``refunded_cumulative`` of an ``original`` order exactly round(total × share) have moved;
    ``already`` moved on earlier refunds. A full refund moves everything."""
    if original <= 0 or total <= 0:
        return 0
    share = min(Decimal(1), max(Decimal(0), Decimal(refunded_cumulative) / Decimal(original)))
    target = int((Decimal(total) * share).to_integral_value(rounding=ROUND_HALF_UP))
    return max(0, min(total, target) - already)


def coupon_window(*, issued_at: dt.datetime, valid_from: dt.datetime | None, valid_to: dt.datetime | None,
                  valid_days: int | None, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime | None]:
    """A coupon's validity: fixed dates, or N days after issue (to the end of the Nth local day)."""
    if valid_days:
        local = issued_at.astimezone(tz)
        end_day = local.date() + dt.timedelta(days=valid_days)
        return issued_at, dt.datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz)
    return (valid_from or issued_at), valid_to


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    import math

    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))
