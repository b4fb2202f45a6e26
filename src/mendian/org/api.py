"""Locations, regions and the caller's own roles. Every list is cut to the caller's scope."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.schema import Field

from mendian.platform.schemas import ErrorOut

from .models import Location, RoleAssignment
from .schemas import LocationListOut, LocationOut, MeOut, RegionListOut, RegionOut, RoleOut
from .scope import user_scope
from .selectors import location_get, location_list, region_list

router = Router(tags=["org"])


class LocationFilter(Schema):
    kind: Location.Kind | None = None
    region: str | None = Field(None, max_length=16, description="region code; includes its sub-regions")
    q: str | None = Field(None, max_length=100, description="part of the code, name or city")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


def location_out(loc: Location) -> LocationOut:
    return LocationOut(
        code=loc.code, name=loc.name, kind=loc.kind, region=loc.region.code, city=loc.city, address=loc.address,
        latitude=float(loc.latitude) if loc.latitude is not None else None,
        longitude=float(loc.longitude) if loc.longitude is not None else None,
        area_m2=float(loc.area_m2) if loc.area_m2 is not None else None,
        opens_at=loc.opens_at, closes_at=loc.closes_at, status=loc.status,
    )


@router.get("/locations", response={200: LocationListOut, 401: ErrorOut, 422: ErrorOut})
def locations(request: HttpRequest, filters: Query[LocationFilter]):
    """Stores, warehouses and transit locations the caller may see (filters: kind, region, q)."""
    qs = location_list(scope=user_scope(request.user), kind=filters.kind, region=filters.region, q=filters.q)
    count = qs.count()
    items = [location_out(loc) for loc in qs[filters.offset: filters.offset + filters.limit]]
    return {"items": items, "count": count}


@router.get("/locations/{code}", response={200: LocationOut, 401: ErrorOut, 404: ErrorOut})
def location(request: HttpRequest, code: str):
    return location_out(location_get(scope=user_scope(request.user), code=code))


@router.get("/regions", response={200: RegionListOut, 401: ErrorOut})
def regions(request: HttpRequest):
    """The region tree (HQ → region → district), cut to the caller's scope."""
    items = [RegionOut(code=r.code, name=r.name, level=r.level, parent=r.parent.code if r.parent else None)
             for r in region_list(scope=user_scope(request.user))]
    return {"items": items, "count": len(items)}


def _role_out(a: RoleAssignment) -> RoleOut:
    if a.location_id:
        return RoleOut(role=a.role, scope="location", location=a.location.code)
    if a.region_id:
        return RoleOut(role=a.role, scope="region", region=a.region.code)
    return RoleOut(role=a.role, scope="chain")


@router.get("/me", response={200: MeOut, 401: ErrorOut})
def me(request: HttpRequest):
    """Who the caller is: roles with their scopes, whether they see personal data whole, how many locations."""
    user = request.user
    scope = user_scope(user)
    assignments = RoleAssignment.objects.filter(user=user).select_related("region", "location").order_by("id")
    visible = Location.objects.count() if scope.location_ids is None else len(scope.location_ids)
    roles = [_role_out(a) for a in assignments]
    if user.is_superuser and not any(r.role == "hq" and r.scope == "chain" for r in roles):
        roles.insert(0, RoleOut(role="hq", scope="chain"))
    return MeOut(username=user.get_username(), name=user.get_full_name() if hasattr(user, "get_full_name") else "",
                 roles=roles, can_view_pii=scope.can_view_pii, chain_wide=scope.chain_wide,
                 visible_locations=visible)


