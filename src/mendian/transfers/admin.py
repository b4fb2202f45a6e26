from django.contrib import admin

from .models import TransferOrder, TransferOrderLine, TransferPlan, TransferPlanMove


class TransferOrderLineInline(admin.TabularInline):
    model = TransferOrderLine
    extra = 0
    readonly_fields = ("line_no", "sku", "quantity", "shipped", "received", "damaged", "short")
    can_delete = False


@admin.register(TransferOrder)
class TransferOrderAdmin(admin.ModelAdmin):
    """Read-only here: state changes go through the API so that stock moves through the ledger."""

    list_display = ("number", "from_location", "to_location", "status", "source", "created_at", "shipped_at")
    list_filter = ("status", "source")
    search_fields = ("number", "from_location__code", "to_location__code")
    inlines = [TransferOrderLineInline]
    readonly_fields = [f.name for f in TransferOrder._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TransferPlanMoveInline(admin.TabularInline):
    model = TransferPlanMove
    extra = 0
    readonly_fields = ("from_location", "to_location", "sku", "quantity", "packs", "distance_km")
    can_delete = False
    max_num = 0


@admin.register(TransferPlan)
class TransferPlanAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "region", "created_at", "created_by")
    list_filter = ("status",)
    readonly_fields = [f.name for f in TransferPlan._meta.fields]
    inlines = [TransferPlanMoveInline]

    def has_add_permission(self, request):
        return False
