"""Who may see what: HQ all; a region its locations; a store user their location(s).

Enforced in the query layer: every selector of a location-bound document filters by
``Scope.location_ids`` (None = the whole chain). A document outside the scope is a 404, not a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from .models import Location, Region, Role, RoleAssignment


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    roles: frozenset[str]
    location_ids: frozenset[int] | None  # None: the whole chain
    pii: bool | Callable[[], bool] = False  # a bool, or a function asked the first time it matters
    roles_at: dict[int, frozenset[str]] = field(default_factory=dict)  # location id -> roles there

    @cached_property
    def can_view_pii(self) -> bool:
        """May see personal data whole. Permission look-ups cost two queries, so only when asked."""
        return bool(self.pii()) if callable(self.pii) else bool(self.pii)

    @property
    def is_hq(self) -> bool:
        return "hq" in self.roles

    @property
    def chain_wide(self) -> bool:
        return self.location_ids is None

    def sees(self, location_id: int) -> bool:
        return self.location_ids is None or location_id in self.location_ids

    def has_role(self, *roles: str, location_id: int | None = None) -> bool:
        """True when the user holds one of ``roles`` chain-wide, or at ``location_id``."""
        wanted = set(roles)
        if location_id is None:
            return bool(wanted & self.roles)
        if self._chain_roles() & wanted:
            return True
        return bool(wanted & self.roles_at.get(location_id, frozenset()))

    def _chain_roles(self) -> set[str]:
        return {r for r in self.roles if r in {"hq", "buyer"}}

    def filter_locations(self, qs: QuerySet, field_name: str = "location") -> QuerySet:
        if self.location_ids is None:
            return qs
        return qs.filter(**{f"{field_name}__in": self.location_ids})


def _region_descendants(region_ids: set[int]) -> set[int]:
    found = set(region_ids)
    frontier = set(region_ids)
    while frontier:
        frontier = set(Region.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - found
        found |= frontier
    return found


def user_scope(user: AbstractBaseUser | AnonymousUser | None) -> Scope:
    if user is None or not user.is_authenticated:
        return Scope(user_id=None, roles=frozenset(), location_ids=frozenset())
    cached = getattr(user, "_mendian_scope", None)
    if cached is not None:
        return cached
    assignments = list(RoleAssignment.objects.filter(user=user).values_list("role", "region_id", "location_id"))
    roles = frozenset(a[0] for a in assignments)

    def can_pii() -> bool:
        return user.is_superuser or user.has_perm("org.view_pii")

    if user.is_superuser or any(r in {Role.HQ, Role.BUYER} and loc is None and reg is None for r, reg, loc in assignments):
        scope = Scope(user_id=user.pk, roles=roles | ({"hq"} if user.is_superuser else set()), location_ids=None,
                      pii=can_pii)
    else:
        region_ids = {reg for _, reg, _ in assignments if reg is not None}
        regions = _region_descendants(region_ids) if region_ids else set()
        roles_at: dict[int, set[str]] = {}
        loc_q = Q(pk__in=[loc for _, _, loc in assignments if loc is not None])
        for role, _reg, loc in assignments:
            if loc is not None:
                roles_at.setdefault(loc, set()).add(role)
        if regions:
            loc_q |= Q(region_id__in=regions)
            region_roles = {r for r, reg, _ in assignments if reg is not None}
            for loc_id, _reg_id in Location.objects.filter(region_id__in=regions).values_list("id", "region_id"):
                roles_at.setdefault(loc_id, set()).update(region_roles)
        if regions:
            ids = frozenset(Location.objects.filter(loc_q).values_list("id", flat=True))
        else:  # location assignments only: no query needed
            ids = frozenset(roles_at)
        scope = Scope(user_id=user.pk, roles=roles, location_ids=ids, pii=can_pii,
                      roles_at={k: frozenset(v) for k, v in roles_at.items()})
    user._mendian_scope = scope
    return scope
