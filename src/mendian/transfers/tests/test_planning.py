"""The planner on small instances whose optimum is known by hand or by brute force (no database)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from mendian.transfers.planning.mip import mip_lower_bound
from mendian.transfers.planning.planner import meetable_units, plan_transfers
from mendian.transfers.planning.problem import (
    CostParams,
    Position,
    Site,
    TransferProblem,
    haversine_km,
    need_and_excess,
)

KM = 1 / 111.195  # degrees of latitude per km
LAT, LON = 25.0, 102.7


def site(i: int, north_km: float, kind: str = "store") -> Site:
    return Site(id=i, lat=LAT + north_km * KM, lon=LON, kind=kind)


def costs(**kw) -> CostParams:
    base = dict(cost_per_unit_km=Decimal("0.01"), road_factor=Decimal("1"), lane_fixed_cost=Decimal("30"),
                handling_per_unit=Decimal("0.10"), unmet_penalty_per_unit=Decimal("100"), max_distance_km=150.0)
    base.update(kw)
    return CostParams(**base)


def moves_of(result) -> set[tuple[int, int, int, int]]:
    return {(m.from_id, m.to_id, m.sku_id, m.qty) for m in result.moves}


def test_need_and_excess_follow_safety_stock_reorder_point_and_lost_demand():
    assert need_and_excess(available=3, safety_stock=5, reorder_point=8, lost_demand=2) == (7, 0)
    assert need_and_excess(available=30, safety_stock=5, lead_time_demand=10) == (0, 15)
    assert need_and_excess(available=12, safety_stock=5, lead_time_demand=10) == (0, 0)
    assert need_and_excess(available=20, safety_stock=5, lost_demand=1) == (1, 0)  # lost demand: never a donor


def test_fixed_lane_cost_makes_the_planner_consolidate_on_one_lane():
    # store 1 needs 10 of SKU 1 and 10 of SKU 2; store 2 (2 km) has only SKU 1, store 3 (3 km) only
    # SKU 2, store 4 (6 km) has both. Lane-blind: two lanes; with ¥30 a lane: one lane from store 4.
    sites = [site(1, 0), site(2, 2), site(3, -3), site(4, 6)]
    pos = [Position(1, 1, need=10), Position(1, 2, need=10), Position(2, 1, excess=50), Position(3, 2, excess=50),
           Position(4, 1, excess=50), Position(4, 2, excess=50)]
    res = plan_transfers(TransferProblem.from_positions(sites, pos, costs=costs()), time_limit=1.0)
    assert moves_of(res) == {(4, 1, 1, 10), (4, 1, 2, 10)}
    assert res.cost.lane_count == 1 and res.lane_blind.lane_count == 2
    d41 = haversine_km(LAT + 6 * KM, LON, LAT, LON)
    transport = Decimal(str(round(20 * d41 * 0.01, 2)))
    assert res.cost.lanes == Decimal("30.00")
    assert res.cost.handling == Decimal("2.00")
    assert abs(res.cost.transport - transport) <= Decimal("0.01")
    assert res.cost.unmet_penalty == Decimal("0.00")
    assert res.met_units == res.need_units == 20
    # lane-blind: 2 lanes (¥60) + 10 units × 2 km + 10 units × 3 km
    assert res.lane_blind.lanes == Decimal("60.00")
    assert res.saving == res.lane_blind.total - res.cost.total > 0


def test_without_lane_cost_the_planner_takes_the_nearest_donors():
    sites = [site(1, 0), site(2, 2), site(3, -3), site(4, 6)]
    pos = [Position(1, 1, need=10), Position(1, 2, need=10), Position(2, 1, excess=50), Position(3, 2, excess=50),
           Position(4, 1, excess=50), Position(4, 2, excess=50)]
    res = plan_transfers(TransferProblem.from_positions(sites, pos, costs=costs(lane_fixed_cost=Decimal("0"))),
                         time_limit=1.0)
    assert moves_of(res) == {(2, 1, 1, 10), (3, 1, 2, 10)}


def test_moves_are_whole_packs_and_a_donor_keeps_its_partial_pack():
    # pack of 6: need 5 → one pack (6 units); donor 2 has 5 spare (less than a pack: cannot give);
    # donor 3 has 13 spare (two packs)
    sites = [site(1, 0), site(2, 1), site(3, 4)]
    pos = [Position(1, 7, need=5), Position(2, 7, excess=5), Position(3, 7, excess=13)]
    res = plan_transfers(TransferProblem.from_positions(sites, pos, pack_sizes={7: 6}, costs=costs()), time_limit=1.0)
    assert moves_of(res) == {(3, 1, 7, 6)}
    assert res.moves[0].packs == 1
    assert res.met_units == 5


def test_a_scarce_pack_goes_where_it_meets_the_most_units():
    # one pack of 12 spare; store 1 needs 3, store 2 needs 12: the pack meets 12 at store 2
    sites = [site(1, 0), site(2, 2), site(3, 1)]
    pos = [Position(1, 5, need=3), Position(2, 5, need=12), Position(3, 5, excess=12)]
    res = plan_transfers(TransferProblem.from_positions(sites, pos, pack_sizes={5: 12}, costs=costs()), time_limit=1.0)
    assert moves_of(res) == {(3, 2, 5, 12)}
    assert res.met_units == 12 and res.cost.unmet_units == 3


def test_donors_beyond_the_maximum_distance_are_not_used():
    sites = [site(1, 0), site(2, 200), site(3, 40)]
    pos = [Position(1, 1, need=10), Position(2, 1, excess=100), Position(3, 1, excess=4)]
    res = plan_transfers(TransferProblem.from_positions(sites, pos, costs=costs(max_distance_km=100.0)), time_limit=1.0)
    assert moves_of(res) == {(3, 1, 1, 4)}
    assert res.cost.unmet_units == 6
    assert res.cost.unmet_penalty == Decimal("600.00")
    assert meetable_units(TransferProblem.from_positions(sites, pos, costs=costs(max_distance_km=100.0))) == 4


def test_excluded_locations_and_skus_take_no_part():
    sites = [site(1, 0), site(2, 1), site(3, 3)]
    pos = [Position(1, 1, need=10), Position(1, 2, need=4), Position(2, 1, excess=30), Position(3, 1, excess=30),
           Position(2, 2, excess=30)]
    prob = TransferProblem.from_positions(sites, pos, costs=costs(), excluded_locations=[2], excluded_skus=[2])
    res = plan_transfers(prob, time_limit=1.0)
    assert moves_of(res) == {(3, 1, 1, 10)}
    assert res.need_units == 10  # the excluded SKU's need is not part of this plan


def test_a_small_penalty_leaves_need_unmet_when_moving_costs_more():
    # ¥30 a lane for 2 units at ¥5 penalty each: cheaper to leave them unmet
    sites = [site(1, 0), site(2, 5)]
    pos = [Position(1, 1, need=2), Position(2, 1, excess=10)]
    res = plan_transfers(TransferProblem.from_positions(sites, pos, costs=costs(unmet_penalty_per_unit=Decimal("5"))),
                         time_limit=1.0)
    assert res.moves == []
    assert res.cost.total == Decimal("10.00") and res.cost.unmet_units == 2


def test_warehouses_are_donors():
    sites = [site(1, 0), site(9, 10, kind="warehouse")]
    pos = [Position(1, 1, need=8), Position(9, 1, excess=500)]
    res = plan_transfers(TransferProblem.from_positions(sites, pos, costs=costs()), time_limit=1.0)
    assert moves_of(res) == {(9, 1, 1, 8)}


def _brute_force(sites, pos, c: CostParams) -> Decimal:
    """Every assignment of each need to one donor or to nothing (single-sourcing is optimal here:
    ample excess, unit packs)."""
    by_loc = {s.id: s for s in sites}
    needs = [p for p in pos if p.need]
    donors = {p.sku_id: [q for q in pos if q.sku_id == p.sku_id and q.excess] for p in needs}
    best = None
    for choice in itertools.product(*[[None, *donors[p.sku_id]] for p in needs]):
        lanes, transport, handling, unmet = set(), Decimal(0), Decimal(0), 0
        for p, d in zip(needs, choice, strict=True):
            if d is None:
                unmet += p.need
                continue
            a, b = by_loc[d.location_id], by_loc[p.location_id]
            km = haversine_km(a.lat, a.lon, b.lat, b.lon) * float(c.road_factor)
            lanes.add((d.location_id, p.location_id))
            transport += (Decimal(round(km * float(c.cost_per_unit_km) * 1000)) / 1000) * p.need
            handling += c.handling_per_unit * p.need
        total = transport + handling + c.lane_fixed_cost * len(lanes) + c.unmet_penalty_per_unit * unmet
        best = total if best is None else min(best, total)
    return best.quantize(Decimal("0.01"))


def test_matches_the_brute_force_optimum_on_a_small_instance():
    sites = [site(1, 0), site(2, 4), site(3, -5), site(4, 9), site(5, 2)]
    pos = [Position(1, 1, need=6), Position(1, 2, need=3), Position(1, 3, need=5), Position(5, 2, need=4),
           Position(2, 1, excess=40), Position(2, 3, excess=40), Position(3, 2, excess=40), Position(3, 3, excess=40),
           Position(4, 1, excess=40), Position(4, 2, excess=40), Position(4, 3, excess=40)]
    c = costs(lane_fixed_cost=Decimal("12"))
    res = plan_transfers(TransferProblem.from_positions(sites, pos, costs=c), time_limit=1.0)
    assert res.cost.total == _brute_force(sites, pos, c)


def test_the_mip_bound_never_exceeds_the_plan_and_is_tight_on_a_small_instance():
    sites = [site(1, 0), site(2, 4), site(3, -5), site(4, 9), site(5, 2)]
    pos = [Position(1, 1, need=6), Position(1, 2, need=3), Position(1, 3, need=5), Position(5, 2, need=4),
           Position(2, 1, excess=40), Position(2, 3, excess=40), Position(3, 2, excess=40), Position(3, 3, excess=40),
           Position(4, 1, excess=40), Position(4, 2, excess=40), Position(4, 3, excess=40)]
    prob = TransferProblem.from_positions(sites, pos, costs=costs(lane_fixed_cost=Decimal("12")))
    res = plan_transfers(prob, time_limit=1.0)
    bound = mip_lower_bound(prob, time_limit=20)
    assert bound.bound <= res.cost.total
    assert res.cost.total - bound.bound <= Decimal("0.01")  # solved to optimality: the plan is optimal


@pytest.mark.parametrize("seed", [1, 2])
def test_a_random_chain_meets_all_meetable_need_and_beats_the_lane_blind_plan(seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    sites = [Site(i + 1, LAT + rng.normal(0, 0.1), LON + rng.normal(0, 0.1)) for i in range(40)]
    pos = []
    for sku in range(1, 31):
        for s in sites:
            r = rng.random()
            if r < 0.1:
                pos.append(Position(s.id, sku, need=int(rng.integers(1, 12))))
            elif r < 0.25:
                pos.append(Position(s.id, sku, excess=int(rng.integers(1, 20))))
    prob = TransferProblem.from_positions(sites, pos, pack_sizes={3: 6, 4: 12}, costs=costs())
    res = plan_transfers(prob, time_limit=1.0)
    assert res.met_units == meetable_units(prob)
    assert res.cost.total <= res.lane_blind.total
    assert res.cost.total == res.cost.transport + res.cost.lanes + res.cost.handling + res.cost.unmet_penalty
    assert sum(m.qty for m in res.moves) == res.cost.moved_units
    # no donor gives more than its excess, whole packs only
    given: dict[tuple[int, int], int] = {}
    for m in res.moves:
        given[(m.from_id, m.sku_id)] = given.get((m.from_id, m.sku_id), 0) + m.qty
        assert m.qty == m.packs * {3: 6, 4: 12}.get(m.sku_id, 1)
    excess = {(p.location_id, p.sku_id): p.excess for p in pos}
    assert all(q <= excess[k] for k, q in given.items())


def test_sourcing_prefers_one_location_that_holds_every_line():
    from mendian.transfers.planning.sourcing import SourcingLine, propose_sourcing

    sites = [site(1, 0), site(2, 1), site(3, -1), site(4, 3)]
    available = {(2, 1): 5, (3, 2): 5, (4, 1): 9, (4, 2): 9}
    prop = propose_sourcing(sites=sites, target_id=1, lines=[SourcingLine(1, 2), SourcingLine(2, 3)],
                            available=available, costs=costs())
    assert prop.sources == [4]
    assert {(o.from_id, o.sku_id, o.quantity) for o in prop.options} == {(4, 1, 2), (4, 2, 3)}
    assert prop.covered_units == 5 and prop.short_units == 0


def test_sourcing_reports_what_no_location_can_cover():
    from mendian.transfers.planning.sourcing import SourcingLine, propose_sourcing

    sites = [site(1, 0), site(2, 1)]
    prop = propose_sourcing(sites=sites, target_id=1, lines=[SourcingLine(1, 8)], available={(2, 1): 3},
                            costs=costs())
    assert [(o.from_id, o.quantity) for o in prop.options] == [(2, 3)]
    assert prop.short_units == 5
