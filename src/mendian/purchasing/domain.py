"""Pure purchasing rules: how much to order, rounded to packs and MOQ, within a budget.

No Django here (import-linter keeps it so). Money is Decimal.

Suggestion rule, per (location, SKU), an (s, S) policy on the inventory position:
    position = available (on hand − reserved) + on order (open purchase orders not yet received)
    order when position <= reorder point; need = order-up-to − position
    quantity = need raised to the MOQ, then up to a whole number of packs

Budget: lines are ranked by priority (most urgent first, see ``priority``); lines are kept in that
order while they fit; the first line that does not fit is cut to the most whole packs that fit
(and still meet the MOQ) or dropped, and every line ranked below it is dropped. So a cut always
falls on the lowest-priority lines first, never on a more urgent one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def round_to_pack(need: int, *, pack_size: int, moq: int = 0) -> int:
    """The smallest orderable quantity covering ``need``: at least the MOQ, a whole number of packs.

    0 when nothing is needed. An MOQ that is not a multiple of the pack rounds up to packs too.
    """
    if pack_size < 1:
        raise ValueError("pack size must be at least 1")
    if need <= 0:
        return 0
    qty = max(need, moq)
    packs = -(-qty // pack_size)
    return packs * pack_size


def max_packs_within(amount: Decimal, *, unit_cost: Decimal, pack_size: int, moq: int = 0) -> int:
    """The largest whole-pack quantity costing at most ``amount`` that still meets the MOQ (else 0)."""
    pack_cost = unit_cost * pack_size
    if pack_cost <= 0:
        return 0
    packs = int(amount // pack_cost) if amount > 0 else 0
    qty = packs * pack_size
    return qty if qty >= max(moq, 1) else 0


def line_cost(quantity: int, unit_cost: Decimal) -> Decimal:
    return (Decimal(unit_cost) * quantity).quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class NeedInput:
    location_id: int
    sku_id: int
    available: int
    on_order: int
    reorder_point: int
    order_up_to: int
    pack_size: int
    moq: int
    unit_cost: Decimal
    safety_stock: int = 0
    abc: str = "C"
    source: str = "planning"  # planning | minimum


@dataclass(frozen=True)
class SuggestedLine:
    location_id: int
    sku_id: int
    quantity: int
    unit_cost: Decimal
    need: int
    position: int
    priority: tuple
    explanation: dict = field(default_factory=dict)

    @property
    def cost(self) -> Decimal:
        return line_cost(self.quantity, self.unit_cost)


ABC_RANK = {"A": 0, "B": 1, "C": 2}


def priority(inp: NeedInput) -> tuple:
    """Sort key, smaller = more urgent: stock-out risk first (position below safety stock), then the
    share of the reorder point that is missing, then ABC class, then larger need.

    Deterministic: ties end on (location, SKU)."""
    position = inp.available + inp.on_order
    below_safety = 0 if position < inp.safety_stock else 1
    rop = max(inp.reorder_point, 1)
    missing_share = Decimal(inp.reorder_point - position) / Decimal(rop)
    return (below_safety, -missing_share.quantize(Decimal("0.0001")), ABC_RANK.get(inp.abc, 3),
            -(inp.order_up_to - position), inp.location_id, inp.sku_id)


def suggest_line(inp: NeedInput) -> SuggestedLine | None:
    """The order for one (location, SKU), or None when the position is above the reorder point."""
    position = inp.available + inp.on_order
    if position > inp.reorder_point:
        return None
    need = inp.order_up_to - position
    qty = round_to_pack(need, pack_size=inp.pack_size, moq=inp.moq)
    if qty <= 0:
        return None
    explanation = {
        "source": inp.source, "available": inp.available, "on_order": inp.on_order, "position": position,
        "safety_stock": inp.safety_stock, "reorder_point": inp.reorder_point, "order_up_to": inp.order_up_to,
        "need": need, "moq": inp.moq, "pack_size": inp.pack_size, "packs": qty // inp.pack_size,
        "rounded_quantity": qty, "abc": inp.abc,
        "formula": "need = order_up_to − (available + on_order); qty = ceil(max(need, moq) / pack) × pack",
    }
    return SuggestedLine(inp.location_id, inp.sku_id, qty, Decimal(inp.unit_cost), need, position, priority(inp),
                         explanation)


@dataclass(frozen=True)
class BudgetResult:
    kept: list[SuggestedLine]
    dropped: list[SuggestedLine]
    cut: list[tuple[SuggestedLine, int]]  # (line as kept, quantity before the cut)
    total: Decimal


def apply_budget(lines: Sequence[SuggestedLine], budget: Decimal | None, *,
                 moq_of: dict[tuple[int, int], int] | None = None,
                 pack_of: dict[tuple[int, int], int] | None = None) -> BudgetResult:
    """Keep the most urgent lines within ``budget`` (None: no limit); see the module docstring."""
    ordered = sorted(lines, key=lambda ln: ln.priority)
    if budget is None:
        return BudgetResult(ordered, [], [], sum((ln.cost for ln in ordered), Decimal("0.00")))
    budget = Decimal(budget)
    if budget < 0:
        raise ValueError("budget must not be negative")
    kept: list[SuggestedLine] = []
    dropped: list[SuggestedLine] = []
    cut: list[tuple[SuggestedLine, int]] = []
    left = budget
    exhausted = False
    for ln in ordered:
        if exhausted:
            dropped.append(ln)
            continue
        if ln.cost <= left:
            kept.append(ln)
            left -= ln.cost
            continue
        exhausted = True
        key = (ln.location_id, ln.sku_id)
        pack = (pack_of or {}).get(key, 1)
        moq = (moq_of or {}).get(key, 0)
        qty = max_packs_within(left, unit_cost=ln.unit_cost, pack_size=pack, moq=moq)
        if qty > 0:
            smaller = replace(ln, quantity=qty, explanation={**ln.explanation, "cut_by_budget_from": ln.quantity})
            kept.append(smaller)
            cut.append((smaller, ln.quantity))
            left -= smaller.cost
        else:
            dropped.append(ln)
    return BudgetResult(kept, dropped, cut, budget - left)


# --- receipts ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReceivedQty:
    sku_id: int
    expected: int
    received: int
    rejected: int


def discrepancies(rows: Sequence[ReceivedQty]) -> list[tuple[int, str, int, int]]:
    """(sku_id, kind, expected, actual) for every short, over and rejected quantity."""
    out = []
    for r in rows:
        if r.received < r.expected:
            out.append((r.sku_id, "short", r.expected, r.received))
        elif r.received > r.expected:
            out.append((r.sku_id, "over", r.expected, r.received))
        if r.rejected > 0:
            out.append((r.sku_id, "rejected", r.received, r.rejected))
    return out


def order_status_after_receipt(lines: Sequence[tuple[int, int]], *, close: bool = False) -> str:
    """``lines``: (expected, accepted so far). Received when every line is complete (or ``close``)."""
    if close or all(acc >= exp for exp, acc in lines):
        return "received"
    return "partially_received"


# --- scorecard --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scorecard:
    orders: int
    on_time_rate: float | None
    fill_rate: float | None
    reject_rate: float | None
    lead_time_mean_days: float | None
    lead_time_std_days: float | None
    deliveries: int = 0  # orders with a receipt: how many lead times the mean and spread come from


def scorecard(*, deliveries: Sequence[tuple[float, bool]], ordered: int, accepted: int, received: int,
              rejected: int, orders: int) -> Scorecard:
    """``deliveries``: (lead time in days from sent to first receipt, on time?) per order received."""
    n = len(deliveries)
    mean = sum(d for d, _ in deliveries) / n if n else None
    std = None
    if n >= 2 and mean is not None:
        std = (sum((d - mean) ** 2 for d, _ in deliveries) / (n - 1)) ** 0.5
    elif n == 1:
        std = 0.0
    return Scorecard(
        orders=orders,
        on_time_rate=round(sum(1 for _, ok in deliveries if ok) / n, 4) if n else None,
        fill_rate=round(accepted / ordered, 4) if ordered else None,
        reject_rate=round(rejected / received, 4) if received else None,
        lead_time_mean_days=round(mean, 2) if mean is not None else None,
        lead_time_std_days=round(std, 2) if std is not None else None,
        deliveries=n,
    )
