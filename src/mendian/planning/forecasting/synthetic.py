"""The demo demand model: daily demand per (store, SKU) with a weekly pattern, a yearly swing, Chinese
holiday peaks (eves of Spring Festival and National Day, the holidays, quieter moved working weekends),
promotions, temperature-sensitive SKUs, intermittent slow movers and stock-out days.

Used by the benchmarks and tests (and available to a demo seeder). Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .drivers import KIND_CODE, KINDS, MAKEUP_WORKDAY, holiday_codes
from .engine import SeriesInput

HOLIDAY_EFFECT = {"spring_festival": 0.6, "national_day": 1.4, "labour_day": 1.3, "mid_autumn_festival": 1.3,
                  "dragon_boat_festival": 1.2, "tomb_sweeping_day": 1.1, "new_years_day": 1.2}
EVE_EFFECT = {"spring_festival": 2.2, "national_day": 1.3, "mid_autumn_festival": 1.6, "dragon_boat_festival": 1.3}
WEEKDAY = np.array([0.9, 0.88, 0.9, 0.95, 1.1, 1.2, 1.15])


@dataclass
class SyntheticSeries:
    inp: SeriesInput
    future_demand: np.ndarray  # true demand over the horizon (for simulations)
    mean_rate: float
    price: float
    intermittent: bool


def temperature(start: dt.date, n: int, city_seed: int) -> np.ndarray:
    rng = np.random.default_rng(10_000 + city_seed)
    doy = np.array([(start + dt.timedelta(days=i)).timetuple().tm_yday for i in range(n)])
    base = 16 + 3 * rng.standard_normal()
    seasonal = 12 * np.sin(2 * np.pi * (doy - 105) / 365.25)
    noise = np.zeros(n)
    for i in range(1, n):  # persistent weather spells
        noise[i] = 0.75 * noise[i - 1] + 2.2 * rng.standard_normal()
    return base + seasonal + noise


def demand_multiplier(start: dt.date, n: int) -> np.ndarray:
    codes = holiday_codes(start, n)
    mult = np.ones(n)
    for i, c in enumerate(codes):
        kind = KINDS[c]
        if kind is None:
            continue
        if kind == MAKEUP_WORKDAY:
            mult[i] = 0.85
        elif kind.startswith("holiday:"):
            mult[i] = HOLIDAY_EFFECT.get(kind.split(":", 1)[1], 1.0)
        elif kind.startswith("eve:"):
            mult[i] = EVE_EFFECT.get(kind.split(":", 1)[1], 1.0)
    return mult


def make_chain(*, stores: int = 4, skus: int = 25, days: int = 730, horizon: int = 28, seed: int = 7,
               end: dt.date = dt.date(2026, 9, 30), intermittent_share: float = 0.35, promo_share: float = 0.3,
               weather_share: float = 0.3, stockout_rate: float = 0.01) -> list[SyntheticSeries]:
    """Series for ``stores`` × ``skus``, history ending on ``end`` (inclusive), plus ``horizon`` future days."""
    rng = np.random.default_rng(seed)
    start = end - dt.timedelta(days=days - 1)
    total = days + horizon
    hol = demand_multiplier(start, total)
    doy = np.array([(start + dt.timedelta(days=i)).timetuple().tm_yday for i in range(total)])
    dow = (start.weekday() + np.arange(total)) % 7
    temps = {s: temperature(start, total, s % 3) for s in range(stores)}
    sku_rate = np.exp(rng.normal(1.2, 1.0, skus))
    sku_inter = rng.random(skus) < intermittent_share
    sku_weather = rng.random(skus) < weather_share
    sku_price = np.round(np.exp(rng.normal(2.5, 0.8, skus)), 2)
    sku_amp = rng.uniform(0.0, 0.25, skus)
    out: list[SyntheticSeries] = []
    for s in range(stores):
        store_factor = np.exp(rng.normal(0, 0.3))
        for k in range(skus):
            rate = (0.15 + 0.25 * rng.random()) if sku_inter[k] else sku_rate[k] * store_factor
            mu = rate * WEEKDAY[dow] * hol * (1 + sku_amp[k] * np.sin(2 * np.pi * (doy - 80) / 365.25))
            promo = np.zeros(total, bool)
            if rng.random() < promo_share:
                for p0 in rng.choice(total - 10, size=max(1, total // 90), replace=False):
                    promo[p0:p0 + 7] = True
                mu = mu * np.where(promo, 1.8, 1.0)
            factors: dict[str, np.ndarray] = {}
            t = temps[s]
            if sku_weather[k]:
                mu = mu * np.clip(1 + 0.04 * (t - 16), 0.3, 3.0)
            factors["temperature"] = t.copy()
            if sku_inter[k]:
                events = rng.poisson(mu)
                demand = np.array([rng.geometric(0.5, e).sum() if e else 0 for e in events], float)
            else:
                demand = rng.negative_binomial(5, 5 / (5 + mu)).astype(float)
            stockout = np.zeros(days, bool)
            if stockout_rate > 0:
                starts = np.flatnonzero(rng.random(days) < stockout_rate / 3)
                for st in starts:
                    stockout[st:st + 3] = True
            sales = np.where(stockout, 0.0, demand[:days])
            inp = SeriesInput(key=(s, k), start=start, sales=sales, stockout=stockout, promo=promo,
                              factors=factors)
            out.append(SyntheticSeries(inp=inp, future_demand=demand[days:], mean_rate=float(mu[:days].mean()),
                                       price=float(sku_price[k]), intermittent=bool(sku_inter[k])))
    return out


__all__ = ["make_chain", "SyntheticSeries", "temperature", "demand_multiplier", "KIND_CODE"]
