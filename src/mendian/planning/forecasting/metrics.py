"""Accuracy measures, on arrays of actuals and forecasts (days masked out are skipped).

MASE = mean |y − ŷ| ÷ mean |y_t − y_{t−m}| over the training history (m = 7: the in-sample error of the
seasonal naive one step ahead). WAPE = Σ|y − ŷ| ÷ Σ y. Bias = Σ(ŷ − y) ÷ Σ y (positive: over-forecast).
"""

from __future__ import annotations

import numpy as np


def _masked(y: np.ndarray, f: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    f = np.asarray(f, dtype=float)
    if mask is not None:
        keep = ~np.asarray(mask, bool)
        y, f = y[keep], f[keep]
    return y, f


def mase_scale(train: np.ndarray, season: int = 7, censored: np.ndarray | None = None) -> float | None:
    """Mean absolute seasonal difference of the training history (pairs touching a censored day skipped)."""
    train = np.asarray(train, dtype=float)
    if len(train) <= season:
        return None
    d = np.abs(train[season:] - train[:-season])
    if censored is not None:
        c = np.asarray(censored, bool)
        d = d[~(c[season:] | c[:-season])]
    if len(d) == 0:
        return None
    scale = float(d.mean())
    return scale if scale > 0 else None


def mase(y: np.ndarray, f: np.ndarray, scale: float | None, mask: np.ndarray | None = None) -> float | None:
    y, f = _masked(y, f, mask)
    if not scale or len(y) == 0:
        return None
    return float(np.abs(y - f).mean() / scale)


def wape(y: np.ndarray, f: np.ndarray, mask: np.ndarray | None = None) -> float | None:
    y, f = _masked(y, f, mask)
    total = float(np.abs(y).sum())
    if total == 0:
        return None
    return float(np.abs(y - f).sum() / total)


def bias(y: np.ndarray, f: np.ndarray, mask: np.ndarray | None = None) -> float | None:
    y, f = _masked(y, f, mask)
    total = float(np.abs(y).sum())
    if total == 0:
        return None
    return float((f - y).sum() / total)
