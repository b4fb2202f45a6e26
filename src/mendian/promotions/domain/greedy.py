"""The baseline the benchmark compares against: a fixed-order calculator chain (the yudao order).

special / flash price → the better of tier price or time-limited discount per item (one item rule per
line, never stacked) → the single highest-priority 满减 activity (满减 / 满折 / 满件折 / 满赠) at its
highest tier met → the other order rules (Nth item, buy X get Y, add-on, bundle) by priority, each
taking the lines no conflicting rule took (Oscar's applicator) → the customer's single best coupon →
points. It obeys the same stacking rules as the engine, so its price is always a valid price; it just
never compares alternatives.
"""

from __future__ import annotations

from collections.abc import Iterable

from .benefits import item_price
from .engine import RuleBook, _build, _evaluate, _result
from .model import CartSnapshot, PricingResult, Rule

_ACTIVITY = ("amount_off", "spend_percent", "qty_percent", "gift")
_OTHER = ("bundle", "nth_item", "buy_x_get_y", "addon")


def apply_fixed_order(cart: CartSnapshot, rules: RuleBook | Iterable[Rule]) -> PricingResult:
    book = rules if isinstance(rules, RuleBook) else RuleBook(list(rules))
    p, not_applied, _ = _build(cart, book)
    return _result(p, fixed_order_evaluation(p), not_applied, 1)


def fixed_order_evaluation(p):  # noqa: ANN001, ANN201 - engine internals
    """The fixed chain's combination of a prepared cart, evaluated."""
    assigned: dict[int, set[int]] = {}
    taken: dict[int, set[int]] = {}  # line -> rules holding it

    def free_for(k: int, i: int) -> bool:
        return not any(j in p.conflicts[k] for j in taken.get(i, ()))

    # 1-2. one item rule per line: the lowest unit price
    item_rules = [k for k, r in p.rules.items() if r.kind in ("special_price", "tier_price")]
    for i in range(len(p.skus)):
        best, best_price = None, p.price[i]
        for k in sorted(item_rules, key=lambda k: p.rules[k].rank):
            if i in p.eligible[k]:
                newp = item_price(p.rules[k], p.skus[i], p.price[i], p.tier)
                if newp < best_price:
                    best, best_price = k, newp
        if best is not None:
            assigned.setdefault(best, set()).add(i)
            taken.setdefault(i, set()).add(best)

    def try_rule(k: int) -> bool:
        lines = {i for i in p.eligible[k] if free_for(k, i)}
        if not lines:
            return False
        trial = {kk: tuple(sorted(v)) for kk, v in assigned.items()}
        trial[k] = tuple(sorted(lines))
        ev = _evaluate(p, trial)
        if not (ev.order_parts.get(k) or ev.gifts.get(k)):
            return False
        assigned[k] = lines
        for i in lines:
            taken.setdefault(i, set()).add(k)
        return True

    # 3. the single highest-priority activity that is met
    for k in sorted((k for k, r in p.rules.items() if r.kind in _ACTIVITY),
                    key=lambda k: (-p.rules[k].priority, p.rules[k].code)):
        if try_rule(k):
            break
    # 4. the other order rules by priority
    for k in sorted((k for k, r in p.rules.items() if r.kind in _OTHER),
                    key=lambda k: (-p.rules[k].priority, p.rules[k].code)):
        try_rule(k)
    # 5-6. best single coupon and points: chosen inside the evaluation
    return _evaluate(p, {k: tuple(sorted(v)) for k, v in assigned.items()})
