"""Censored demand: what sold on a day without stock is a lower bound of demand, not the demand.

Two sources mark a day as censored:

- lost demand (``inventory.LostDemand``): demand that was refused for stock. It was demand, so it is
  added to the day's sales; the day is still censored, because refused demand is recorded only for
  channels that ask (online), and shoppers facing an empty shelf leave no trace;
- days with no stock (on hand ≤ 0 through the whole day, from the stock ledger).

On a censored day demand is unknown but at least what sold (+ what was refused). We *impute* it for
fitting — max(observed, the mean of the same weekday in the last four uncensored weeks before it,
only looking back so that cross-validation never sees the future) — because the models need a
complete series, and a zero there would teach them that the SKU does not sell. We *mask* it for
scoring and for classification: an imputed value is our guess, so accuracy is measured only on days
whose demand was observed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CensoredSeries:
    y: np.ndarray  # demand used for fitting (imputed on censored days)
    observed: np.ndarray  # sales + lost demand, as recorded
    censored: np.ndarray  # bool per day

    @property
    def censored_days(self) -> int:
        return int(self.censored.sum())


def censor_demand(sales: np.ndarray, *, lost: np.ndarray | None = None, stockout: np.ndarray | None = None,
                  season: int = 7, lookback_weeks: int = 4) -> CensoredSeries:
    sales = np.asarray(sales, dtype=float)
    n = len(sales)
    lost_a = np.zeros(n) if lost is None else np.asarray(lost, dtype=float)
    observed = np.maximum(sales, 0.0) + np.maximum(lost_a, 0.0)
    censored = lost_a > 0
    if stockout is not None:
        censored = censored | np.asarray(stockout, bool)
    y = observed.copy()
    if censored.any():
        clean = observed[~censored]
        fallback = float(clean.mean()) if len(clean) else float(observed.mean())
        for t in np.flatnonzero(censored):
            past = [observed[t - k * season] for k in range(1, lookback_weeks + 1)
                    if t - k * season >= 0 and not censored[t - k * season]]
            estimate = float(np.mean(past)) if past else fallback
            y[t] = max(observed[t], estimate)
    return CensoredSeries(y=y, observed=observed, censored=censored)
