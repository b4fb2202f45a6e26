"""The pricing engine's inputs and outputs: plain frozen dataclasses, Decimal money. No Django here.

A ``CartSnapshot`` (lines, channel, store, region, time, member, wallet coupons, points to redeem) and a
list of ``Rule`` (promotion rules as data: a ``Condition`` and a ``Benefit`` of one ``Kind``) go into
``apply_promotions``; a ``PricingResult`` comes out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Kind(StrEnum):
    # layer 1: item prices
    SPECIAL_PRICE = "special_price"   # 限时折扣 / 特价 / 秒杀: a price or a rate per unit, optional quotas
    TIER_PRICE = "tier_price"         # 会员价 / 等级折扣: a rate (or a fixed price per SKU) per member tier
    # layer 2: order promotions (thresholds count amounts after item prices, or list prices if asked)
    AMOUNT_OFF = "amount_off"         # 满减: ladder, or repeating 每满X减Y with a cap
    SPEND_PERCENT = "spend_percent"   # 满折: spend X, pay a rate
    QTY_PERCENT = "qty_percent"       # 满件折: buy N units, pay a rate
    NTH_ITEM = "nth_item"             # 第N件N折: every Nth unit (the cheaper ones) at a rate
    BUY_X_GET_Y = "buy_x_get_y"       # 买X送Y: in each group of X+Y units the cheapest Y are free
    GIFT = "gift"                     # 满赠 / 买赠: gift lines when a threshold holds
    ADDON = "addon"                   # 加价购: an add-on SKU at a special price after spending X
    BUNDLE = "bundle"                 # 套餐 / 组合价: a set of SKUs for a fixed price


ITEM_KINDS = frozenset({Kind.SPECIAL_PRICE, Kind.TIER_PRICE})
ORDER_KINDS = frozenset(Kind) - ITEM_KINDS
# the order in which benefits are computed inside a layer (see engine docstring)
KIND_RANK = {Kind.SPECIAL_PRICE: 0, Kind.TIER_PRICE: 1, Kind.BUNDLE: 2, Kind.NTH_ITEM: 3, Kind.BUY_X_GET_Y: 4,
             Kind.ADDON: 5, Kind.QTY_PERCENT: 6, Kind.SPEND_PERCENT: 7, Kind.AMOUNT_OFF: 8, Kind.GIFT: 9}


class CouponKind(StrEnum):
    THRESHOLD = "threshold"           # 满减券: amount off when the covered lines reach a threshold
    NO_THRESHOLD = "no_threshold"     # 无门槛券
    PERCENT = "percent"               # 折扣券: a rate with a cap
    ITEM = "item"                     # 兑换券: one unit of a SKU free
    FREE_SHIPPING = "free_shipping"   # 免运费券


@dataclass(frozen=True)
class Scope:
    """Which lines a rule or coupon covers. Empty include sets mean "everything"; excludes always win.
    A category matches a line when it is anywhere on the line's category path (root → leaf)."""

    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    brands: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()
    exclude_brands: frozenset[str] = frozenset()

    @property
    def is_all(self) -> bool:
        return not (self.skus or self.categories or self.brands)

    def covers(self, line: CartLine) -> bool:
        if line.sku in self.exclude_skus or (line.brand and line.brand in self.exclude_brands):
            return False
        if self.exclude_categories and not self.exclude_categories.isdisjoint(line.category_path):
            return False
        if self.is_all:
            return True
        return (line.sku in self.skus or (bool(line.brand) and line.brand in self.brands)
                or not self.categories.isdisjoint(line.category_path))


