"""Write use-cases of the org context: regions, locations, role assignments. Each one transaction, audited."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import IntegrityError, transaction

from mendian.core.errors import Conflict, InvalidInput
from mendian.core.snapshot import changed, snapshot
from mendian.platform.audit import audit_record

from .models import Location, Region, Role, RoleAssignment

REGION_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,15}$")
LOCATION_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,15}$")
HQ_GROUP = "hq"
REGION_FIELDS = {"name", "level", "parent"}
LOCATION_FIELDS = {"name", "kind", "region", "city", "address", "latitude", "longitude", "area_m2",
                   "opens_at", "closes_at", "status"}


def _check_region_parent(region: Region | None, parent: Region | None) -> None:
    node = parent
    while node is not None:
        if region is not None and node.pk == region.pk:
            raise InvalidInput("a region cannot be below itself", details={"field": "parent"})
        node = node.parent


def region_create(*, actor: Any, code: str, name: str, level: str = Region.Level.REGION,
                  parent: Region | None = None) -> Region:
    if not REGION_CODE.match(code or ""):
        raise InvalidInput("region codes are short capitals such as KM", details={"field": "code", "value": code})
    if level not in Region.Level.values:
        raise InvalidInput(f"unknown level {level!r}", details={"field": "level"})
    with transaction.atomic():
        if Region.objects.filter(code=code).exists():
            raise Conflict(f"region {code} exists", code="duplicate_code", details={"field": "code"})
        region = Region.objects.create(code=code, name=name, level=level, parent=parent)
        audit_record(actor=actor, action="region.create", object_type="region", object_ref=code,
                     after=snapshot(region))
    return region


def region_update(*, actor: Any, region: Region, **fields: Any) -> Region:
    unknown = set(fields) - REGION_FIELDS
    if unknown:
        raise InvalidInput(f"cannot change {sorted(unknown)}", details={"fields": sorted(unknown)})
    with transaction.atomic():
        region = Region.objects.select_for_update().get(pk=region.pk)
        if "parent" in fields:
            _check_region_parent(region, fields["parent"])
        before = snapshot(region)
        for k, v in fields.items():
            setattr(region, k, v)
        region.save(update_fields=list(fields) or None)
        b, a = changed(before, snapshot(region))
        if a:
            audit_record(actor=actor, action="region.update", object_type="region", object_ref=region.code,
                         before=b, after=a)
    return region


def _check_location(fields: dict[str, Any]) -> None:
    if "kind" in fields and fields["kind"] not in Location.Kind.values:
        raise InvalidInput(f"unknown kind {fields['kind']!r}", details={"field": "kind"})
    if "status" in fields and fields["status"] not in Location.Status.values:
        raise InvalidInput(f"unknown status {fields['status']!r}", details={"field": "status"})
    lat, lon = fields.get("latitude"), fields.get("longitude")
    if lat is not None and not Decimal(-90) <= Decimal(lat) <= Decimal(90):
        raise InvalidInput("latitude out of range", details={"field": "latitude"})
    if lon is not None and not Decimal(-180) <= Decimal(lon) <= Decimal(180):
        raise InvalidInput("longitude out of range", details={"field": "longitude"})
    area = fields.get("area_m2")
    if area is not None and Decimal(area) < 0:
        raise InvalidInput("selling area cannot be negative", details={"field": "area_m2"})
    for f in ("opens_at", "closes_at"):
        if fields.get(f) is not None and not isinstance(fields[f], dt.time):
            raise InvalidInput(f"{f} is a time of day", details={"field": f})


def location_create(*, actor: Any, code: str, name: str, region: Region, kind: str = Location.Kind.STORE,
                    **fields: Any) -> Location:
    unknown = set(fields) - LOCATION_FIELDS
    if unknown:
        raise InvalidInput(f"unknown fields {sorted(unknown)}", details={"fields": sorted(unknown)})
    if not LOCATION_CODE.match(code or ""):
        raise InvalidInput("location codes are capitals and digits such as KM001 or WH01",
                           details={"field": "code", "value": code})
    _check_location({"kind": kind, **fields})
    with transaction.atomic():
        try:
            with transaction.atomic():
                loc = Location.objects.create(code=code, name=name, region=region, kind=kind, **fields)
        except IntegrityError as exc:
            raise Conflict(f"location {code} exists", code="duplicate_code", details={"field": "code"}) from exc
        audit_record(actor=actor, action="location.create", object_type="location", object_ref=code,
                     after=snapshot(loc))
    return loc


def location_update(*, actor: Any, location: Location, **fields: Any) -> Location:
    unknown = set(fields) - LOCATION_FIELDS
    if unknown:
        raise InvalidInput(f"cannot change {sorted(unknown)}", details={"fields": sorted(unknown)})
    _check_location(fields)
    with transaction.atomic():
        loc = Location.objects.select_for_update().get(pk=location.pk)
        before = snapshot(loc)
        for k, v in fields.items():
            setattr(loc, k, v)
        loc.save(update_fields=list(fields) or None)
        b, a = changed(before, snapshot(loc))
        if a:
            audit_record(actor=actor, action="location.update", object_type="location", object_ref=loc.code,
                         before=b, after=a)
    return loc


def _hq_group() -> Group:
    """The admin permissions of HQ: every model of mendian and auth, except seeing personal data whole."""
    from django.apps import apps

    group, _ = Group.objects.get_or_create(name=HQ_GROUP)
    labels = [a.label for a in apps.get_app_configs() if a.name.startswith("mendian.")] + ["auth"]
    perms = Permission.objects.filter(content_type__app_label__in=labels).exclude(
        content_type__app_label="org", codename="view_pii")
    group.permissions.set(perms)
    return group


def _sync_staff(user: AbstractBaseUser) -> None:
    """Django admin is for HQ: staff while the user holds a chain-wide hq role (or is a superuser)."""
    is_hq = RoleAssignment.objects.filter(user=user, role=Role.HQ, region__isnull=True,
                                          location__isnull=True).exists()
    staff = is_hq or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    if is_hq:
        user.groups.add(_hq_group())
    else:
        user.groups.remove(*Group.objects.filter(name=HQ_GROUP))


def _scope_ref(a: RoleAssignment) -> dict[str, Any]:
    return {"role": a.role, "region": a.region.code if a.region_id else None,
            "location": a.location.code if a.location_id else None}


def user_grant_role(*, actor: Any, user: AbstractBaseUser, role: str, region: Region | None = None,
                    location: Location | None = None) -> RoleAssignment:
    """Give ``user`` a role at the chain (neither region nor location), a region, or a location.

    hq and buyer are chain-wide roles; region needs a region; store_manager and cashier a location.
    HQ users become staff (Django admin) with the hq permission group.
    """
    if role not in Role.values:
        raise InvalidInput(f"unknown role {role!r}", details={"field": "role"})
    if region is not None and location is not None:
        raise InvalidInput("a role is held at a region or at a location, not both")
    needs = {Role.HQ: None, Role.BUYER: None, Role.REGION: "region", Role.STORE_MANAGER: "location",
             Role.CASHIER: "location"}[Role(role)]
    has = "region" if region is not None else "location" if location is not None else None
    if needs != has:
        raise InvalidInput(f"role {role} is held at {needs or 'the chain'}", details={"field": needs or "role"})
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(user=user, role=role, region=region,
                                                                   location=location)
        if created:
            audit_record(actor=actor, action="user.grant_role", object_type="user", object_ref=user.get_username(),
                         after=_scope_ref(assignment))
        _sync_staff(user)
    user.__dict__.pop("_mendian_scope", None)
    return assignment


def user_revoke_role(*, actor: Any, assignment: RoleAssignment) -> None:
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=assignment.user_id)
        before = _scope_ref(assignment)
        RoleAssignment.objects.filter(pk=assignment.pk).delete()
        audit_record(actor=actor, action="user.revoke_role", object_type="user", object_ref=user.get_username(),
                     before=before)
        _sync_staff(user)
