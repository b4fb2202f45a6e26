from __future__ import annotations

import datetime as dt

from ninja import Schema


class LocationOut(Schema):
    code: str
    name: str
    kind: str
    region: str
    city: str
    address: str
    latitude: float | None
    longitude: float | None
    area_m2: float | None
    opens_at: dt.time | None
    closes_at: dt.time | None
    status: str


class LocationListOut(Schema):
    items: list[LocationOut]
    count: int


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None


class RegionListOut(Schema):
    items: list[RegionOut]
    count: int


class RoleOut(Schema):
    role: str
    scope: str  # chain, region or location
    region: str | None = None
    location: str | None = None


class MeOut(Schema):
    username: str
    name: str
    roles: list[RoleOut]
    can_view_pii: bool
    chain_wide: bool
    visible_locations: int
