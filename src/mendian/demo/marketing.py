"""The demo chain's marketing (issue 3): what a marketer would have set up, made through the owners'
services so that the console, the tills and the API show it at once.

- 满减 ladder for the 昆明 region (满100减10, 满200减25), 第2件半价 on 休闲零食 (SN), a member price by tier
  (the tiers' own discounts: 银卡 98 %, 金卡 95 %, 钻石卡 92 %) and a flash sale (秒杀) of 100 units of one
  drink at half price, 2 per member — all active, without an end date;
- a coupon campaign: template 满80减15 (30 days, claimable, 2 per member) issued by one HQ batch to the
  members of the region who accept marketing;
- a dozen members registered at stores in and outside that region, and the demo member 李小云 (mobile 13800000001)
  registered at the first 昆明 store, 金卡 with points (her purchases before mendian, entered as one
  opening order) and two coupons of the campaign in her wallet.

Idempotent: what exists (by code or mobile) is kept, a draft left by an interrupted run is activated.
Needs the members' tiers (``members_defaults_ensure``, called here).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model

from mendian.catalog.models import Sku
from mendian.members import selectors as member_selectors
from mendian.members import services as member_services
from mendian.members.models import Coupon, CouponBatch, CouponTemplate, GrowthEntry, Member
from mendian.org.models import Location, Region
from mendian.promotions import services as promotion_services
from mendian.promotions.models import Promotion

REGION = "KM"
SNACKS = "SN"
FLASH_CATEGORY = "BV02"  # 碳酸饮料
TEMPLATE = "DEMO-C80-15"
DEMO_MOBILE = "13800000001"
DEMO_NAME = "李小云"
OPENING_ORDER = "DEMO-OPENING"  # the demo member's purchases before mendian: growth and points
OPENING_AMOUNT = Decimal("5200.00")  # ≥ 5000 growth: 金卡
MEMBER_NAMES = ("王芳", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周婷", "吴昊", "徐丽", "孙强")


@dataclass
class MarketingDemoResult:
    promotions: int = 0  # created by this run
    templates: int = 0
    members: int = 0
    coupons: int = 0
    demo_member: str = ""
    store: str = ""


def _actor() -> Any:
    return get_user_model().objects.filter(username="hq").first() or "demo"


def _promotions(region: str, flash_sku: Sku | None) -> list[dict[str, Any]]:
    rates = {code: str(rate.quantize(Decimal("0.01"))) for code, rate in member_selectors.tier_rates().items()}
    out = [
        {"code": "DEMO-MJ-KM", "name": "昆明满100减10·满200减25", "kind": "amount_off", "condition": {"regions": [region]},
         "benefit": {"tiers": [{"threshold": "100", "amount": "10"}, {"threshold": "200", "amount": "25"}]}},
        {"code": "DEMO-N2-SN", "name": "休闲零食第2件半价", "kind": "nth_item",
         "condition": {"scope": {"categories": [SNACKS]}}, "benefit": {"n": 2, "rate": "0.5"}},
    ]
    if rates:
        out.append({"code": "DEMO-VIP", "name": "会员价 member price", "kind": "tier_price",
                    "benefit": {"tier_rates": rates}})
    if flash_sku is not None:
        price = (flash_sku.list_price / 2).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        out.append({"code": "DEMO-MS", "name": f"秒杀 {flash_sku.name}", "kind": "special_price",
                    "condition": {"scope": {"skus": [flash_sku.code]}}, "benefit": {"price": str(price)},
                    "quota_total": 100, "per_member_units": 2})
    return out


def marketing_demo_setup(*, members: int = 12) -> MarketingDemoResult:
    """Set up the demo's promotions, coupon campaign and members (see the module's docstring)."""
    res = MarketingDemoResult()
    actor = _actor()
    member_services.members_defaults_ensure()
    stores = list(Location.objects.filter(kind=Location.Kind.STORE).order_by("code"))
    if not stores:
        return res
    region = REGION if Region.objects.filter(code=REGION).exists() else (stores[0].region.code if stores[0].region_id
                                                                         else "")
    home = next((s for s in stores if s.code.startswith(region)), stores[0])
    res.store = home.code

    flash_sku = Sku.objects.filter(product__category__code=FLASH_CATEGORY).order_by("code").first()
    existing = dict(Promotion.objects.values_list("code", "status"))
    for p in _promotions(region, flash_sku):
        if p["code"] not in existing:
            promotion_services.promotion_create(actor=actor, **p)
            res.promotions += 1
        if existing.get(p["code"], Promotion.Status.DRAFT) == Promotion.Status.DRAFT:
            promotion_services.promotion_set_status(actor=actor, code=p["code"], status=Promotion.Status.ACTIVE,
                                                    reason="demo")

    if not CouponTemplate.objects.filter(code=TEMPLATE).exists():
        member_services.coupon_template_create(actor=actor, code=TEMPLATE, name="满80减15", kind="threshold",
                                               threshold=Decimal("80"), amount=Decimal("15"), valid_days=30,
                                               claimable=True, per_member_limit=2)
        res.templates += 1

    # members: the demo member at the home store, the others spread over the first stores
    # (half of them in the campaign's region, half elsewhere)
    near = [s for s in stores if s.code.startswith(region)] or stores
    far = [s for s in stores if s not in near] or near
    people = [(DEMO_MOBILE, DEMO_NAME, home)] + [
        (f"1380000{i + 2:04d}", MEMBER_NAMES[i % len(MEMBER_NAMES)], (near, far)[i % 2][(i // 2) % len((near, far)[i % 2])])
        for i in range(max(0, members - 1))]
    known = set(Member.objects.filter(mobile__in=[m for m, _n, _s in people]).values_list("mobile", flat=True))
    for i, (mobile, name, store) in enumerate(people):
        if mobile in known:
            continue
        member_services.member_register(actor=actor, mobile=mobile, name=name, store=store,
                                        channel="pos" if i % 3 else "miniprogram", consent_marketing=True,
                                        consent_data=True)
        res.members += 1
    demo = Member.objects.get(mobile=DEMO_MOBILE)
    res.demo_member = demo.code
    if not GrowthEntry.objects.filter(member=demo, order_number=OPENING_ORDER).exists():
        member_services.member_order_paid(member_code=demo.code, order_number=OPENING_ORDER, amount=OPENING_AMOUNT,
                                          store_code=home.code, actor=actor)

    # the campaign: one batch to the region's members who accept marketing, and a claim by the demo member
    if not CouponBatch.objects.filter(template__code=TEMPLATE).exists():
        batch = member_services.coupon_batch_create(actor=actor, template_code=TEMPLATE,
                                                    segment={"regions": [region]})
        res.coupons += batch.issued
    if Coupon.objects.filter(member=demo, template__code=TEMPLATE).count() < 2:
        member_services.coupon_claim(member=demo, template_code=TEMPLATE, actor=actor)
        res.coupons += 1
    return res
