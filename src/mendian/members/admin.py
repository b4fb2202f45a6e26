"""Admin for members master data: tiers, earn rules, points settings and coupon templates are edited
here; members, the points ledger and coupons are read-only (they change through services only)."""

from django.contrib import admin

from . import domain
from .models import Coupon, CouponBatch, CouponTemplate, EarnRule, Member, PointsEntry, PointsSettings, Tier


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "threshold", "discount_percent", "points_multiplier",
                    "free_shipping")


@admin.register(EarnRule)
class EarnRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "points_per_yuan", "channel", "store", "category", "priority", "active")
    list_filter = ("active", "channel")


@admin.register(PointsSettings)
class PointsSettingsAdmin(admin.ModelAdmin):
    list_display = ("points_per_yuan", "max_share")


@admin.register(CouponTemplate)
class CouponTemplateAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "amount", "threshold", "rate", "total_quota", "issued_count", "active")
    list_filter = ("kind", "active", "claimable")
    search_fields = ("code", "name")
    readonly_fields = ("issued_count",)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Member)
class MemberAdmin(ReadOnly):
    list_display = ("code", "shown_mobile", "name", "tier", "points_balance", "growth_value", "store", "created_at")
    list_filter = ("tier", "channel")
    search_fields = ("code",)
    exclude = ("mobile",)

    @admin.display(description="mobile")
    def shown_mobile(self, obj: Member) -> str:
        return domain.mask_mobile(obj.mobile)


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnly):
    list_display = ("member", "kind", "points", "remaining", "expires_at", "order_number", "at")
    list_filter = ("kind",)
    search_fields = ("member__code", "order_number")


@admin.register(Coupon)
class CouponAdmin(ReadOnly):
    list_display = ("code", "template", "member", "status", "source", "valid_to", "order_number")
    list_filter = ("status", "source")
    search_fields = ("code", "member__code", "order_number")


@admin.register(CouponBatch)
class CouponBatchAdmin(ReadOnly):
    list_display = ("number", "template", "status", "total", "processed", "issued", "skipped", "created_at")
