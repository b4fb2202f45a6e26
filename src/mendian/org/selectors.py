"""Reads of the org context, always through the caller's scope."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from mendian.core.errors import NotFound, unknown_code

from .models import Location, Region
from .scope import Scope, _region_descendants


def region_subtree_ids(code: str) -> set[int]:
    """The region with this code and every region below it; 422 naming ``region`` when unknown."""
    region = Region.objects.filter(code=code).values_list("id", flat=True).first()
    if region is None:
        raise unknown_code("region", code)
    return _region_descendants({region})


def location_list(*, scope: Scope, kind: str | None = None, region: str | None = None,
                  q: str | None = None) -> QuerySet[Location]:
    qs = Location.objects.select_related("region")
    if scope.location_ids is not None:
        qs = qs.filter(pk__in=scope.location_ids)
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        qs = qs.filter(region_id__in=region_subtree_ids(region))
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(city__icontains=q))
    return qs.order_by("code")


def location_get(*, scope: Scope, code: str) -> Location:
    """The location with this code, or 404 — also when it exists outside the caller's scope."""
    loc = Location.objects.select_related("region").filter(code=code).first()
    if loc is None or not scope.sees(loc.pk):
        raise NotFound(f"no location {code!r}", details={"location": code})
    return loc


def region_list(*, scope: Scope) -> list[Region]:
    """Every region for chain-wide users; others see the regions above and below their locations."""
    regions = list(Region.objects.select_related("parent").order_by("code"))
    if scope.location_ids is None:
        return regions
    by_id = {r.id: r for r in regions}
    visible: set[int] = set()
    for region_id in Location.objects.filter(pk__in=scope.location_ids).values_list("region_id", flat=True):
        rid: int | None = region_id
        while rid is not None and rid not in visible:
            visible.add(rid)
            rid = by_id[rid].parent_id
    return [r for r in regions if r.id in visible]
