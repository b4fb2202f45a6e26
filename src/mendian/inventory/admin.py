"""Back office for the stock ledger. Balances and movements are read-only here: stock changes only
through the services (receipts, sales, adjustments and counts through the API), so the ledger
always proves the balances."""

from django.contrib import admin

from .models import (
    CountTask,
    LostDemand,
    Lot,
    StockCost,
    StockCount,
    StockCountLine,
    StockLevel,
    StockMovement,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ("code", "sku", "expiry", "received_at")
    search_fields = ("code", "sku__code")
    list_filter = ("expiry",)
    raw_id_fields = ("sku",)


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ("location", "sku", "lot", "on_hand", "reserved", "available")
    list_filter = ("location__kind", "location__region")
    search_fields = ("location__code", "sku__code", "sku__name", "lot__code")
    list_select_related = ("location", "sku", "lot")


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "location", "sku", "lot", "reason", "cause", "on_hand_delta", "reserved_delta",
                    "unit_cost", "doc_type", "doc_ref", "user")
    list_filter = ("reason", "cause", "doc_type")
    search_fields = ("location__code", "sku__code", "doc_ref")
    list_select_related = ("location", "sku", "lot", "user")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(StockCost)
class StockCostAdmin(ReadOnlyAdmin):
    list_display = ("location", "sku", "avg_cost", "updated_at")
    search_fields = ("location__code", "sku__code")
    list_select_related = ("location", "sku")


class StockCountLineInline(admin.TabularInline):
    model = StockCountLine
    extra = 0
    can_delete = False
    readonly_fields = ("sku", "lot", "book_qty", "counted_qty", "variance")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(StockCount)
class StockCountAdmin(ReadOnlyAdmin):
    list_display = ("number", "location", "created_by", "created_at", "note")
    search_fields = ("number", "location__code")
    inlines = [StockCountLineInline]


@admin.register(CountTask)
class CountTaskAdmin(ReadOnlyAdmin):
    list_display = ("location", "sku", "reason", "status", "created_at", "done_at")
    list_filter = ("status", "reason")
    search_fields = ("location__code", "sku__code")
    list_select_related = ("location", "sku")


@admin.register(LostDemand)
class LostDemandAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "location", "sku", "quantity", "channel")
    list_filter = ("channel",)
    search_fields = ("location__code", "sku__code")
    list_select_related = ("location", "sku")
