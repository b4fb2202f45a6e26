"""Who sees what in the console: the same scope as the API (``mendian.org.scope.user_scope``).

A page about a location outside the user's scope is a 404, never a 403: it does not exist for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from mendian.org.models import Location, Region
from mendian.org.scope import Scope, user_scope


@dataclass(frozen=True)
class Persona:
    """The console's view of a user: which dashboards and pages they get."""

    scope: Scope
    kind: str  # hq | region | buyer | store
    home_region: Region | None
    home_store: Location | None

    @property
    def is_store(self) -> bool:
        return self.kind == "store"

    def can(self, *roles: str, location_id: int | None = None) -> bool:
        return self.scope.has_role(*roles, location_id=location_id)


def persona(request: HttpRequest) -> Persona:
    cached = getattr(request, "_mendian_persona", None)
    if cached is not None:
        return cached
    scope = user_scope(request.user)
    home_region = home_store = None
    if scope.chain_wide:
        kind = "buyer" if ("buyer" in scope.roles and "hq" not in scope.roles) else "hq"
    elif "region" in scope.roles:
        kind = "region"
        ra = request.user.role_assignments.filter(role="region", region__isnull=False).select_related("region").first()
        home_region = ra.region if ra else None
    else:
        kind = "store"
        ids = sorted(scope.location_ids or [])
        home_store = Location.objects.filter(pk__in=ids).order_by("code").first()
    p = Persona(scope=scope, kind=kind, home_region=home_region, home_store=home_store)
    request._mendian_persona = p
    return p


def console_view(fn: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in users only (others go to /login/); the persona is on ``request.persona``."""

    @login_required
    @wraps(fn)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.persona = persona(request)
        return fn(request, *args, **kwargs)

    return wrapper


def visible_locations(request: HttpRequest, *, kind: str | None = None):
    qs = Location.objects.select_related("region")
    if kind:
        qs = qs.filter(kind=kind)
    scope = persona(request).scope
    if not scope.chain_wide:
        qs = qs.filter(pk__in=scope.location_ids)
    return qs.order_by("code")


def location_or_404(request: HttpRequest, code: str) -> Location:
    loc = Location.objects.select_related("region").filter(code=code).first()
    if loc is None or not persona(request).scope.sees(loc.pk):
        raise Http404("no such location")
    return loc


def region_or_404(request: HttpRequest, code: str) -> Region:
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise Http404("no such region")
    scope = persona(request).scope
    if not scope.chain_wide and region.pk not in visible_region_ids(request):
        raise Http404("no such region")
    return region


def visible_region_ids(request: HttpRequest) -> set[int]:
    """Regions holding a visible location, and their ancestors."""
    parents = dict(Region.objects.values_list("id", "parent_id"))
    found: set[int] = set()
    for rid in visible_locations(request).values_list("region_id", flat=True).distinct():
        while rid is not None and rid not in found:
            found.add(rid)
            rid = parents.get(rid)
    return found
