"""Series classification.

Demand pattern (Syntetos–Boylan–Croston): ADI = average inter-demand interval (days observed ÷ days with
demand), CV² = squared coefficient of variation of the non-zero demand sizes.

    ADI ≤ 1.32 and CV² ≤ 0.49 → smooth        ADI > 1.32 and CV² ≤ 0.49 → intermittent
    ADI ≤ 1.32 and CV² > 0.49 → erratic       ADI > 1.32 and CV² > 0.49 → lumpy

Censored days (no stock, or demand refused) are left out of both counts: a day that could not sell says
nothing about the interval between demands.

ABC by value: series sorted by value (quantity × unit price) descending; those making up the first 80% of
the total are A, the next 15% B, the rest C. XYZ by variability: coefficient of variation of weekly demand,
X ≤ 0.5, Y ≤ 1.0, Z above.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
SMOOTH, ERRATIC, INTERMITTENT, LUMPY = "smooth", "erratic", "intermittent", "lumpy"
NO_DEMAND = "no_demand"


@dataclass(frozen=True)
class DemandPattern:
    demand_class: str
    adi: float | None
    cv2: float | None
    demand_days: int
    observed_days: int

    @property
    def is_intermittent(self) -> bool:
        return self.demand_class in {INTERMITTENT, LUMPY, NO_DEMAND}


def demand_pattern(y: np.ndarray, censored: np.ndarray | None = None) -> DemandPattern:
    y = np.asarray(y, dtype=float)
    mask = np.ones(len(y), bool) if censored is None else ~np.asarray(censored, bool)
    obs = y[mask]
    nz = obs[obs > 0]
    if len(nz) == 0:
        return DemandPattern(NO_DEMAND, None, None, 0, int(len(obs)))
    adi = len(obs) / len(nz)
    cv2 = float(np.var(nz) / np.mean(nz) ** 2) if len(nz) > 1 else 0.0
    if adi <= ADI_CUTOFF:
        cls = SMOOTH if cv2 <= CV2_CUTOFF else ERRATIC
    else:
        cls = INTERMITTENT if cv2 <= CV2_CUTOFF else LUMPY
    return DemandPattern(cls, round(float(adi), 4), round(cv2, 4), int(len(nz)), int(len(obs)))


def abc_classes(values: Mapping[Hashable, float], *, a_share: float = 0.80, b_share: float = 0.95) -> dict:
    """A for the items making up the first ``a_share`` of total value, B up to ``b_share``, C the rest.

    An item is A when the cumulative share *before* it is below ``a_share`` (so the item that crosses
    80% is still A). Ties in value are ordered by key for a stable answer. Zero total → everything C.
    """
    total = float(sum(max(v, 0.0) for v in values.values()))
    out: dict = {}
    if total <= 0:
        return {k: "C" for k in values}
    cum = 0.0
    for k, v in sorted(values.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        share_before = cum / total
        out[k] = "A" if share_before < a_share else ("B" if share_before < b_share else "C")
        cum += max(v, 0.0)
    return out


def xyz_class(y: np.ndarray, censored: np.ndarray | None = None, *, x_max: float = 0.5, y_max: float = 1.0,
              period: int = 7) -> tuple[str, float | None]:
    """XYZ from the coefficient of variation of demand summed per ``period`` days (censored days skipped:
    a week is used only if it has no censored day)."""
    y = np.asarray(y, dtype=float)
    cens = np.zeros(len(y), bool) if censored is None else np.asarray(censored, bool)
    n = (len(y) // period) * period
    if n == 0:
        return "Z", None
    start = len(y) - n  # align weeks to the end of the history
    wy = y[start:].reshape(-1, period)
    wc = cens[start:].reshape(-1, period).any(axis=1)
    weeks = wy[~wc].sum(axis=1)
    if len(weeks) < 2 or weeks.mean() <= 0:
        return "Z", None
    cv = float(weeks.std() / weeks.mean())
    return ("X" if cv <= x_max else "Y" if cv <= y_max else "Z"), round(cv, 4)
