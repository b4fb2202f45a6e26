"""A MIP lower bound for a (city-sized) transfer problem, with HiGHS.

The exact model over every arc within the maximum distance (not only the planner's sparse ones):

    min  Σ_a c_a·x_a  +  F·Σ_l z_l  +  pen·Σ_n y_n
    s.t. Σ_{a out of d} x_a ≤ supply_d           (packs each donor may give)
         y_n ≥ need_n − Σ_{a into n} pack·x_a     (unmet units)
         x_a ≤ cap_a · z_l(a)                     (strong linking: an arc only on an open lane)
         x_a ∈ ℤ₊, z_l ∈ {0,1}, y_n ≥ 0

so its dual bound is a valid lower bound on any plan's objective (the bound is weak at scale: the
issue's calibration found none in 30 s for 3,000 stores, hence "city-sized").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .planner import _Network, _prepare_graphs, _reach_arcs
from .problem import TransferProblem, money_from_milli


@dataclass(frozen=True)
class MipBound:
    bound: Decimal
    incumbent: Decimal | None
    seconds: float
    status: str


def mip_lower_bound(problem: TransferProblem, *, time_limit: float = 60.0, threads: int = 1) -> MipBound:
    import highspy

    t0 = time.perf_counter()
    graphs, no_arc_need, xyz = _prepare_graphs(problem, 1)
    for g in graphs:  # every arc within reach, not only the planner's candidates
        d, n, km = _reach_arcs(problem, g, xyz, np.arange(len(g.need)))
        g.arc_d, g.arc_n, g.arc_km = (np.concatenate((g.arc_d, d)), np.concatenate((g.arc_n, n)),
                                      np.concatenate((g.arc_km, km)))
    prep = _Network(graphs, problem, no_arc_need)
    n_x, n_l, n_y = prep.n_arcs, prep.n_lanes, len(prep.need_all)
    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", int(threads))
    pen = prep.penalty_milli
    # columns: x (n_x), z (n_l), y (n_y); costs in milli-yuan
    cost = np.concatenate((prep.a_base_pack.astype(float), np.full(n_l, float(prep.lane_milli)), np.full(n_y, float(pen))))
    lower = np.zeros(n_x + n_l + n_y)
    upper = np.concatenate((prep.a_cap.astype(float), np.ones(n_l), np.full(n_y, inf)))
    h.addCols(len(cost), cost, lower, upper, 0, np.array([], dtype=np.int32), np.array([], dtype=np.int32), np.array([]))
    integrality = np.array([highspy.HighsVarType.kInteger] * (n_x + n_l) + [highspy.HighsVarType.kContinuous] * n_y)
    h.changeColsIntegrality(len(cost), np.arange(len(cost), dtype=np.int32), integrality)
    rows_lo, rows_hi, starts, idx, val = [], [], [], [], []

    nnz = [0]

    def row(lo: float, hi: float, cols: np.ndarray, coefs: np.ndarray) -> None:
        starts.append(nnz[0])
        nnz[0] += len(cols)
        rows_lo.append(lo)
        rows_hi.append(hi)
        idx.append(cols.astype(np.int32))
        val.append(coefs.astype(float))

    # supply rows: donors are (sku, donor) pairs
    donor_key = prep.a_donor
    order = np.argsort(donor_key, kind="stable")
    keys = donor_key[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    for grp in np.split(order, cuts):
        if len(grp):
            row(-inf, float(prep.sup_all[prep.a_donor[grp[0]]]), grp, np.ones(len(grp)))
    # unmet rows: y_n + Σ pack·x_a ≥ need_n
    order = np.argsort(prep.a_needy, kind="stable")
    cuts = np.flatnonzero(np.diff(prep.a_needy[order])) + 1
    has_arcs = set()
    for grp in np.split(order, cuts):
        if len(grp):
            n = int(prep.a_needy[grp[0]])
            has_arcs.add(n)
            row(float(prep.need_all[n]), inf, np.concatenate((grp, [n_x + n_l + n])),
                np.concatenate((prep.a_pack[grp].astype(float), [1.0])))
    for n in range(n_y):
        if n not in has_arcs:
            row(float(prep.need_all[n]), inf, np.array([n_x + n_l + n]), np.array([1.0]))
    # linking rows: x_a − cap_a·z_l ≤ 0
    for a in range(n_x):
        row(-inf, 0.0, np.array([a, n_x + int(prep.a_lane[a])]), np.array([1.0, -float(prep.a_cap[a])]))
    flat_idx = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int32)
    flat_val = np.concatenate(val) if val else np.zeros(0)
    h.addRows(len(rows_lo), np.array(rows_lo), np.array(rows_hi), len(flat_idx), np.array(starts, dtype=np.int32),
              flat_idx.astype(np.int32), flat_val)
    h.run()
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    const = no_arc_need * pen
    bound = info.mip_dual_bound
    if not np.isfinite(bound):
        bound = 0.0
    incumbent = info.objective_function_value if info.primal_solution_status == 2 else None
    return MipBound(bound=money_from_milli(int(np.floor(bound + 1e-6)) + const),
                    incumbent=money_from_milli(int(round(incumbent)) + const) if incumbent is not None else None,
                    seconds=time.perf_counter() - t0, status=status)
