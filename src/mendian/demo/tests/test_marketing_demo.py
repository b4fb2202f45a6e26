"""The demo's marketing on a small seeded chain: what it creates, that a second run changes nothing, and
that the demo member's cart at another store of the region takes the member price, 第2件半价, the 满减
ladder, a coupon and points together."""

from __future__ import annotations

import math
from io import StringIO

import pytest
from django.core.management import call_command

from mendian.catalog.models import Sku
from mendian.demo.marketing import DEMO_MOBILE, TEMPLATE, marketing_demo_setup
from mendian.members.models import Coupon, Member
from mendian.promotions.models import Promotion
from mendian.sales import selectors, services
from mendian.sales.domain import LineRequest


@pytest.fixture
def chain(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", stores=4, skus=40, days=10, no_progress=True, no_orders=True, stdout=StringIO())


def test_marketing_demo_sets_up_promotions_a_campaign_and_the_demo_member_once(chain):
    out = StringIO()
    call_command("marketing_demo_setup", stdout=out)
    assert "demo member" in out.getvalue()
    assert dict(Promotion.objects.values_list("code", "status")) == {
        "DEMO-MJ-KM": "active", "DEMO-N2-SN": "active", "DEMO-VIP": "active", "DEMO-MS": "active"}
    demo = Member.objects.select_related("tier", "store").get(mobile=DEMO_MOBILE)
    assert (demo.store.code, demo.tier.code) == ("KM001", "GOLD") and demo.points_balance > 0
    assert Coupon.objects.filter(member=demo, template__code=TEMPLATE, status="issued").count() == 2
    assert Member.objects.count() == 12
    in_campaign = Coupon.objects.filter(template__code=TEMPLATE, source="batch").values_list("member__store__code",
                                                                                            flat=True)
    assert in_campaign and {c[:2] for c in in_campaign} == {"KM"}  # the batch went to the region's members

    counts = (Promotion.objects.count(), Member.objects.count(), Coupon.objects.count(), demo.points_balance)
    again = marketing_demo_setup()
    assert (again.promotions, again.templates, again.members, again.coupons) == (0, 0, 0, 0)
    assert (Promotion.objects.count(), Member.objects.count(), Coupon.objects.count(),
            Member.objects.get(pk=demo.pk).points_balance) == counts

    # the demo member at the region's other store: everything together (no write)
    snack = Sku.objects.filter(product__category__parent__code="SN", price_unit_qty=1).order_by("code").first()
    other = Sku.objects.filter(product__category__code="GR02").order_by("code").first()  # 食用油: no promotion
    ctx = selectors.sale_context_get(store_code="KM002", user_id=None)
    lines = [LineRequest(snack.code, 2), LineRequest(other.code, math.ceil(250 / other.list_price))]
    coupon = Coupon.objects.filter(member=demo, template__code=TEMPLATE).order_by("code").first()
    pricing, _priced = services.cart_price(ctx=ctx, channel="pos", lines=lines, member=demo.code,
                                           coupons=[coupon.code], points=100)
    applied = {a.promotion for a in pricing.result.applied}
    assert applied == {"DEMO-VIP", "DEMO-N2-SN", "DEMO-MJ-KM", coupon.code}
    assert pricing.result.points_used == 100
