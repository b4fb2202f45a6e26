from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from mendian.members.models import CouponTemplate, Member, Tier


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n}")
    name_zh = factory.LazyAttribute(lambda o: f"等级{o.code}")
    name_en = factory.LazyAttribute(lambda o: f"Tier {o.code}")
    threshold = 0
    points_multiplier = Decimal("1")


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"M{n:010d}")
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    name = factory.Sequence(lambda n: f"Member {n}")
    created_at = factory.LazyFunction(timezone.now)
    consent_marketing = True
    consent_data = True


class CouponTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponTemplate
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CT{n:03d}")
    name = factory.LazyAttribute(lambda o: f"满100减10 {o.code}")
    kind = CouponTemplate.Kind.THRESHOLD
    amount = Decimal("10.00")
    threshold = Decimal("100.00")
    valid_days = 30
    per_member_limit = 1
    claimable = True
    created_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))


def standard_tiers() -> tuple[Tier, Tier, Tier]:
    """普卡 0, 银卡 1000 (×1.5 points, 5% off), 金卡 5000 (×2 points, 10% off)."""
    return (TierFactory(code="NORMAL", name_zh="普卡", name_en="Standard", threshold=0),
            TierFactory(code="SILVER", name_zh="银卡", name_en="Silver", threshold=1000,
                        points_multiplier=Decimal("1.5"), discount_percent=Decimal("5")),
            TierFactory(code="GOLD", name_zh="金卡", name_en="Gold", threshold=5000,
                        points_multiplier=Decimal("2"), discount_percent=Decimal("10")))
