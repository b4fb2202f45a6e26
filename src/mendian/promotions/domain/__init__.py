"""The pure pricing engine (no Django): ``apply_promotions(cart, rules) -> PricingResult``."""

from .engine import RuleBook, apply_promotions
from .greedy import apply_fixed_order
from .model import (
    ITEM_KINDS,
    ORDER_KINDS,
    Adjustment,
    Applied,
    Benefit,
    BundleItem,
    CartLine,
    CartSnapshot,
    Condition,
    CouponInput,
    CouponKind,
    Gift,
    GiftLine,
    Hint,
    Kind,
    MemberInput,
    NotApplied,
    PointsPolicy,
    PricedLine,
    PricingResult,
    Rule,
    Scope,
    Tier,
)

__all__ = [
    "ITEM_KINDS", "ORDER_KINDS", "Adjustment", "Applied", "Benefit", "BundleItem", "CartLine", "CartSnapshot",
    "Condition", "CouponInput", "CouponKind", "Gift", "GiftLine", "Hint", "Kind", "MemberInput", "NotApplied",
    "PointsPolicy", "PricedLine", "PricingResult", "Rule", "RuleBook", "Scope", "Tier", "apply_fixed_order",
    "apply_promotions",
]
