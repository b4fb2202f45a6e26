"""Customer-driven sourcing: for an order a location cannot fill, the best other location(s) to ship
from — the same planner on a one-needy-location problem, so a single source that holds every line
beats several (the lane's fixed cost), distance and pack sizes count, and far donors are excluded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from .planner import plan_transfers
from .problem import CostParams, Position, Site, TransferProblem


@dataclass(frozen=True)
class SourcingLine:
    sku_id: int
    quantity: int  # units short at the target


@dataclass(frozen=True)
class SourcingOption:
    from_id: int
    sku_id: int
    quantity: int
    distance_km: float


@dataclass(frozen=True)
class SourcingProposal:
    target_id: int
    options: list[SourcingOption]
    sources: list[int]          # locations to ship from, in order of units supplied
    covered_units: int
    short_units: int
    cost: Decimal               # transport + lanes + handling of the proposal


def propose_sourcing(*, sites: Iterable[Site], target_id: int, lines: Iterable[SourcingLine],
                     available: Mapping[tuple[int, int], int], pack_sizes: Mapping[int, int] | None = None,
                     costs: CostParams | None = None, excluded_locations: Iterable[int] = ()) -> SourcingProposal:
    """``available[(location id, sku id)]`` = units that location may give (its excess, or what it
    can spare for a customer). Returns the cheapest way to cover the lines from other locations."""
    lines = [ln for ln in lines if ln.quantity > 0]
    positions = [Position(target_id, ln.sku_id, need=ln.quantity) for ln in lines]
    wanted = {ln.sku_id for ln in lines}
    positions += [Position(loc, sku, excess=q) for (loc, sku), q in available.items()
                  if loc != target_id and sku in wanted and q > 0]
    need = sum(ln.quantity for ln in lines)
    if not positions or not any(p.excess for p in positions):
        return SourcingProposal(target_id, [], [], 0, need, Decimal("0.00"))
    prob = TransferProblem.from_positions(sites, positions, pack_sizes=pack_sizes, costs=costs,
                                          excluded_locations=excluded_locations)
    res = plan_transfers(prob, time_limit=0.5)
    options = [SourcingOption(m.from_id, m.sku_id, m.qty, m.distance_km) for m in res.moves]
    by_source: dict[int, int] = {}
    for o in options:
        by_source[o.from_id] = by_source.get(o.from_id, 0) + o.quantity
    sources = sorted(by_source, key=lambda k: (-by_source[k], k))
    return SourcingProposal(target_id=target_id, options=options, sources=sources, covered_units=res.met_units,
                            short_units=need - res.met_units,
                            cost=res.cost.transport + res.cost.lanes + res.cost.handling)
