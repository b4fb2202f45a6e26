"""Known drivers of demand, as multiplicative effects on a baseline.

- **Holidays** (``chinese_calendar``): each day is tagged with one *kind*: a day off of a statutory
  holiday (``holiday:spring_festival`` …), one of the ``eve_days`` days just before a holiday's first day
  off (``eve:spring_festival`` — the shopping peak before it), or a weekend day that is a working day
  because the holiday moved it (``makeup_workday``: 调休上班). Ordinary weekends are left to the models'
  weekly seasonality. Years the package does not know (it ships the State Council's notices) tag nothing.
- **Promotions**: a boolean per day (the SKU was on promotion at the location).
- **External factors**: numeric daily series (temperature by city, …), centred on their historical mean.

Effects are estimated from history as ratios of actual demand to a baseline (centred 28-day rolling mean
of the ordinary days × a weekday profile), pooled over the series of a batch and shrunk towards the pool
(holiday and promotion lifts) or towards no effect (factor slopes) so that a series with two Spring
Festivals of history does not get a wild lift. The models are fitted on demand divided by the
multipliers (history cleaned of the drivers) and their forecasts multiplied back by the future
multipliers; removing one driver's future multiplier is how its contribution to accuracy is measured.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

NONE = 0
MAKEUP_WORKDAY = "makeup_workday"
HOLIDAY_KEYS = ["new_years_day", "spring_festival", "tomb_sweeping_day", "labour_day", "dragon_boat_festival",
                "mid_autumn_festival", "national_day", "anti_fascist_70th_day"]
KINDS: list[str | None] = [None, MAKEUP_WORKDAY] + [f"holiday:{k}" for k in HOLIDAY_KEYS] + [
    f"eve:{k}" for k in HOLIDAY_KEYS]
KIND_CODE = {k: i for i, k in enumerate(KINDS)}
EVE_DAYS = 3
LIFT_PSEUDO_DAYS = 5.0
FACTOR_PSEUDO_DAYS = 30.0
MULTIPLIER_RANGE = (0.2, 5.0)


@lru_cache(maxsize=4096)
def _holiday_detail(day: dt.date) -> tuple[bool, str | None]:
    import chinese_calendar

    try:
        on, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:  # a year the calendar package has no notice for
        return (day.weekday() >= 5, None)
    key = None
    if name is not None:
        key = next((h.name for h in chinese_calendar.Holiday if h.value == name), None)
    return bool(on), key


@lru_cache(maxsize=64)
def _calendar_codes(start: dt.date, n: int, eve_days: int) -> tuple[int, ...]:
    days = [start + dt.timedelta(days=i) for i in range(n + 40)]
    details = [_holiday_detail(d) for d in days]
    codes = [NONE] * len(days)
    for i, (d, (on, key)) in enumerate(zip(days, details, strict=True)):
        if key is None:
            continue
        if on:
            codes[i] = KIND_CODE[f"holiday:{key}"]
        elif d.weekday() >= 5:
            codes[i] = KIND_CODE[MAKEUP_WORKDAY]
    # eves: the days before the first day off of each holiday block (not overwriting a day off)
    for i in range(len(days)):
        on, key = details[i]
        first_off = on and key is not None and (i == 0 or details[i - 1][1] != key or not details[i - 1][0])
        if first_off:
            for k in range(1, eve_days + 1):
                j = i - k
                # an eve that is also a moved working weekend counts as the eve (the shopping peak wins)
                if j >= 0 and codes[j] in (NONE, KIND_CODE[MAKEUP_WORKDAY]):
                    codes[j] = KIND_CODE[f"eve:{key}"]
    return tuple(codes[:n])


def holiday_codes(start: dt.date, n: int, *, eve_days: int = EVE_DAYS) -> np.ndarray:
    """One kind code per day from ``start`` (index into ``KINDS``; 0 = an ordinary day)."""
    return np.asarray(_calendar_codes(start, n, eve_days), dtype=np.int16)


def holiday_kinds(start: dt.date, n: int, *, eve_days: int = EVE_DAYS) -> list[str | None]:
    return [KINDS[c] for c in holiday_codes(start, n, eve_days=eve_days)]


@dataclass
class DriverData:
    """One series' drivers over history + horizon (arrays of length n + h; history is the first n)."""

    y: np.ndarray  # fitted demand, history only (length n)
    censored: np.ndarray  # history only
    start: dt.date
    holidays: np.ndarray | None = None  # int16 codes, n + h
    promo: np.ndarray | None = None  # bool, n + h
    factors: dict[str, np.ndarray] = field(default_factory=dict)  # name -> float (nan unknown), n + h


