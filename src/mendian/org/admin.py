"""Django admin for the org context, at /admin/ for HQ users (and superusers) only.

Region and location edits go through the org services (audited); role assignments on a user go
through ``user_grant_role`` / ``user_revoke_role`` so HQ users become staff and others stop being so.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from mendian.core.admin import AuditedModelAdmin
from mendian.platform.auth import login_locked_until
from mendian.platform.models import LoginAttempt

from .models import ChainSettings, Location, Region, Role, RoleAssignment
from .services import (
    LOCATION_FIELDS,
    REGION_FIELDS,
    location_create,
    location_update,
    region_create,
    region_update,
    user_grant_role,
    user_revoke_role,
)

User = get_user_model()


def hq_admin_permission(request: HttpRequest) -> bool:
    """The admin is for HQ: an active staff user holding the chain-wide hq role, or a superuser."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    return RoleAssignment.objects.filter(user=user, role=Role.HQ, region__isnull=True, location__isnull=True).exists()


admin.site.has_permission = hq_admin_permission
_admin_login = admin.site.login


def throttled_admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin's sign-in counts toward, and obeys, the same database-backed lock as the API's."""
    if request.method != "POST":
        return _admin_login(request, extra_context)
    username = (request.POST.get("username") or "")[:150]
    ip = (request.META.get("REMOTE_ADDR") or "")[:64]
    if login_locked_until(username=username, ip=ip) is not None:
        return HttpResponse("too many failed sign-ins; try again in 15 minutes", status=429,
                            content_type="text/plain; charset=utf-8")
    response = _admin_login(request, extra_context)
    LoginAttempt.objects.create(username=username, ip=ip, success=request.user.is_authenticated,
                                at=timezone.now())
    return response


admin.site.login = throttled_admin_login
admin.site.site_header = "mendian 门店 — 总部 HQ"
admin.site.site_title = "mendian admin"


@admin.register(Region)
class RegionAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj else ()

    def save_model(self, request: HttpRequest, obj: Region, form: Any, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in REGION_FIELDS if f in form.cleaned_data}
        if change:
            saved = region_update(actor=request.user, region=obj,
                                  **{f: data[f] for f in form.changed_data if f in data})
        else:
            saved = region_create(actor=request.user, code=form.cleaned_data["code"], **data)
        obj.pk = saved.pk


@admin.register(Location)
class LocationAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "kind", "region", "city", "area_m2", "status")
    list_filter = ("kind", "status", "region")
    search_fields = ("code", "name", "city", "address")
    list_select_related = ("region",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj else ()

    def save_model(self, request: HttpRequest, obj: Location, form: Any, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in LOCATION_FIELDS if f in form.cleaned_data}
        if change:
            saved = location_update(actor=request.user, location=obj,
                                    **{f: data[f] for f in form.changed_data if f in data})
        else:
            saved = location_create(actor=request.user, code=form.cleaned_data["code"], **data)
        obj.pk = saved.pk


@admin.register(ChainSettings)
class ChainSettingsAdmin(AuditedModelAdmin):
    list_display = ("__str__", "pos_refuses_negative_stock", "unpaid_order_minutes")

    def audit_ref(self, obj: Any) -> str:
        return "chain"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not ChainSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1
    autocomplete_fields = ("region", "location")
    verbose_name = "role (chain, region or location)"


class MendianUserAdmin(UserAdmin):
    inlines = [RoleAssignmentInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not RoleAssignment:
            return super().save_formset(request, form, formset, change)
        with transaction.atomic():
            instances = formset.save(commit=False)
            for gone in formset.deleted_objects:
                user_revoke_role(actor=request.user, assignment=gone)
            for a in instances:
                if a.pk:  # changed in place: revoke the old assignment, grant the new one
                    user_revoke_role(actor=request.user, assignment=RoleAssignment.objects.get(pk=a.pk))
                user_grant_role(actor=request.user, user=form.instance, role=a.role, region=a.region,
                                location=a.location)
        return None


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, MendianUserAdmin)
