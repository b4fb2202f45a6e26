from django.contrib import admin

from .models import (
    DockSlot,
    LocationMinimum,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptDiscrepancy,
    ReceiptLine,
    ShipNotice,
    Supplier,
    SupplierSku,
    SupplierUser,
)


class SupplierSkuInline(admin.TabularInline):
    model = SupplierSku
    extra = 0
    raw_id_fields = ("sku",)


class SupplierUserInline(admin.TabularInline):
    model = SupplierUser
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "email", "lead_time_days", "lead_time_std_days", "review_period_days", "active")
    search_fields = ("code", "name")
    inlines = [SupplierSkuInline, SupplierUserInline]


@admin.register(LocationMinimum)
class LocationMinimumAdmin(admin.ModelAdmin):
    list_display = ("location", "sku", "minimum", "order_up_to")
    raw_id_fields = ("location", "sku")


@admin.register(DockSlot)
class DockSlotAdmin(admin.ModelAdmin):
    list_display = ("location", "starts_at", "ends_at", "capacity", "booked")
    list_filter = ("location",)
    readonly_fields = ("booked",)


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    can_delete = False
    readonly_fields = ("line_no", "sku", "quantity", "unit_cost", "pack_size", "confirmed_qty", "confirmed_date",
                       "accepted_qty", "rejected_qty")
    exclude = ("suggestion",)


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    """Read-only: state changes go through the API (audited, evented, stock through the ledger)."""

    list_display = ("number", "supplier", "location", "status", "created_at", "sent_at", "received_at")
    list_filter = ("status", "supplier")
    search_fields = ("number",)
    inlines = [PurchaseOrderLineInline]
    readonly_fields = [f.name for f in PurchaseOrder._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ShipNotice)
class ShipNoticeAdmin(admin.ModelAdmin):
    list_display = ("number", "order", "supplier", "location", "status", "created_at")
    readonly_fields = [f.name for f in ShipNotice._meta.fields]

    def has_add_permission(self, request):
        return False


class ReceiptLineInline(admin.TabularInline):
    model = ReceiptLine
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in ReceiptLine._meta.fields]


class ReceiptDiscrepancyInline(admin.TabularInline):
    model = ReceiptDiscrepancy
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in ReceiptDiscrepancy._meta.fields]


@admin.register(Receipt)
class ReceiptAdmin(admin.ModelAdmin):
    list_display = ("number", "order", "location", "received_at")
    readonly_fields = [f.name for f in Receipt._meta.fields]
    inlines = [ReceiptLineInline, ReceiptDiscrepancyInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