@dataclass
class DriverEffects:
    holiday_lifts: dict[str, float] = field(default_factory=dict)
    promo_lift: float | None = None
    factor_betas: dict[str, float] = field(default_factory=dict)  # relative change per unit above the mean
    factor_means: dict[str, float] = field(default_factory=dict)

    def groups(self) -> list[str]:
        out = []
        if self.holiday_lifts:
            out.append("holidays")
        if self.promo_lift is not None:
            out.append("promotions")
        if self.factor_betas:
            out.append("factors")
        return out

    def multipliers(self, data: DriverData, lo: int, hi: int, exclude: frozenset[str] = frozenset()) -> np.ndarray:
        m = np.ones(hi - lo)
        if "holidays" not in exclude and self.holiday_lifts and data.holidays is not None:
            codes = data.holidays[lo:hi]
            for kind, lift in self.holiday_lifts.items():
                m[codes == KIND_CODE[kind]] *= lift
        if "promotions" not in exclude and self.promo_lift is not None and data.promo is not None:
            m[np.asarray(data.promo[lo:hi], bool)] *= self.promo_lift
        if "factors" not in exclude:
            for name, beta in self.factor_betas.items():
                x = data.factors.get(name)
                if x is None:
                    continue
                z = np.nan_to_num(np.asarray(x[lo:hi], float) - self.factor_means[name], nan=0.0)
                m *= np.clip(1.0 + beta * z, *MULTIPLIER_RANGE)
        return np.clip(m, *MULTIPLIER_RANGE)

    def as_dict(self) -> dict:
        return {"holiday_lifts": {k: round(v, 4) for k, v in self.holiday_lifts.items()},
                "promo_lift": None if self.promo_lift is None else round(self.promo_lift, 4),
                "factor_betas": {k: round(v, 6) for k, v in self.factor_betas.items()},
                "factor_means": {k: round(v, 4) for k, v in self.factor_means.items()}}


def _baseline(y: np.ndarray, exclude: np.ndarray, start: dt.date) -> np.ndarray:
    s = pd.Series(np.where(exclude, np.nan, y))
    level = s.rolling(28, center=True, min_periods=7).mean().ffill().bfill()
    if level.isna().all():
        return np.zeros(len(y))
    level = level.to_numpy()
    dow = (start.weekday() + np.arange(len(y))) % 7
    ok = ~exclude & (level > 0)
    profile = np.ones(7)
    if ok.sum() >= 14:
        ratio = y[ok] / level[ok]
        sums = np.bincount(dow[ok], weights=ratio, minlength=7)
        counts = np.bincount(dow[ok], minlength=7)
        profile = np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)
        profile = profile / profile.mean() if profile.mean() > 0 else np.ones(7)
    return level * profile[dow]


@dataclass
class _Stats:
    hol: dict[int, tuple[float, float]]  # code -> (actual, expected)
    promo: tuple[float, float] | None
    fac: dict[str, tuple[float, float, float, int]]  # name -> (S_zr, S_zz, mean, days)
    mean: float


