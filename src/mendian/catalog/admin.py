"""Django admin for the catalog (HQ). Every change is audited; prices change only through ``price_change``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from mendian.core.admin import AuditedModelAdmin
from mendian.core.errors import MendianError

from .models import Barcode, Brand, Category, PriceChange, Product, Sku, StorePrice
from .services import (
    SKU_UPDATABLE,
    barcode_add,
    barcode_check,
    barcode_remove,
    price_change,
    price_change_check,
    sku_create,
    sku_fields_check,
    sku_update,
)


@admin.register(Category)
class CategoryAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "parent")
    search_fields = ("code", "name")


@admin.register(Brand)
class BrandAdmin(AuditedModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "category", "brand")
    list_select_related = ("category", "brand")
    search_fields = ("code", "name")
    list_filter = ("category",)
    autocomplete_fields = ("category", "brand")


class BarcodeForm(forms.ModelForm):
    class Meta:
        model = Barcode
        fields = ("code", "kind")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("code") and not self.cleaned_data.get("DELETE"):
            try:
                barcode_check(data["code"], data.get("kind") or Barcode.Kind.EAN13)
            except MendianError as exc:
                raise ValidationError({"code": exc.message}) from exc
        return data


class BarcodeInline(admin.TabularInline):
    model = Barcode
    form = BarcodeForm
    extra = 1


class StorePriceInline(admin.TabularInline):
    """Store overrides, read-only here: set them with a price change."""

    model = StorePrice
    extra = 0
    can_delete = False
    readonly_fields = ("location", "price", "valid_from", "valid_to")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SkuForm(forms.ModelForm):
    class Meta:
        model = Sku
        fields = ("code", "product", "name", "attributes", "status", "vat_rate", "unit", "price_unit_qty",
                  "lot_tracked", "list_price", "pack_size", "plu", "volume_ml")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            sku_fields_check({f: data[f] for f in ("vat_rate", "unit", "status", "price_unit_qty", "pack_size", "plu",
                                                  "attributes") if data.get(f) is not None})
        except MendianError as exc:
            field = (exc.details or {}).get("field")
            raise ValidationError({field: exc.message} if field in self.fields else exc.message) from exc
        return data


class PriceChangeForm(forms.ModelForm):
    class Meta:
        model = PriceChange
        fields = ("sku", "location", "new_price", "valid_from", "valid_to")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("new_price") is None:
            return data
        try:
            price_change_check(new_price=data["new_price"], location=data.get("location"),
                               valid_from=data.get("valid_from"), valid_to=data.get("valid_to"))
        except MendianError as exc:
            field = (exc.details or {}).get("field")
            field = "new_price" if field == "price" else field
            raise ValidationError({field: exc.message} if field in self.fields else exc.message) from exc
        return data


@admin.register(Sku)
class SkuAdmin(AuditedModelAdmin):
    form = SkuForm
    list_display = ("code", "name", "product", "list_price", "vat_rate", "unit", "status")
    list_filter = ("status", "unit", "lot_tracked", "vat_rate")
    search_fields = ("code", "name", "barcodes__code", "plu")
    list_select_related = ("product",)
    autocomplete_fields = ("product",)
    inlines = [BarcodeInline, StorePriceInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # the list price changes only through a price change (history, audit, event)
        return ("code", "list_price") if obj else ()

    def save_model(self, request: HttpRequest, obj: Sku, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                fields = {f: data[f] for f in form.changed_data if f in SKU_UPDATABLE}
                saved = sku_update(actor=request.user, sku=obj, **fields)
            else:
                saved = sku_create(actor=request.user, code=data["code"], product=data["product"], name=data["name"],
                                   list_price=data["list_price"],
                                   **{f: data[f] for f in SKU_UPDATABLE - {"product", "name"} if f in data})
        except MendianError as exc:
            raise ValidationError(exc.message) from exc
        obj.pk = saved.pk

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Barcode:
            return super().save_formset(request, form, formset, change)
        with transaction.atomic():
            instances = formset.save(commit=False)
            for gone in formset.deleted_objects:
                barcode_remove(actor=request.user, barcode=gone)
            for b in instances:
                if b.pk:
                    barcode_remove(actor=request.user, barcode=Barcode.objects.get(pk=b.pk))
                barcode_add(actor=request.user, sku=form.instance, code=b.code, kind=b.kind)
        return None


@admin.register(PriceChange)
class PriceChangeAdmin(admin.ModelAdmin):
    """Price history; adding a row here makes a real price change (override, list price, audit, event)."""

    list_display = ("sku", "location", "old_price", "new_price", "valid_from", "valid_to", "changed_by", "changed_at",
                    "applied_at")
    list_select_related = ("sku", "location", "changed_by")
    list_filter = ("location",)
    search_fields = ("sku__code", "sku__name")
    autocomplete_fields = ("sku", "location")
    form = PriceChangeForm
    fields = ("sku", "location", "new_price", "valid_from", "valid_to")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: PriceChange, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            made = price_change(sku=data["sku"], new_price=data["new_price"], location=data.get("location"),
                                valid_from=data.get("valid_from"), valid_to=data.get("valid_to"), user=request.user)
        except MendianError as exc:
            raise ValidationError(exc.message) from exc
        obj.pk = made.pk