@dataclass(frozen=True)
class Condition:
    """When a rule applies. Context parts (channel, store, time, member) are checked once per cart;
    ``min_amount`` / ``min_qty`` on the covered lines are checked by the benefit."""

    scope: Scope = Scope()
    min_amount: Decimal = Decimal("0")
    min_qty: int = 0
    tiers: frozenset[str] = frozenset()             # empty: any (or no) member
    members_only: bool = False
    new_member_only: bool = False
    first_order_only: bool = False
    channels: frozenset[str] = frozenset()          # empty: every channel
    stores: frozenset[str] = frozenset()            # location codes; empty: every store
    regions: frozenset[str] = frozenset()           # region codes (any on the store's region path)
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None              # exclusive
    weekdays: frozenset[int] = frozenset()          # 0 = Monday; empty: every day
    hours: tuple[dt.time, dt.time] | None = None    # local time window [from, to): happy hour
    per_member_limit: int | None = None             # orders per member; usage comes from MemberInput


@dataclass(frozen=True)
class Tier:
    threshold: Decimal          # amount (or quantity for QTY_PERCENT) to reach
    value: Decimal              # amount off (AMOUNT_OFF) or rate to pay (SPEND_PERCENT, QTY_PERCENT), e.g. 0.8


@dataclass(frozen=True)
class Gift:
    sku: str
    quantity: int = 1
    value: Decimal = Decimal("0")   # list value, for the explanation and for ties


@dataclass(frozen=True)
class BundleItem:
    sku: str
    quantity: int = 1


@dataclass(frozen=True)
class Benefit:
    """What a rule gives; which fields matter depends on the rule's kind.

    - SPECIAL_PRICE: ``price`` (per price unit) or ``rate``; ``quota_left`` (units, chain-wide) and
      ``per_member_units`` (units per member; used units come from MemberInput.promotion_units).
    - TIER_PRICE: ``tier_rates`` {tier: rate} and/or ``tier_prices`` {tier: {sku: price}}.
    - AMOUNT_OFF: ``tiers`` (ladder, the highest met applies) or ``every`` + ``amount`` (repeating) with
      ``max_discount``.
    - SPEND_PERCENT / QTY_PERCENT: ``tiers`` with rates.
    - NTH_ITEM: ``n`` and ``rate`` (n=2, rate=0.5: second unit half price).
    - BUY_X_GET_Y: ``x`` and ``y``.
    - GIFT: ``gifts`` once the condition's minimum holds; ``repeat`` gives one set per multiple;
      ``quota_left`` caps the number of gift sets (gift stock for the promotion).
    - ADDON: ``addon_skus`` at ``price`` (per unit), at most ``max_units`` units, once the *other*
      covered lines reach ``min_amount``.
    - BUNDLE: ``items`` for ``price`` per set, at most ``max_sets`` sets.
    """

    price: Decimal | None = None
    rate: Decimal | None = None
    quota_left: int | None = None
    per_member_units: int | None = None
    tier_rates: Mapping[str, Decimal] = field(default_factory=dict)
    tier_prices: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    tiers: tuple[Tier, ...] = ()
    every: Decimal | None = None
    amount: Decimal | None = None
    max_discount: Decimal | None = None
    n: int = 2
    x: int = 1
    y: int = 1
    gifts: tuple[Gift, ...] = ()
    repeat: bool = False
    addon_skus: frozenset[str] = frozenset()
    max_units: int = 1
    items: tuple[BundleItem, ...] = ()
    max_sets: int | None = None


@dataclass(frozen=True)
class Rule:
    """A promotion rule as data (configuration, not code).

    Stacking: at most one rule of an ``exclusive_group`` applies to a line (empty group: none); the
    ``combines_with_*`` flags say whether the rule shares lines with coupons, tier prices and points;
    ``priority`` breaks ties between equally good results (higher wins). ``threshold_basis`` "list"
    counts the threshold on list prices instead of prices after the item layer.
    ``budget_left``: the discount this rule may still give (None: unlimited).
    """

    code: str
    kind: Kind
    name: str = ""
    condition: Condition = Condition()
    benefit: Benefit = Benefit()
    exclusive_group: str = ""
    priority: int = 0
    combines_with_coupons: bool = True
    combines_with_member_price: bool = True
    combines_with_points: bool = True
    threshold_basis: str = "net"    # "net" | "list"
    budget_left: Decimal | None = None


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int                       # base units (pieces, or grams)
    unit_price: Decimal                 # the line's regular price (list or store price) per price unit
    category_path: tuple[str, ...] = ()
    brand: str = ""
    price_unit_qty: int = 1             # 1000 when priced per kilogram and counted in grams
    name: str = ""