def _series_stats(d: DriverData, upto: int, use: frozenset[str]) -> _Stats:
    y = np.asarray(d.y[:upto], float)
    cens = np.asarray(d.censored[:upto], bool)
    hol = d.holidays[:upto] if (d.holidays is not None and "holidays" in use) else np.zeros(upto, np.int16)
    promo = (np.asarray(d.promo[:upto], bool) if (d.promo is not None and "promotions" in use)
             else np.zeros(upto, bool))
    special = (hol != NONE) | promo
    base = _baseline(y, special | cens, d.start)
    ok = ~cens
    hstats: dict[int, tuple[float, float]] = {}
    for code in np.unique(hol[(hol != NONE) & ok & ~promo]):
        sel = (hol == code) & ok & ~promo
        hstats[int(code)] = (float(y[sel].sum()), float(base[sel].sum()))
    pstats = None
    if promo.any():
        sel = promo & ok & (hol == NONE)
        pstats = (float(y[sel].sum()), float(base[sel].sum()))
    fstats: dict[str, tuple[float, float, float, int]] = {}
    if "factors" in use:
        for name, x in d.factors.items():
            xv = np.asarray(x[:upto], float)
            known = ok & ~np.isnan(xv) & ~special
            if known.sum() < 28:
                continue
            mean = float(xv[known].mean())
            # slope from the factor's deviation from its own 28-day rolling mean: the baseline's rolling
            # level already holds the slow part of the factor (seasons), so regressing on the whole
            # deviation from the mean would attenuate the slope
            z = (xv - pd.Series(xv).rolling(28, center=True, min_periods=7).mean().to_numpy())[known]
            z = np.nan_to_num(z, nan=0.0)
            fstats[name] = (float((z * (y[known] - base[known])).sum()), float((base[known] * z * z).sum()), mean,
                            int(known.sum()))
    clean = y[ok]
    return _Stats(hstats, pstats, fstats, float(clean.mean()) if len(clean) else 0.0)


def estimate_effects(batch: list[DriverData], *, upto: list[int] | None = None,
                     use: frozenset[str] = frozenset({"holidays", "promotions", "factors"})) -> list[DriverEffects]:
    """Estimate every series' effects from its first ``upto[i]`` days, pooled over the batch."""
    stats = [_series_stats(d, len(d.y) if upto is None else upto[i], use) for i, d in enumerate(batch)]
    pool_h: dict[int, list[float]] = {}
    pool_p = [0.0, 0.0]
    for s in stats:
        for code, (a, e) in s.hol.items():
            acc = pool_h.setdefault(code, [0.0, 0.0])
            acc[0] += a
            acc[1] += e
        if s.promo:
            pool_p[0] += s.promo[0]
            pool_p[1] += s.promo[1]
    pooled_h = {c: (a / e if e > 0 else 1.0) for c, (a, e) in pool_h.items()}
    pooled_p = pool_p[0] / pool_p[1] if pool_p[1] > 0 else 1.0
    out = []
    for s in stats:
        k = LIFT_PSEUDO_DAYS * max(s.mean, 1e-6)
        lifts = {KINDS[c]: (a + k * pooled_h[c]) / (e + k) for c, (a, e) in s.hol.items()}
        promo = (s.promo[0] + k * pooled_p) / (s.promo[1] + k) if s.promo else None
        betas, means = {}, {}
        for name, (szr, szz, mean, days) in s.fac.items():
            kappa = FACTOR_PSEUDO_DAYS * szz / days  # as if 30 more days had shown no effect
            betas[name] = szr / (szz + kappa) if szz + kappa > 0 else 0.0
            means[name] = mean
        out.append(DriverEffects({k2: float(v) for k2, v in lifts.items()},
                                 None if promo is None else float(promo), betas, means))
    return out


YEAR = 364  # 52 weeks: the same weekday a year before
YEARLY_PSEUDO_UNITS = 200.0


def yearly_shape(clean: np.ndarray, origin: int, h: int) -> np.ndarray | None:
    """Last year's change of level from the forecast origin over the next ``h`` days, as multipliers.

    ``clean`` is demand with the holidays, promotions and factors divided out (holidays move between
    years, so last year's Spring Festival must not reappear as a bump). The level is a centred 28-day
    mean; the shape is level(t + k − 364) ÷ level(origin − 1 − 364), shrunk towards 1 for series with
    little volume (weight = last year's units ÷ (units + 200)) and kept within [0.5, 2]. None when the
    history is shorter than a year and a horizon."""
    if origin - 1 - YEAR - 14 < 0 or origin + h - YEAR + 14 > origin:
        return None
    lo, hi = origin - 1 - YEAR - 14, origin + h - YEAR + 14
    level = pd.Series(clean[lo:hi]).rolling(28, center=True, min_periods=14).mean().to_numpy()
    base = level[14]
    if not np.isfinite(base) or base <= 0:
        return None
    ratio = np.clip(level[15:15 + h] / base, 0.5, 2.0)
    units = float(np.nansum(clean[max(0, origin - YEAR):origin]))
    weight = units / (units + YEARLY_PSEUDO_UNITS)
    return 1.0 + weight * (np.nan_to_num(ratio, nan=1.0) - 1.0)
