"""The transfer planner: per-SKU min-cost flow on sparse candidate arcs, with the fixed cost of a
lane (an ordered pair of locations) handled by dynamic slope scaling and lane-closing rounds.

Why this shape. The exact model is a multi-commodity fixed-charge network flow (one binary per lane
shared by all SKUs); at chain scale a MIP does not even return a bound in seconds. Given the lanes'
fixed costs, though, each SKU is an independent transportation problem, so:

1. Candidate arcs, sparse: per SKU, the ``k`` nearest donors (KD-tree on unit-sphere points) of each
   needy location within the maximum distance, plus every warehouse donor within reach. SKUs where
   the sparse arcs leave need unmet while some donor within reach still has excess get all arcs
   within reach, so the plan meets all need the chain's excess can meet.
2. The lane-blind plan: per-SKU min-cost flow with transport + handling only (the comparison point).
3. Dynamic slope scaling (Kim & Pardalos): re-solve every SKU with each lane's fixed cost amortised
   over the lane's total volume in the previous round (over its potential volume before it is
   used). Lanes that carry little lose their traffic to lanes that carry much; the true objective
   is evaluated every round and the best plan kept.
4. Lane-closing rounds: close batches of the smallest open lanes, re-solve only the SKUs that used
   them, keep the closure when the true objective falls (the batch grows), else undo it (the batch
   shrinks), until the time limit.

Unmet need costs a penalty per unit; moves are whole packs (a partial last pack is the one left
unmet first). Costs are integers in milli-yuan, so every figure is exact.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .problem import (
    MILLI,
    TransferProblem,
    chord_for_km,
    km_for_chord,
    money_from_milli,
    to_milli,
    unit_xyz,
)


class Move(NamedTuple):
    """One planned move (a tuple: 100,000 of them are built in a fraction of a frozen dataclass's time)."""

    from_id: int
    to_id: int
    sku_id: int
    qty: int  # base units (whole packs)
    packs: int
    distance_km: float


@dataclass(frozen=True)
class CostBreakdown:
    transport: object  # Decimal
    lanes: object
    handling: object
    unmet_penalty: object
    total: object
    lane_count: int
    moved_units: int
    unmet_units: int

    def as_dict(self) -> dict:
        return {"transport": str(self.transport), "lanes": str(self.lanes), "handling": str(self.handling),
                "unmet_penalty": str(self.unmet_penalty), "total": str(self.total), "lane_count": self.lane_count,
                "moved_units": self.moved_units, "unmet_units": self.unmet_units}


@dataclass(frozen=True)
class PlanResult:
    moves: list[Move]
    cost: CostBreakdown
    lane_blind: CostBreakdown
    need_units: int
    met_units: int
    seconds: float
    rounds: int
    saving: object  # Decimal: lane_blind.total − cost.total
    saving_pct: float
    candidate_arcs: int
    mip_bound: object | None = None  # Decimal
    mip_gap_pct: float | None = None
    stats: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- prep

@dataclass
class _SkuGraph:
    sku: int
    pack: int
    donor_loc: np.ndarray      # location index per donor
    sup: np.ndarray            # packs each donor may give
    needy_loc: np.ndarray      # location index per needy location
    need: np.ndarray           # units needed
    dem: np.ndarray            # packs that would cover the need
    arc_d: np.ndarray = None   # local donor index per candidate arc
    arc_n: np.ndarray = None   # local needy index per candidate arc
    arc_km: np.ndarray = None


def _copy_graphs(graphs: list[_SkuGraph]) -> list[_SkuGraph]:
    return [_SkuGraph(sku=g.sku, pack=g.pack, donor_loc=g.donor_loc, sup=g.sup, needy_loc=g.needy_loc, need=g.need,
                      dem=g.dem, arc_d=g.arc_d, arc_n=g.arc_n, arc_km=g.arc_km) for g in graphs]


def _road_km(problem: TransferProblem, from_loc: np.ndarray, to_loc: np.ndarray, chord: np.ndarray) -> np.ndarray:
    km = km_for_chord(chord) * float(problem.costs.road_factor)
    if problem.distance_km:
        ids = problem.loc_ids
        dm = problem.distance_km
        for j in range(len(km)):
            v = dm.get((int(ids[from_loc[j]]), int(ids[to_loc[j]])))
            if v is not None:
                km[j] = float(v)
    return km


def _max_chord(problem: TransferProblem) -> float:
    d = problem.costs.max_distance_km
    if d is None or problem.distance_km:  # an imported matrix may bring a far pair within reach
        return np.inf
    # max distance is in road km; the road factor stretches straight km
    return chord_for_km(float(d) / float(problem.costs.road_factor)) * (1 + 1e-12)


def _within_reach(problem: TransferProblem, g: _SkuGraph, arc_d: np.ndarray, arc_n: np.ndarray,
                  xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chord = np.linalg.norm(xyz[g.needy_loc[arc_n]] - xyz[g.donor_loc[arc_d]], axis=1) if len(arc_n) else np.zeros(0)
    km = _road_km(problem, g.donor_loc[arc_d], g.needy_loc[arc_n], chord)
    if problem.costs.max_distance_km is not None:
        ok = km <= float(problem.costs.max_distance_km) + 1e-9
        arc_d, arc_n, km = arc_d[ok], arc_n[ok], km[ok]
    return arc_d.astype(np.int64), arc_n.astype(np.int64), km


def _prepare_graphs(problem: TransferProblem, k_nearest: int) -> tuple[list[_SkuGraph], int, np.ndarray]:
    """One graph per SKU with need somewhere and excess somewhere; candidate arcs = the ``k`` nearest
    donors within reach of each needy location plus every warehouse donor within reach."""
    keep = problem._kept_rows()
    loc, sku = problem.pos_loc[keep], problem.pos_sku[keep]
    need, excess = problem.pos_need[keep], problem.pos_excess[keep]
    order = np.lexsort((loc, sku))
    loc, sku, need, excess = loc[order], sku[order], need[order], excess[order]
    bounds = np.flatnonzero(np.diff(sku)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(sku)]))
    xyz = unit_xyz(problem.lat, problem.lon)
    graphs: list[_SkuGraph] = []
    no_arc_need = 0
    for a, b in zip(starts, ends, strict=True):
        if a == b:
            continue
        s = int(sku[a])
        p = max(1, int(problem.pack_sizes.get(s, 1)))
        sl = slice(a, b)
        sup = excess[sl] // p
        dmask = sup > 0
        nmask = need[sl] > 0
        if not nmask.any():
            continue
        nd_ = need[sl][nmask]
        if not dmask.any():
            no_arc_need += int(nd_.sum())
            continue
        g = _SkuGraph(sku=s, pack=p, donor_loc=loc[sl][dmask], sup=sup[dmask], needy_loc=loc[sl][nmask],
                      need=nd_, dem=-(-nd_ // p))
        _sparse_arcs(problem, g, xyz, k_nearest)
        graphs.append(g)
    return graphs, no_arc_need, xyz


def _sparse_arcs(problem: TransferProblem, g: _SkuGraph, xyz: np.ndarray, k: int) -> None:
    nd, nn = len(g.donor_loc), len(g.needy_loc)
    if problem.distance_km:
        arc_n, arc_d = np.repeat(np.arange(nn), nd), np.tile(np.arange(nd), nn)
        g.arc_d, g.arc_n, g.arc_km = _within_reach(problem, g, arc_d, arc_n, xyz)
        return
    kk = min(k, nd)
    _, idx = cKDTree(xyz[g.donor_loc]).query(xyz[g.needy_loc], k=kk, distance_upper_bound=_max_chord(problem))
    idx = idx.reshape(nn, kk)
    ok = idx < nd
    arc_n, arc_d = np.nonzero(ok)[0], idx[ok]
    wh = np.nonzero(problem.is_warehouse[g.donor_loc])[0]
    if len(wh) and nd > kk:  # warehouses are natural hubs: always a candidate within reach
        arc_n = np.concatenate((arc_n, np.repeat(np.arange(nn), len(wh))))
        arc_d = np.concatenate((arc_d, np.tile(wh, nn)))
        _, first = np.unique(arc_n * nd + arc_d, return_index=True)
        arc_n, arc_d = arc_n[first], arc_d[first]
    g.arc_d, g.arc_n, g.arc_km = _within_reach(problem, g, arc_d, arc_n, xyz)


def _neighbour_table(problem: TransferProblem, xyz: np.ndarray, k: int) -> np.ndarray:
    """For every location its ``k`` nearest other locations within reach (−1 pads): lanes worth
    considering whatever SKU they carry, so that a lane opened for one SKU can take the others."""
    n = len(xyz)
    kk = min(k + 1, n)
    _, idx = cKDTree(xyz).query(xyz, k=kk, distance_upper_bound=_max_chord(problem))
    idx = idx.reshape(n, kk)
    idx = np.where(idx >= n, -1, idx)
    return np.where(idx == np.arange(n)[:, None], -1, idx)


def _add_neighbour_arcs(problem: TransferProblem, g: _SkuGraph, xyz: np.ndarray, nbr: np.ndarray) -> None:
    lookup = np.full(len(xyz), -1, dtype=np.int64)
    lookup[g.donor_loc] = np.arange(len(g.donor_loc))
    cand = nbr[g.needy_loc]
    local = np.where(cand >= 0, lookup[np.maximum(cand, 0)], -1)
    n_idx, k_idx = np.nonzero(local >= 0)
    if len(n_idx) == 0:
        return
    d_new = local[n_idx, k_idx]
    nd = len(g.donor_loc)
    fresh = ~np.isin(n_idx * nd + d_new, g.arc_n * nd + g.arc_d)
    d_new, n_new, km = _within_reach(problem, g, d_new[fresh], n_idx[fresh], xyz)
    g.arc_d = np.concatenate((g.arc_d, d_new))
    g.arc_n = np.concatenate((g.arc_n, n_new))
    g.arc_km = np.concatenate((g.arc_km, km))


def _reach_arcs(problem: TransferProblem, g: _SkuGraph, xyz: np.ndarray, needy: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arcs from every donor within reach to the given needy locations (local indexes), minus those
    the graph has already."""
    if not np.isfinite(_max_chord(problem)):
        arc_n = np.repeat(needy, len(g.donor_loc))
        arc_d = np.tile(np.arange(len(g.donor_loc)), len(needy))
    else:
        lists = cKDTree(xyz[g.donor_loc]).query_ball_point(xyz[g.needy_loc[needy]], r=_max_chord(problem))
        sizes = np.array([len(v) for v in lists], dtype=np.int64)
        arc_n = np.repeat(needy, sizes)
        arc_d = np.fromiter((d for v in lists for d in v), dtype=np.int64, count=int(sizes.sum()))
    nd = len(g.donor_loc)
    fresh = ~np.isin(arc_n * nd + arc_d, g.arc_n * nd + g.arc_d) if len(g.arc_d) else np.ones(len(arc_n), bool)
    return _within_reach(problem, g, arc_d[fresh], arc_n[fresh], xyz)


def _path_region(g: _SkuGraph, f: np.ndarray, xyz: np.ndarray, max_chord: float) -> np.ndarray | None:
    """Needy locations (local indexes) to give every arc within reach so that an exact re-solve
    meets all the SKU's excess can meet; None when the flow ``f`` already does.

    An alternating search runs from the unmet needy over every arc within reach — unmet needy → any
    donor within reach → the needy it serves → … — and succeeds when it reaches a donor with excess
    left (an augmenting path exists); the needy locations it explored get the arcs."""
    received = np.bincount(g.arc_n, weights=f * g.pack, minlength=len(g.need)) if len(f) else np.zeros(len(g.need))
    unmet = received < g.need
    if not unmet.any():
        return None
    given = np.bincount(g.arc_d, weights=f, minlength=len(g.sup)) if len(f) else np.zeros(len(g.sup))
    spare = given < g.sup
    if not spare.any():
        return None
    if not np.isfinite(max_chord):
        return np.arange(len(g.need))
    tree = cKDTree(xyz[g.donor_loc])
    serves: dict[int, list[int]] = {}
    for d, n in zip(g.arc_d[f > 0].tolist(), g.arc_n[f > 0].tolist(), strict=True):
        serves.setdefault(d, []).append(n)
    seen_n = set(np.nonzero(unmet)[0].tolist())
    seen_d: set[int] = set()
    frontier = list(seen_n)
    found = False
    while frontier and not found:
        nxt = []
        for ds in tree.query_ball_point(xyz[g.needy_loc[frontier]], r=max_chord):
            for d in ds:
                if d in seen_d:
                    continue
                seen_d.add(d)
                found = found or bool(spare[d])
                for n in serves.get(d, ()):
                    if n not in seen_n:
                        seen_n.add(n)
                        nxt.append(n)
        frontier = nxt
    if not found:
        return None
    return np.fromiter(seen_n, dtype=np.int64, count=len(seen_n))


class _Network:
    """Candidate arcs of every SKU in global arrays; ``sku_arcs[i]`` holds SKU i's arc ids."""

    def __init__(self, graphs: list[_SkuGraph], problem: TransferProblem, no_arc_need: int) -> None:
        self.graphs = graphs
        self.problem = problem
        self.no_arc_need = no_arc_need  # need of SKUs without any donor (always unmet)
        c = problem.costs
        self.rate_milli = float(c.cost_per_unit_km) * MILLI
        self.handling_milli = to_milli(c.handling_per_unit)
        self.lane_milli = to_milli(c.lane_fixed_cost)
        self.penalty_milli = to_milli(c.unmet_penalty_per_unit)
        self.max_flow_first = _max_flow_first(problem)
        self.n_loc = len(problem.loc_ids)
        self.stats: dict = {}
        g = graphs
        self.needy_starts = np.concatenate(([0], np.cumsum([len(x.need) for x in g]))).astype(np.int64)
        self.donor_starts = np.concatenate(([0], np.cumsum([len(x.sup) for x in g]))).astype(np.int64)
        self.need_all = np.concatenate([x.need for x in g]).astype(np.int64) if g else np.zeros(0, np.int64)
        self.sup_all = np.concatenate([x.sup for x in g]).astype(np.int64) if g else np.zeros(0, np.int64)
        self.dem_all = np.concatenate([x.dem for x in g]).astype(np.int64) if g else np.zeros(0, np.int64)
        self.n_arcs = 0
        self.sku_arcs: list[np.ndarray] = [np.zeros(0, np.int64) for _ in g]
        for name in ("a_sku", "a_from", "a_to", "a_pack", "a_needy", "a_donor", "a_transport_unit", "a_cap", "a_lane"):
            setattr(self, name, np.zeros(0, np.int64))
        self.a_km = np.zeros(0)
        self.lane_keys = np.zeros(0, np.int64)
        self._lane_sorted = np.zeros(0, np.int64)
        self._lane_order = np.zeros(0, np.int64)
        self._append({i: (x.arc_d, x.arc_n, x.arc_km) for i, x in enumerate(g)}, update_graphs=False)

    @property
    def n_lanes(self) -> int:
        return len(self.lane_keys)

    def extend(self, new: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        self._append(new, update_graphs=True)

    def _append(self, new: dict, update_graphs: bool) -> None:
        items = [(i, d, n, km) for i, (d, n, km) in sorted(new.items()) if len(d)]
        if not items:
            return
        g = self.graphs
        sizes = np.array([len(d) for _, d, _, _ in items], dtype=np.int64)
        ids = np.arange(self.n_arcs, self.n_arcs + int(sizes.sum()), dtype=np.int64)
        sku = np.repeat(np.array([i for i, *_ in items], dtype=np.int64), sizes)
        d = np.concatenate([d for _, d, _, _ in items]).astype(np.int64)
        n = np.concatenate([n for _, _, n, _ in items]).astype(np.int64)
        km = np.concatenate([km for *_, km in items]).astype(np.float64)
        pack = np.array([x.pack for x in g], dtype=np.int64)[sku]
        d_loc = np.concatenate([g[i].donor_loc[dd] for i, dd, _, _ in items]).astype(np.int64)
        n_loc = np.concatenate([g[i].needy_loc[nn] for i, _, nn, _ in items]).astype(np.int64)
        donor = d + self.donor_starts[sku]
        needy = n + self.needy_starts[sku]
        transport = np.rint(km * self.rate_milli).astype(np.int64)
        cap = np.minimum(self.sup_all[donor], self.dem_all[needy])
        lane = self._lane_ids(d_loc * self.n_loc + n_loc)
        for name, arr in (("a_sku", sku), ("a_from", d_loc), ("a_to", n_loc), ("a_pack", pack), ("a_needy", needy),
                          ("a_donor", donor), ("a_transport_unit", transport), ("a_cap", cap), ("a_lane", lane),
                          ("a_km", km)):
            setattr(self, name, np.concatenate((getattr(self, name), arr)))
        self.n_arcs += len(ids)
        self.a_base_pack = self.a_pack * (self.a_transport_unit + self.handling_milli)
        self.lane_potential = np.bincount(self.a_lane, weights=self.a_cap * self.a_pack, minlength=self.n_lanes)
        offsets = np.concatenate(([0], np.cumsum(sizes)))
        for j, (i, dd, nn, kk) in enumerate(items):
            self.sku_arcs[i] = np.concatenate((self.sku_arcs[i], ids[offsets[j]:offsets[j + 1]]))
            if update_graphs:
                x = g[i]
                x.arc_d, x.arc_n, x.arc_km = (np.concatenate((x.arc_d, dd)), np.concatenate((x.arc_n, nn)),
                                              np.concatenate((x.arc_km, kk)))

    def _lane_ids(self, keys: np.ndarray) -> np.ndarray:
        out = np.empty(len(keys), dtype=np.int64)
        if len(self._lane_sorted):
            pos = np.searchsorted(self._lane_sorted, keys)
            pos_c = np.minimum(pos, len(self._lane_sorted) - 1)
            hit = self._lane_sorted[pos_c] == keys
            out[hit] = self._lane_order[pos_c[hit]]
        else:
            hit = np.zeros(len(keys), dtype=bool)
        new_keys, inv = np.unique(keys[~hit], return_inverse=True)
        out[~hit] = inv + len(self.lane_keys)
        self.lane_keys = np.concatenate((self.lane_keys, new_keys))
        self._lane_order = np.argsort(self.lane_keys, kind="stable")
        self._lane_sorted = self.lane_keys[self._lane_order]
        return out

    # ------------------------------------------------------------------------------------- solve
    def solve(self, cost_pack: np.ndarray, cap: np.ndarray, flows: np.ndarray, skus, hot_arcs: np.ndarray | None = None,
              hot_needy: np.ndarray | None = None, keep: np.ndarray | None = None) -> None:
        """Re-solve SKUs exactly (min-cost flow). With ``hot_arcs`` / ``hot_needy`` (global ids) only
        the connected parts of each SKU's arc graph that contain them are re-solved: a chain's SKU
        splits into regions the maximum distance keeps apart."""
        hot_a = None
        if hot_arcs is not None:
            hot_a = np.zeros(self.n_arcs, dtype=bool)
            hot_a[hot_arcs] = True
        hot_n = None
        if hot_needy is not None:
            hot_n = np.zeros(len(self.need_all), dtype=bool)
            hot_n[hot_needy] = True
        parts: list[tuple] = []
        targets: list[np.ndarray] = []
        for i in skus:
            ids = self.sku_arcs[i]
            if not len(ids):
                continue
            x = self.graphs[i]
            if hot_a is None and hot_n is None:
                if keep is None:
                    parts.append((x, x.arc_d, x.arc_n, cost_pack[ids], cap[ids]))
                    targets.append(ids)
                else:  # only the kept arcs (the others carry nothing)
                    k = keep[ids]
                    sel = ids[k]
                    flows[ids] = 0
                    if len(sel):
                        parts.append((x, x.arc_d[k], x.arc_n[k], cost_pack[sel], cap[sel]))
                        targets.append(sel)
                continue
            nd, nn = len(x.sup), len(x.dem)
            graph = coo_matrix((np.ones(len(ids)), (x.arc_d, x.arc_n + nd)), shape=(nd + nn, nd + nn))
            _, labels = connected_components(graph, directed=False)
            want = np.zeros(labels.max() + 1, dtype=bool)
            if hot_a is not None:
                want[labels[x.arc_d[hot_a[ids]]]] = True
            if hot_n is not None:
                local = np.nonzero(hot_n[self.needy_starts[i]:self.needy_starts[i + 1]])[0]
                want[labels[local + nd]] = True
            sub = want[labels[x.arc_d]]
            if not sub.any():
                continue
            d_used, d_inv = np.unique(x.arc_d[sub], return_inverse=True)
            n_used, n_inv = np.unique(x.arc_n[sub], return_inverse=True)
            part = _SkuGraph(sku=x.sku, pack=x.pack, donor_loc=x.donor_loc[d_used], sup=x.sup[d_used],
                             needy_loc=x.needy_loc[n_used], need=x.need[n_used], dem=x.dem[n_used])
            sel = ids[sub]
            parts.append((part, d_inv, n_inv, cost_pack[sel], cap[sel]))
            targets.append(sel)
        # one solver call per part: cost scaling on one joint graph of all SKUs measured 4× slower
        # (3,000 stores × 500 SKUs: 5.5 s against 1.3 s) than the parts one by one
        for sel, part in zip(targets, parts, strict=True):
            flows[sel] = _solve_many([part], self.penalty_milli, self.max_flow_first)[0]

    # ---------------------------------------------------------------------------------- evaluate
    def evaluate(self, flows: np.ndarray) -> tuple[int, dict]:
        units = flows * self.a_pack
        transport = int(units @ self.a_transport_unit)
        moved = int(units.sum())
        handling = moved * self.handling_milli
        vol = np.bincount(self.a_lane, weights=units, minlength=self.n_lanes)
        lanes = int(np.count_nonzero(vol))
        received = np.bincount(self.a_needy, weights=units, minlength=len(self.need_all))
        met = int(np.minimum(received, self.need_all).sum())
        unmet = int(self.need_all.sum()) - met + self.no_arc_need
        total = transport + handling + lanes * self.lane_milli + unmet * self.penalty_milli
        return total, {"transport": transport, "handling": handling, "lanes": lanes * self.lane_milli,
                       "lane_count": lanes, "unmet": unmet * self.penalty_milli, "unmet_units": unmet,
                       "met_units": met, "moved_units": moved, "vol": vol}

    def breakdown(self, flows: np.ndarray) -> CostBreakdown:
        total, d = self.evaluate(flows)
        return CostBreakdown(transport=money_from_milli(d["transport"]), lanes=money_from_milli(d["lanes"]),
                             handling=money_from_milli(d["handling"]), unmet_penalty=money_from_milli(d["unmet"]),
                             total=money_from_milli(total), lane_count=d["lane_count"],
                             moved_units=d["moved_units"], unmet_units=d["unmet_units"])

    def moves(self, flows: np.ndarray) -> list[Move]:
        ids = self.problem.loc_ids
        skus = np.array([x.sku for x in self.graphs], dtype=np.int64)
        nz = np.nonzero(flows)[0]
        nz = nz[np.lexsort((skus[self.a_sku[nz]], self.a_to[nz], self.a_from[nz]))]
        cols = zip(ids[self.a_from[nz]].tolist(), ids[self.a_to[nz]].tolist(), skus[self.a_sku[nz]].tolist(),
                   (flows[nz] * self.a_pack[nz]).tolist(), flows[nz].tolist(), np.round(self.a_km[nz], 3).tolist(),
                   strict=True)
        return [Move(f, t, s, q, p, k) for f, t, s, q, p, k in cols]

    def per_sku(self, flows: np.ndarray) -> list[np.ndarray]:
        return [flows[ids] for ids in self.sku_arcs]

    def met_per_sku(self, flows: np.ndarray) -> np.ndarray:
        received = np.bincount(self.a_needy, weights=flows * self.a_pack, minlength=len(self.need_all))
        met = np.minimum(received, self.need_all)
        return np.add.reduceat(met, self.needy_starts[:-1]).astype(np.int64) if len(met) else np.zeros(0, np.int64)

    def unmet_rows(self, flows: np.ndarray, skus: np.ndarray) -> np.ndarray:
        received = np.bincount(self.a_needy, weights=flows * self.a_pack, minlength=len(self.need_all))
        short = received < self.need_all
        mask = np.zeros(len(self.need_all), dtype=bool)
        for i in skus:
            mask[self.needy_starts[i]:self.needy_starts[i + 1]] = True
        return np.nonzero(short & mask)[0]

    def complete(self, flows: np.ndarray, cost_pack: np.ndarray, xyz: np.ndarray, new_arc_extra: int = 0,
                 skus=None) -> int:
        """Meet all the chain's excess can meet: where an alternating search over every arc within
        reach finds more need could be met, add those arcs and re-solve that region exactly.
        Returns the number of SKUs touched."""
        max_chord = _max_chord(self.problem)
        new: dict[int, tuple] = {}
        hot: list[np.ndarray] = []
        for i in range(len(self.graphs)) if skus is None else skus:
            f = flows[self.sku_arcs[i]]
            region = _path_region(self.graphs[i], f, xyz, max_chord)
            if region is not None:
                new[i] = _reach_arcs(self.problem, self.graphs[i], xyz, region)
                hot.append(region + self.needy_starts[i])
        if not new:
            return 0
        self.completion_arcs = new
        old_n = self.n_arcs
        self.extend(new)
        added = self.n_arcs - old_n
        if added:
            flows_ext = np.concatenate((flows, np.zeros(added, dtype=np.int64)))
            cost_pack = np.concatenate((cost_pack, self.a_base_pack[old_n:] + new_arc_extra))
        else:
            flows_ext = flows
        self.solve(cost_pack, self.a_cap, flows_ext, sorted(new), hot_needy=np.concatenate(hot))
        self._completed_flows = flows_ext
        return len(new)


# -------------------------------------------------------------------------------------------- solve

def _max_flow_first(problem: TransferProblem) -> bool:
    """When a unit left unmet costs more than opening a lane and carrying it the maximum distance,
    the cheapest plan meets all it can: solve max-flow-with-min-cost (about twice as fast as the
    penalty formulation). Otherwise the penalty arcs decide what is worth moving."""
    c = problem.costs
    if c.max_distance_km is None or problem.distance_km:
        return False
    worst = c.lane_fixed_cost + c.handling_per_unit + c.cost_per_unit_km * Decimal(str(c.max_distance_km))
    return c.unmet_penalty_per_unit > worst


def _solve_graph(x: _SkuGraph, arc_d: np.ndarray, arc_n: np.ndarray, arc_cost_pack: np.ndarray, arc_cap: np.ndarray,
                 penalty_milli: int, max_flow_first: bool) -> np.ndarray:
    """Min-cost flow of one SKU (or part of one) over the given arcs; returns packs per arc."""
    return _solve_many([(x, arc_d, arc_n, arc_cost_pack, arc_cap)], penalty_milli, max_flow_first)[0]


def _solve_many(parts: list[tuple], penalty_milli: int, max_flow_first: bool) -> list[np.ndarray]:
    """Min-cost flows of several SKUs (or parts of SKUs) — ``(graph, arc_d, arc_n, cost per pack,
    capacity)`` each — in ONE solver call: the parts share no node (but the source and sink of the
    max-flow formulation, and a maximum flow through disjoint parts is a maximum flow of each), so the
    joint optimum is each part's optimum, without a solver object and a Python round trip per SKU.

    ``max_flow_first``: among maximum flows (in packs) the cheapest that meets the most units: a full
    pack into a needy location earns its units' penalty, the last partial pack only its remainder.
    Otherwise each part has a slack node and the penalty arcs decide what is worth moving."""
    out_sizes = [len(p[1]) for p in parts]
    if not sum(out_sizes):
        return [np.zeros(0, dtype=np.int64) for _ in out_sizes]
    t_l, h_l, c_l, k_l = [], [], [], []   # the arcs the caller asked about first, in order
    t2, h2, c2, k2 = [], [], [], []       # then the source / sink / slack arcs
    sup_nodes, sup_vals = [], []
    base = 0
    total_sup = 0
    for x, arc_d, arc_n, arc_cost, arc_cap in parts:
        nd, nn = len(x.sup), len(x.dem)
        full = x.need // x.pack
        rem = x.need - full * x.pack
        has_rem = np.nonzero(rem > 0)[0]
        t_l.append(arc_d + base)
        h_l.append(arc_n + (base + nd))
        c_l.append(arc_cost)
        k_l.append(arc_cap)
        needy = np.arange(nn) + (base + nd)
        if max_flow_first:
            # source → donors and needy → sink use the shared nodes −2 / −1 (fixed below)
            t2 += [np.full(nd, -2), needy, has_rem + (base + nd)]
            h2 += [np.arange(nd) + base, np.full(nn + len(has_rem), -1)]
            k2 += [x.sup, full, np.ones(len(has_rem), dtype=np.int64)]
            c2 += [np.zeros(nd, dtype=np.int64), np.full(nn, -penalty_milli * x.pack), -rem[has_rem] * penalty_milli]
            total_sup += int(x.sup.sum())
            base += nd + nn
        else:
            z = base + nd + nn
            t2 += [np.arange(nd) + base, np.full(nn + len(has_rem), z)]
            h2 += [np.full(nd, z), needy, has_rem + (base + nd)]
            k2 += [x.sup, full, np.ones(len(has_rem), dtype=np.int64)]
            c2 += [np.zeros(nd, dtype=np.int64), np.full(nn, penalty_milli * x.pack), rem[has_rem] * penalty_milli]
            sup_nodes.append(np.arange(base, z + 1))
            sup_vals.append(np.concatenate((x.sup, -x.dem, [int(x.dem.sum()) - int(x.sup.sum())])))
            base = z + 1
    m = int(sum(out_sizes))
    tails = np.concatenate(t_l + t2).astype(np.int64)
    heads = np.concatenate(h_l + h2).astype(np.int64)
    mcf = min_cost_flow.SimpleMinCostFlow()
    if max_flow_first:
        src, snk = base, base + 1
        tails[tails == -2] = src
        heads[heads == -1] = snk
    mcf.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                             np.concatenate(k_l + k2).astype(np.int64),
                                             np.concatenate(c_l + c2).astype(np.int64))
    if max_flow_first:
        mcf.set_node_supply(src, total_sup)
        mcf.set_node_supply(snk, -total_sup)
        status = mcf.solve_max_flow_with_min_cost()
    else:
        mcf.set_nodes_supplies(np.concatenate(sup_nodes).astype(np.int32), np.concatenate(sup_vals).astype(np.int64))
        status = mcf.solve()
    if status != mcf.OPTIMAL:  # pragma: no cover - both formulations are always feasible
        raise RuntimeError(f"min cost flow failed: {status}")
    flows = mcf.flows(np.arange(m, dtype=np.int32)).astype(np.int64)
    return np.split(flows, np.cumsum(out_sizes)[:-1])


def _greedy_assign(net: _Network, score: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Each needy (location, SKU) takes packs from its best-scored candidate arc whose donor still has
    excess; a donor asked by several grants in score order; repeat until nothing moves. Vectorised
    (a handful of passes over the arcs), so a lane-aware plan for a whole chain costs little."""
    order = np.argsort(score, kind="stable")
    a_dr, a_nr, a_cap = net.a_donor[order], net.a_needy[order], cap[order]
    sup, dem = net.sup_all.copy(), net.dem_all.copy()
    x = np.zeros(len(order), dtype=np.int64)
    alive = np.arange(len(order))
    while len(alive):
        alive = alive[(dem[a_nr[alive]] > 0) & (sup[a_dr[alive]] > 0) & (x[alive] < a_cap[alive])]
        if not len(alive):
            break
        _, first = np.unique(a_nr[alive], return_index=True)
        prop = np.sort(alive[first])  # one proposal per needy row, in score order
        q = np.minimum(dem[a_nr[prop]], a_cap[prop] - x[prop])
        dr = a_dr[prop]
        o = np.argsort(dr, kind="stable")
        dr_o, q_o, p_o = dr[o], q[o], prop[o]
        cum = np.cumsum(q_o)
        starts = np.concatenate(([0], np.flatnonzero(np.diff(dr_o)) + 1))
        lengths = np.diff(np.concatenate((starts, [len(o)])))
        before = cum - q_o - np.repeat(cum[starts] - q_o[starts], lengths)
        grant = np.clip(sup[dr_o] - before, 0, q_o)
        x[p_o] += grant
        dem[a_nr[p_o]] -= grant
        sup -= np.bincount(dr_o, weights=grant, minlength=len(sup)).astype(np.int64)
    flows = np.empty_like(x)
    flows[order] = x
    return flows


# -------------------------------------------------------------------------------------- lane-blind

def _blind_breakdown(problem: TransferProblem, graphs: list[_SkuGraph], xyz: np.ndarray,
                     no_arc_need: int) -> tuple[CostBreakdown, np.ndarray, dict]:
    """The lane-blind plan: per-SKU min-cost flow on transport + handling only, completed so that it
    meets all the chain's excess can meet; its objective still pays every lane it opens."""
    net = _Network(graphs, problem, no_arc_need)
    flows = np.zeros(net.n_arcs, dtype=np.int64)
    net.solve(net.a_base_pack, net.a_cap, flows, range(len(graphs)))
    added: dict = {}
    if net.complete(flows, net.a_base_pack, xyz):
        flows = net._completed_flows
        added = net.completion_arcs
    return net.breakdown(flows), net.met_per_sku(flows), added


_FORK_STATE: tuple | None = None


def _blind_in_child() -> tuple[CostBreakdown, np.ndarray, dict]:
    problem, graphs, xyz, no_arc_need = _FORK_STATE
    return _blind_breakdown(problem, graphs, xyz, no_arc_need)


def lane_blind_plan(problem: TransferProblem, *, k_nearest: int = 6) -> CostBreakdown:
    graphs, no_arc_need, xyz = _prepare_graphs(problem, k_nearest)
    return _blind_breakdown(problem, graphs, xyz, no_arc_need)[0]


def meetable_units(problem: TransferProblem) -> int:
    """Need that a transportation plan without lane costs, within the maximum distance, can meet
    (every arc within reach; for benchmarks and checks — not on the planning clock)."""
    graphs, _, xyz = _prepare_graphs(problem, 1)
    met = 0
    pen = to_milli(problem.costs.unmet_penalty_per_unit) or 1
    for g in graphs:
        d, n, _ = _reach_arcs(problem, g, xyz, np.arange(len(g.need)))
        g.arc_d, g.arc_n = np.concatenate((g.arc_d, d)), np.concatenate((g.arc_n, n))
        cap = np.minimum(g.sup[g.arc_d], g.dem[g.arc_n]).astype(np.int64)
        # zero arc costs: the penalty arcs alone decide, so the flow meets every unit it can
        f = _solve_graph(g, g.arc_d, g.arc_n, np.zeros(len(g.arc_d), dtype=np.int64), cap, pen, False)
        if len(f):
            rec = np.bincount(g.arc_n, weights=f * g.pack, minlength=len(g.need))
            met += int(np.minimum(rec, g.need).sum())
    return met


# --------------------------------------------------------------------------------------------- plan

_now = time.perf_counter  # the planner's clock (wall time; CPU time for benchmarks on a shared machine)


def plan_transfers(problem: TransferProblem, *, time_limit: float = 2.5, k_nearest: int = 6,
                   neighbours: int = 16, max_rounds: int | None = None, workers: int = 1,
                   clock: str = "wall") -> PlanResult:
    """Plan the chain's transfers; see the module docstring for the method.

    ``workers=2`` computes the lane-blind comparison plan in a forked process while this one plans
    (for batch jobs and benchmarks; not inside a web worker holding database connections).
    ``clock="cpu"`` measures ``time_limit`` in this process's CPU time: on a machine shared with other
    jobs the plan then gets the work it would do alone in that time.
    """
    global _FORK_STATE
    global _now
    _now = time.process_time if clock == "cpu" else time.perf_counter
    t0 = time.perf_counter()
    deadline = _now() + time_limit
    c0 = time.process_time()
    graphs, no_arc_need, xyz = _prepare_graphs(problem, k_nearest)
    prep_cpu = time.process_time() - c0
    blind_graphs = _copy_graphs(graphs)
    blind_future = executor = None
    if workers > 1 and len(graphs) > 1:
        import concurrent.futures
        import multiprocessing

        _FORK_STATE = (problem, blind_graphs, xyz, no_arc_need)
        executor = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        blind_future = executor.submit(_blind_in_child)
    try:
        blind: list = []

        def blind_result() -> tuple[CostBreakdown, np.ndarray, dict]:
            if not blind:
                blind.append(blind_future.result() if blind_future is not None
                             else _blind_breakdown(problem, blind_graphs, xyz, no_arc_need))
            return blind[0]

        if blind_future is None:
            blind_result()  # sequential: the comparison plan first, then the planner's own clock
            deadline = _now() + time_limit
        if neighbours > 0 and graphs and not problem.distance_km:
            nbr = _neighbour_table(problem, xyz, neighbours)
            for g in graphs:
                _add_neighbour_arcs(problem, g, xyz, nbr)
        prep_cpu = time.process_time() - c0
        best, net, rounds = _consolidated(problem, graphs, xyz, no_arc_need, deadline, max_rounds,
                                          lambda: blind_result()[1:])
        blind_b = blind_result()[0]
    finally:
        _FORK_STATE = None
        if executor is not None:
            executor.shutdown(wait=True)
    cost_b = net.breakdown(best)
    saving = blind_b.total - cost_b.total
    pct = float(saving / blind_b.total * 100) if blind_b.total else 0.0
    return PlanResult(moves=net.moves(best), cost=cost_b, lane_blind=blind_b,
                      need_units=int(net.need_all.sum()) + net.no_arc_need,
                      met_units=int(net.need_all.sum()) + net.no_arc_need - cost_b.unmet_units,
                      seconds=time.perf_counter() - t0, rounds=rounds, saving=saving, saving_pct=round(pct, 2),
                      candidate_arcs=net.n_arcs, stats={"lanes": net.n_lanes, "skus": len(graphs), "cpu_arcs": round(prep_cpu, 3),
                             **net.stats})


def _slope_cost(net: _Network, slope: np.ndarray) -> np.ndarray:
    """Per-pack arc cost: transport + handling + the lane's fixed cost amortised per unit (at most
    the whole fixed cost per pack)."""
    lane = np.minimum(np.rint(net.a_pack * slope[net.a_lane]), net.lane_milli).astype(np.int64)
    return net.a_base_pack + lane


def _consolidated(problem: TransferProblem, graphs: list[_SkuGraph], xyz: np.ndarray, no_arc_need: int,
                  deadline: float, max_rounds: int | None, meetable_per_sku,
                  cheapest_arcs: int = 3) -> tuple[np.ndarray, _Network, int]:
    c0 = time.process_time()
    net = _Network(graphs, problem, no_arc_need)
    F = net.lane_milli
    if net.n_arcs == 0:
        return np.zeros(0, dtype=np.int64), net, 0
    unit_cost = (net.a_transport_unit + net.handling_milli).astype(np.float64)
    # 1. a lane-aware greedy assignment, each lane's fixed cost amortised over its potential volume
    #    (what it could carry if every SKU it can carry went on it). Its open lanes and volumes set
    #    the lane costs of the exact pass. (Iterating the greedy — slope scaling — improved the
    #    greedy's own objective but made the exact pass worse on the benchmark chains: one round.)
    est = np.maximum(net.lane_potential, 1.0)
    score = unit_cost + (F / est)[net.a_lane] if F > 0 else unit_cost
    cap = net.a_cap if net.max_flow_first else np.where(score < net.penalty_milli, net.a_cap, 0)
    best = _greedy_assign(net, score, cap)
    total, d = net.evaluate(best)
    best_key = (d["met_units"] if net.max_flow_first else 0, total)
    rounds = 1
    # 2. one exact min-cost flow per SKU with each lane's fixed cost amortised over the volume the
    #    greedy rounds gave it: meets all the candidate arcs can meet and keeps the consolidation.
    #    Its arcs: those on lanes the greedy opened, plus each needy location's cheapest few.
    _, d = net.evaluate(best)
    slope = np.where(d["vol"] > 0, F / np.maximum(d["vol"], 1.0), float(F))
    cost = _slope_cost(net, slope)
    keep = d["vol"][net.a_lane] > 0
    order = np.lexsort((cost / np.maximum(net.a_pack, 1), net.a_needy))
    rank = np.empty(net.n_arcs, dtype=np.int64)
    first = np.concatenate(([0], np.flatnonzero(np.diff(net.a_needy[order])) + 1))
    rank[order] = np.arange(net.n_arcs) - np.repeat(first, np.diff(np.concatenate((first, [net.n_arcs]))))
    keep |= rank < cheapest_arcs
    flows = np.zeros(net.n_arcs, dtype=np.int64)
    net.stats["cpu_greedy"] = round(time.process_time() - c0, 3)
    c0 = time.process_time()
    net.solve(cost, net.a_cap, flows, range(len(graphs)), keep=keep)
    net.stats["cpu_exact"] = round(time.process_time() - c0, 3)
    c0 = time.process_time()
    net.stats["exact_arcs"] = int(keep.sum())
    total, d = net.evaluate(flows)
    if (-best_key[0], best_key[1]) < (-(d["met_units"] if net.max_flow_first else 0), total):
        flows = best  # the greedy met as much and was cheaper
    # 3. SKUs still meeting less than the lane-blind plan (an exact maximum flow, completed over every
    #    arc within reach): their short regions are re-solved on every candidate arc, and where that
    #    still falls short an augmenting path over arcs within reach adds those arcs.
    target, blind_arcs = meetable_per_sku() if net.max_flow_first else (None, {})
    if target is not None:
        short = np.nonzero(net.met_per_sku(flows) < target)[0]
        net.stats["resolved_skus"] = len(short)
        if len(short):
            # the arcs the lane-blind plan needed beyond its candidates, where this plan is short too
            new = {}
            for i in short.tolist():
                if i in blind_arcs:
                    g = graphs[i]
                    d_, n_, km_ = blind_arcs[i]
                    nd = len(g.donor_loc)
                    fresh = ~np.isin(n_ * nd + d_, g.arc_n * nd + g.arc_d)
                    new[i] = (d_[fresh], n_[fresh], km_[fresh])
            old_n = net.n_arcs
            net.extend(new)
            if net.n_arcs > old_n:
                flows = np.concatenate((flows, np.zeros(net.n_arcs - old_n, dtype=np.int64)))
                cost = np.concatenate((cost, net.a_base_pack[old_n:] + F))
            flows = flows.copy()
            net.solve(cost, net.a_cap, flows, short, hot_needy=net.unmet_rows(flows, short))
            short = np.nonzero(net.met_per_sku(flows) < target)[0]
            if len(short) and net.complete(flows, cost, xyz, new_arc_extra=F, skus=short):
                flows = net._completed_flows
        net.stats["completed_skus"] = len(short)
    total, d = net.evaluate(flows)
    net.stats["cpu_resolve"] = round(time.process_time() - c0, 3)
    # 4. close small lanes by moving their units onto lanes already open (fast, exact bookkeeping),
    #    then lane-closing rounds with exact re-solves until the deadline
    if F > 0:
        c0 = time.process_time()
        flows, closed = _rehome_lanes(net, flows, deadline)
        net.stats["rehomed_lanes"] = closed
        net.stats["cpu_rehome"] = round(time.process_time() - c0, 3)
        total, d = net.evaluate(flows)
        flows, total, closing_rounds = _close_lanes(net, flows, total, deadline,
                                                    None if max_rounds is None else max(0, max_rounds - rounds))
        rounds += closing_rounds
        net.stats["closing_rounds"] = closing_rounds
    return flows, net, rounds


def _rehome_lanes(net: _Network, flows: np.ndarray, deadline: float) -> tuple[np.ndarray, int]:
    """Close open lanes, smallest first, whose every unit can move to other lanes that are already
    open, from donors with excess left, when the transport and handling added cost less than the lane
    saved. Need met never changes. Repeated while it closes lanes and time remains."""
    F = net.lane_milli
    if _now() >= deadline:  # its set-up alone is half a second at chain scale
        return flows, 0
    flows = flows.copy()
    lane = net.a_lane.tolist()
    donor = net.a_donor.tolist()
    base = net.a_base_pack.tolist()
    cap = net.a_cap.tolist()
    fl = flows.tolist()
    spare = (net.sup_all - np.bincount(net.a_donor, weights=flows, minlength=len(net.sup_all)).astype(np.int64)).tolist()
    vol = np.bincount(net.a_lane, weights=flows * net.a_pack, minlength=net.n_lanes).tolist()
    pack = net.a_pack.tolist()
    order = np.lexsort((net.a_base_pack, net.a_needy))  # per needy row, cheapest first
    row_start = np.searchsorted(net.a_needy[order], np.arange(len(net.need_all) + 1)).tolist()
    by_row = order.tolist()
    needy = net.a_needy.tolist()
    lane_arcs: dict[int, list[int]] = defaultdict(list)
    for a in np.nonzero(flows)[0].tolist():
        lane_arcs[lane[a]].append(a)
    closed_total = 0
    while _now() < deadline:
        closed = 0
        cands = _rehome_candidates(net, np.array(fl, dtype=np.int64), np.array(spare, dtype=np.int64),
                                   np.array(vol, dtype=np.float64), F)
        for n_checked, L in enumerate(cands):
            if n_checked % 256 == 0 and _now() > deadline:
                break
            arcs = [a for a in lane_arcs.get(L, ()) if fl[a] > 0]
            if not arcs:
                continue
            delta = -F
            moves: list[tuple[int, int, int]] = []
            used: dict[int, int] = {}
            extra: dict[int, int] = {}
            ok = True
            for a in arcs:
                left = fl[a]
                r = needy[a]
                for j in range(row_start[r], row_start[r + 1]):
                    b = by_row[j]
                    lb = lane[b]
                    if lb == L or vol[lb] <= 0:
                        continue
                    room = min(spare[donor[b]] - used.get(donor[b], 0), cap[b] - fl[b] - extra.get(b, 0))
                    take = min(left, room)
                    if take > 0:
                        moves.append((a, b, take))
                        used[donor[b]] = used.get(donor[b], 0) + take
                        extra[b] = extra.get(b, 0) + take
                        delta += (base[b] - base[a]) * take
                        left -= take
                        if left == 0:
                            break
                if left:
                    ok = False
                    break
            if not ok or delta >= 0:
                continue
            for a, b, take in moves:
                fl[a] -= take
                spare[donor[a]] += take
                fl[b] += take
                spare[donor[b]] -= take
                vol[L] -= take * pack[a]
                vol[lane[b]] += take * pack[b]
                if b not in lane_arcs[lane[b]]:
                    lane_arcs[lane[b]].append(b)
            vol[L] = 0
            closed += 1
        closed_total += closed
        if not closed:
            break
    return np.array(fl, dtype=np.int64), closed_total


def _rehome_candidates(net: _Network, fl: np.ndarray, spare: np.ndarray, vol: np.ndarray, F: int) -> list[int]:
    """Open lanes, smallest first, that might close by rehoming (a vectorised filter, so the exact
    per-lane check in Python runs on a fraction of the lanes): every arc carrying flow on the lane
    has an alternative in its needy row — an arc on another open lane, room left on it, its donor
    with excess left — and the lane's fixed cost exceeds a lower bound on the transport and handling
    added (each unit at its row's cheapest such alternative)."""
    open_lane = vol > 0
    valid = open_lane[net.a_lane] & (spare[net.a_donor] > 0) & (net.a_cap > fl)
    rows = len(net.need_all)
    n_valid = np.bincount(net.a_needy, weights=valid, minlength=rows)
    big = np.iinfo(np.int64).max // 4
    row_min = np.full(rows, big, dtype=np.int64)
    np.minimum.at(row_min, net.a_needy[valid], net.a_base_pack[valid])
    carrying = np.nonzero(fl > 0)[0]
    r = net.a_needy[carrying]
    alt = n_valid[r] - valid[carrying]  # alternatives besides the arc itself (one arc per lane and row)
    lb = np.where(row_min[r] < big, (row_min[r] - net.a_base_pack[carrying]) * fl[carrying], 0)
    lanes = net.a_lane[carrying]
    blocked = np.bincount(lanes, weights=alt <= 0, minlength=net.n_lanes) > 0
    bound = np.bincount(lanes, weights=lb, minlength=net.n_lanes)
    ok = open_lane & ~blocked & (bound < F)
    cand = np.nonzero(ok)[0]
    return cand[np.argsort(vol[cand], kind="stable")].tolist()


def _close_lanes(net: _Network, flows: np.ndarray, total: int, deadline: float,
                 max_rounds: int | None) -> tuple[np.ndarray, int, int]:
    """Close batches of the smallest open lanes and re-solve the regions that used them; keep a
    closure when the objective falls without meeting less need (the batch grows), else undo it
    (the batch shrinks; a single lane that fails is not tried again)."""
    F = net.lane_milli
    cap = net.a_cap.copy()
    tried = np.zeros(net.n_lanes, dtype=bool)
    batch = 64
    rounds = 0
    _, d = net.evaluate(flows)
    met = d["met_units"]
    while _now() < deadline and (max_rounds is None or rounds < max_rounds):
        vol = d["vol"]
        cand = np.nonzero((vol > 0) & ~tried)[0]
        if len(cand) == 0:
            break
        cand = cand[np.argsort(vol[cand], kind="stable")][:batch]
        closing = np.zeros(net.n_lanes, dtype=bool)
        closing[cand] = True
        arc_closed = closing[net.a_lane]
        hot = np.nonzero(arc_closed & (flows > 0))[0]
        affected = np.unique(net.a_sku[hot])
        trial_cap = cap.copy()
        trial_cap[arc_closed] = 0
        open_vol = np.where(closing, 0.0, vol)
        slope = np.where(open_vol > 0, F / np.maximum(open_vol, 1.0), float(F))
        trial = flows.copy()
        net.solve(_slope_cost(net, slope), trial_cap, trial, affected, hot_arcs=hot)
        rounds += 1
        t_total, t_d = net.evaluate(trial)
        # when unmet need costs more than any move (max_flow_first), never buy a saving with it
        if t_total < total and (t_d["met_units"] >= met or not net.max_flow_first):
            flows, total, cap, d = trial, t_total, trial_cap, t_d
            batch = min(batch * 2, 4096)
        else:
            if batch == 1:
                tried[cand] = True
            batch = max(1, batch // 4)
    return flows, total, rounds
