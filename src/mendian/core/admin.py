"""Admin base classes: every change made in the Django admin lands in the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from mendian.core.snapshot import changed, snapshot
from mendian.platform.audit import audit_record


class AuditedModelAdmin(admin.ModelAdmin):
    """Writes ``<model>.create|update|delete`` audit entries in the transaction of the admin's save."""

    def audit_object_type(self) -> str:
        return self.model._meta.model_name

    def audit_ref(self, obj: Any) -> str:
        return str(getattr(obj, "code", None) or obj.pk)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            before = snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else {}
            super().save_model(request, obj, form, change)
            after = snapshot(obj)
            b, a = changed(before, after) if change else (None, after)
            if change and not a:
                return
            audit_record(actor=request.user, action=f"{self.audit_object_type()}.{'update' if change else 'create'}",
                         object_type=self.audit_object_type(), object_ref=self.audit_ref(obj), before=b, after=a)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit_record(actor=request.user, action=f"{self.audit_object_type()}.delete",
                         object_type=self.audit_object_type(), object_ref=self.audit_ref(obj),
                         before=snapshot(obj), after=None)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                audit_record(actor=request.user, action=f"{self.audit_object_type()}.delete",
                             object_type=self.audit_object_type(), object_ref=self.audit_ref(obj),
                             before=snapshot(obj), after=None)
            super().delete_queryset(request, queryset)
