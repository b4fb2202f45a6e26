"""The transfer-planning problem as plain data (no Django): sites, positions, packs, costs.

Positions are held as numpy arrays because a chain of 3,000 stores × 500 SKUs has hundreds of
thousands of (location, SKU) rows with a need or an excess; :meth:`TransferProblem.from_positions`
builds them from plain dataclasses for small callers and tests.

Money: parameters are ``Decimal``; internally the solver works in integer milli-yuan (¥0.001) per
arc and unit, so every sum of a plan is exact and reported as ``Decimal`` with two places.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

EARTH_RADIUS_KM = 6371.0088
MILLI = 1000  # solver money unit: 1 = ¥0.001


@dataclass(frozen=True)
class Site:
    """A location that holds stock: id, coordinates (degrees), kind (store / warehouse)."""

    id: int
    lat: float
    lon: float
    kind: str = "store"


@dataclass(frozen=True)
class Position:
    """Need and excess of one SKU at one location, in base units."""

    location_id: int
    sku_id: int
    need: int = 0
    excess: int = 0


@dataclass(frozen=True)
class CostParams:
    """Cost model of a plan. Transport is per unit and road km (haversine × road factor, or the
    imported distance matrix); a lane (ordered pair of locations with at least one move) costs a
    fixed amount once however many SKUs travel on it."""

    cost_per_unit_km: Decimal = Decimal("0.005")
    road_factor: Decimal = Decimal("1.3")
    lane_fixed_cost: Decimal = Decimal("30")
    handling_per_unit: Decimal = Decimal("0.20")
    unmet_penalty_per_unit: Decimal = Decimal("60")
    max_distance_km: float | None = 150.0


def need_and_excess(*, available: int, safety_stock: int, reorder_point: int = 0, lost_demand: int = 0,
                    lead_time_demand: int = 0) -> tuple[int, int]:
    """(need, excess) of one (location, SKU).

    need = shortfall below max(safety stock, reorder point) plus recent lost demand; excess = stock
    above what the location needs over the lead time plus its safety stock (it may give that away
    without going short itself). A location never both needs and gives.
    """
    target = max(safety_stock, reorder_point)
    need = max(0, target - available) + max(0, lost_demand)
    if need > 0:
        return need, 0
    excess = max(0, available - (lead_time_demand + safety_stock))
    return 0, excess


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: Euclidean (chord) distance is monotone in great-circle distance,
    so a KD-tree on these answers nearest-neighbour questions exactly."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def chord_for_km(km: float) -> float:
    return 2.0 * math.sin(min(math.pi, km / EARTH_RADIUS_KM) / 2.0)


def km_for_chord(chord: np.ndarray) -> np.ndarray:
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def to_milli(value: Decimal) -> int:
    return int((Decimal(value) * MILLI).to_integral_value(rounding=ROUND_HALF_UP))


def money_from_milli(milli: int) -> Decimal:
    return (Decimal(int(milli)) / MILLI).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class TransferProblem:
    """Locations as arrays (index = position in ``loc_ids``) and positions as arrays of rows.

    ``pos_loc`` indexes into the location arrays; ``pos_sku`` is the SKU id. Rows with neither need
    nor excess may be left out. ``pack_sizes`` maps SKU id → base units per pack (default 1): moves are
    whole packs. ``distance_km`` optionally maps (from id, to id) → road km, used instead of
    haversine × road factor where present.
    """

    loc_ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    is_warehouse: np.ndarray
    pos_loc: np.ndarray
    pos_sku: np.ndarray
    pos_need: np.ndarray
    pos_excess: np.ndarray
    pack_sizes: Mapping[int, int] = field(default_factory=dict)
    costs: CostParams = field(default_factory=CostParams)
    distance_km: Mapping[tuple[int, int], float] | None = None
    excluded_locations: frozenset[int] = frozenset()
    excluded_skus: frozenset[int] = frozenset()

    @classmethod
    def from_positions(cls, sites: Iterable[Site], positions: Iterable[Position], *,
                       pack_sizes: Mapping[int, int] | None = None, costs: CostParams | None = None,
                       distance_km: Mapping[tuple[int, int], float] | None = None,
                       excluded_locations: Iterable[int] = (), excluded_skus: Iterable[int] = ()) -> TransferProblem:
        sites = list(sites)
        index = {s.id: i for i, s in enumerate(sites)}
        rows = [(index[p.location_id], p.sku_id, int(p.need), int(p.excess)) for p in positions
                if p.location_id in index and (p.need > 0 or p.excess > 0)]
        arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
        return cls(
            loc_ids=np.array([s.id for s in sites], dtype=np.int64),
            lat=np.array([float(s.lat) for s in sites], dtype=np.float64),
            lon=np.array([float(s.lon) for s in sites], dtype=np.float64),
            is_warehouse=np.array([s.kind == "warehouse" for s in sites], dtype=bool),
            pos_loc=arr[:, 0], pos_sku=arr[:, 1], pos_need=arr[:, 2], pos_excess=arr[:, 3],
            pack_sizes=dict(pack_sizes or {}), costs=costs or CostParams(), distance_km=distance_km,
            excluded_locations=frozenset(excluded_locations), excluded_skus=frozenset(excluded_skus),
        )

    @property
    def need_units(self) -> int:
        keep = self._kept_rows()
        return int(self.pos_need[keep].sum())

    def _kept_rows(self) -> np.ndarray:
        keep = np.ones(len(self.pos_loc), dtype=bool)
        if self.excluded_locations:
            ex = np.isin(self.loc_ids, np.fromiter(self.excluded_locations, dtype=np.int64))
            keep &= ~ex[self.pos_loc]
        if self.excluded_skus:
            keep &= ~np.isin(self.pos_sku, np.fromiter(self.excluded_skus, dtype=np.int64))
        return keep
