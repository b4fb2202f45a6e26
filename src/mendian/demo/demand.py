"""The demand model of the demo chain: daily unit sales per (store, SKU), vectorised with numpy.

rate[p, d] = base[p] × week/holiday[kind(p), d] × season[p, d] × trend[p, d] × promo[p, d] × noise[p, d]
sales[p, d] ~ Poisson(rate[p, d])

- weekly rhythm: Friday to Sunday above the week's mean; tourist towns (Dali, Lijiang) more so. A
  weekend made a working day by the holiday calendar (调休) sells like a weekday.
- holidays from ``chinese_calendar``: the run-up to Spring Festival is the peak of the year (New
  Year's shopping), then the first days of the festival are quiet; National Day and Labour Day are
  Golden Weeks (far stronger in tourist towns); Mid-Autumn has a run-up; other holidays a small lift.
  Years the package does not know fall back to plain weekends.
- season: a yearly cosine per category (drinks and beer peak in July), trend: a growth rate per store.
- noise: a Gamma multiplier (so sales are over-dispersed, negative-binomial like real tills).
- slow movers: a third of SKUs sell a few units a month; Poisson at low rates gives the many zero days
  (intermittent demand) that forecasting must handle.
- promotions: a few chain-wide promotion weeks per SKU lift demand and cut the price.

No Django here: plain numpy on arrays, testable alone.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

WEEKDAY = np.array([0.92, 0.88, 0.90, 0.95, 1.08, 1.18, 1.09])  # Mon..Sun, mean 1.0
WEEKDAY_TOURIST = np.array([0.85, 0.80, 0.82, 0.90, 1.12, 1.35, 1.16])

# holiday name (chinese_calendar) -> (lift in a normal town, lift in a tourist town, run-up days, run-up peak)
HOLIDAYS = {
    "Spring Festival": (0.80, 1.10, 12, 2.10),
    "National Day": (1.35, 2.20, 2, 1.20),
    "Labour Day": (1.25, 1.80, 1, 1.15),
    "Mid-autumn Festival": (1.30, 1.50, 6, 1.45),
    "Dragon Boat Festival": (1.15, 1.35, 2, 1.15),
    "Tomb-sweeping Day": (1.05, 1.25, 0, 1.0),
    "New Year's Day": (1.20, 1.40, 2, 1.20),
}

SPRING_FESTIVAL_PROFILE = (1.9, 1.5, 0.55, 0.65, 0.75)  # first days of the Spring Festival holiday


@dataclass(frozen=True)
class DayInfo:
    day: dt.date
    dow: int  # 0 = Monday, as worked: a 调休 working weekend counts as a Wednesday
    holiday: str | None  # the holiday's name on a day off for it


def calendar(days: list[dt.date]) -> list[DayInfo]:
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover - installed with mendian
        chinese_calendar = None
    out = []
    for d in days:
        dow, name = d.weekday(), None
        if chinese_calendar is not None:
            try:
                on_holiday, holiday = chinese_calendar.get_holiday_detail(d)
                if holiday is not None:
                    name = str(holiday) if on_holiday else None
                if dow >= 5 and chinese_calendar.is_workday(d):
                    dow = 2  # a working weekend (调休)
            except NotImplementedError:
                pass
        out.append(DayInfo(d, dow, name))
    return out


def day_factors(days: list[dt.date]) -> np.ndarray:
    """Shape (2, D): the week-and-holiday factor of each day for a normal (0) and a tourist (1) town."""
    info = calendar(days)
    f = np.empty((2, len(days)))
    for i, x in enumerate(info):
        f[0, i], f[1, i] = WEEKDAY[x.dow], WEEKDAY_TOURIST[x.dow]
    # holiday lifts, plus the run-up before the first day of each holiday period
    i = 0
    while i < len(info):
        name = info[i].holiday
        if name is None:
            i += 1
            continue
        j = i
        while j < len(info) and info[j].holiday == name:
            j += 1
        normal, tourist, runup, peak = HOLIDAYS.get(name, (1.1, 1.2, 0, 1.0))
        f[0, i:j] = normal
        f[1, i:j] = tourist
        if name == "Spring Festival":  # last shopping days up to the eve, then quiet first days of the year
            for k, lift in enumerate(SPRING_FESTIVAL_PROFILE[: j - i]):
                f[:, i + k] = lift
        for k in range(1, runup + 1):  # rising towards the eve
            if i - k < 0 or info[i - k].holiday is not None:
                break  # no run-up into the previous holiday (2025: National Day ran into Mid-Autumn)
            lift = 1.0 + (peak - 1.0) * (runup - k + 1) / runup
            f[:, i - k] *= lift
        i = j
    return f


def season_factors(days: list[dt.date], amplitude: np.ndarray, peak_month: np.ndarray) -> np.ndarray:
    """Shape (K, D): 1 + a·cos(2π(day of year − peak)/365) per category."""
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    peak = (np.asarray(peak_month, dtype=float) - 0.5) * 30.4
    return 1.0 + np.asarray(amplitude)[:, None] * np.cos(2 * math.pi * (doy[None, :] - peak[:, None]) / 365.0)


def simulate(rng: np.random.Generator, *, base: np.ndarray, tourist: np.ndarray, leaf: np.ndarray,
             growth: np.ndarray, season: np.ndarray, day_f: np.ndarray, promo: np.ndarray,
             promo_lift: float = 1.6, dispersion: float = 4.0) -> np.ndarray:
    """Daily sales counts, shape (P, D), for P (store, SKU) pairs over D days.

    ``base`` (P,) mean daily rate; ``tourist`` (P,) 0/1 town kind; ``leaf`` (P,) category index into
    ``season`` (K, D); ``growth`` (P,) yearly growth; ``day_f`` (2, D) from ``day_factors``; ``promo``
    (P, D) bool, the days the pair's SKU is on promotion.
    """
    n_days = day_f.shape[1]
    t = (np.arange(n_days) - (n_days - 1)) / 365.0  # years before the last day
    rate = base[:, None] * day_f[tourist] * season[leaf]
    rate *= np.power(1.0 + growth[:, None], t[None, :])
    rate *= np.where(promo, promo_lift, 1.0)
    rate *= rng.gamma(dispersion, 1.0 / dispersion, size=rate.shape)
    return rng.poisson(rate).astype(np.int32)


def promo_days(rng: np.random.Generator, *, n_skus: int, n_days: int, weeks_per_year: float = 3.0) -> np.ndarray:
    """Shape (n_skus, n_days) bool: a few 7-day promotions per SKU, starting on a Friday-ish."""
    mask = np.zeros((n_skus, n_days), dtype=bool)
    count = rng.poisson(weeks_per_year * n_days / 365.0, size=n_skus)
    for k in np.flatnonzero(count):
        for start in rng.integers(0, max(n_days - 7, 1), size=count[k]):
            mask[k, start:start + 7] = True
    return mask