@dataclass(frozen=True)
class MemberInput:
    """What the members app tells the engine about the customer."""

    code: str
    tier: str = ""
    points_balance: int = 0
    is_new: bool = False
    first_order: bool = False
    promotion_uses: Mapping[str, int] = field(default_factory=dict)    # rule code -> orders used
    promotion_units: Mapping[str, int] = field(default_factory=dict)   # rule code -> flash units bought


@dataclass(frozen=True)
class CouponInput:
    """One coupon of the member's wallet, as the members app hands it over."""

    code: str
    kind: CouponKind
    amount: Decimal = Decimal("0")          # THRESHOLD / NO_THRESHOLD
    threshold: Decimal = Decimal("0")       # THRESHOLD (and optional for PERCENT)
    rate: Decimal | None = None             # PERCENT: rate to pay, e.g. 0.9
    cap: Decimal | None = None              # PERCENT: the largest discount
    item_sku: str = ""                      # ITEM
    scope: Scope = Scope()
    channels: frozenset[str] = frozenset()
    stores: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    name: str = ""


@dataclass(frozen=True)
class PointsPolicy:
    points_per_yuan: int = 100              # 100 points = ¥1
    max_share: Decimal = Decimal("0.5")     # points pay at most this share of the payable


@dataclass(frozen=True)
class CartSnapshot:
    lines: tuple[CartLine, ...]
    at: dt.datetime                         # timezone-aware; weekdays and hours use it as given
    channel: str = "pos"
    store: str = ""
    regions: tuple[str, ...] = ()           # the store's region path (e.g. ("HQ", "YN", "KM"))
    member: MemberInput | None = None
    coupons: tuple[CouponInput, ...] = ()   # the wallet coupons offered for this cart
    points: int = 0                         # points the customer asks to redeem
    points_policy: PointsPolicy = PointsPolicy()
    shipping_fee: Decimal = Decimal("0")


# ---- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adjustment:
    promotion: str          # rule or coupon code, or "points"
    kind: str
    line: int               # index into CartSnapshot.lines
    amount: Decimal         # discount on that line (points: value paid by points)
    reason: str


@dataclass(frozen=True)
class PricedLine:
    sku: str
    quantity: int
    unit_price: Decimal
    list_amount: Decimal
    discount: Decimal       # promotions and coupons (not points)
    amount: Decimal         # list_amount - discount
    points_value: Decimal   # share of the points tender, for refunds
    adjustments: tuple[Adjustment, ...]


@dataclass(frozen=True)
class Applied:
    promotion: str
    kind: str
    saving: Decimal
    lines: tuple[int, ...]
    reason: str
    units: int = 0          # flash-sale units sold at the promotional price, or gift sets


@dataclass(frozen=True)
class NotApplied:
    promotion: str
    reason_code: str
    reason: str


@dataclass(frozen=True)
class GiftLine:
    promotion: str
    sku: str
    quantity: int
    value: Decimal


@dataclass(frozen=True)
class Hint:
    promotion: str
    add_amount: Decimal
    saving: Decimal
    message: str


@dataclass(frozen=True)
class PricingResult:
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount: Decimal
    shipping_fee: Decimal
    shipping_discount: Decimal
    total: Decimal              # what the customer owes, before the points tender
    points_used: int
    points_value: Decimal
    payable: Decimal            # total - points_value: what the other tenders pay
    applied: tuple[Applied, ...]
    not_applied: tuple[NotApplied, ...]
    coupons_used: tuple[str, ...]
    gifts: tuple[GiftLine, ...]
    hints: tuple[Hint, ...]
    notes: tuple[str, ...] = ()
    searched: int = 0           # combinations evaluated (for the benchmark and the docs)
    exact: bool = True          # False only when the search hit its guard (MAX_EVALUATIONS)
