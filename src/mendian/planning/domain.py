"""Pure planning rules: safety stock, reorder point, order-up-to level, slow movers and overstock.

No Django; plain values in, frozen dataclasses out. Every figure carries an ``explanation`` dict with
its inputs, the formula and the intermediate values, which the API returns as is.

Safety stock (continuous review of a periodic order cycle):

    P    = L + R                      protection period: lead time + review period (days)
    σ_P  = √(P·σ_e² + D̄²·σ_L²)       σ_e: RMSE of daily forecast errors (cross-validation windows),
                                      D̄: mean daily forecast over P, σ_L: lead-time standard deviation
    SS   = ⌈z · σ_P⌉                  z = Φ⁻¹(service level); service level by ABC class
    ROP  = ⌈Σ forecast over L + SS⌉   reorder point
    OUT  = ⌈Σ forecast over P + SS⌉   order-up-to level

How they are used (periodic review, (R, S)): on each review day, order ``OUT − inventory position``
when the position (on hand + on order − reserved) is below OUT; the safety stock covers the forecast
error over L + R because an order placed today is the last one to arrive before the next review's
order does. ROP is the continuous-review trigger: a position at or below it cannot cover the lead
time plus safety stock, so an order is due at once, review day or not (what daily proposals and
alerts use).

The forecast errors' σ scales with √P as if daily errors were independent; the lead-time term is the
classic variance of demand over a random lead time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist

DEFAULT_SERVICE_LEVELS = {"A": 0.98, "B": 0.95, "C": 0.90}
DEFAULT_LEAD_TIME_DAYS = 7.0
DEFAULT_REVIEW_PERIOD_DAYS = 7.0


class InvalidPolicyInput(ValueError):
    pass


@dataclass(frozen=True)
class ReplenishmentParams:
    lead_time_days: float = DEFAULT_LEAD_TIME_DAYS
    lead_time_std_days: float = 0.0
    review_period_days: float = DEFAULT_REVIEW_PERIOD_DAYS
    source: str = "default"  # where the figures come from: default | location | sku | location_sku | supplier


@dataclass(frozen=True)
class StockPolicy:
    safety_stock: int
    reorder_point: int
    order_up_to: int
    service_level: float
    z: float
    explanation: dict = field(default_factory=dict)


def service_level_for(abc: str, levels: dict[str, float] | None = None) -> float:
    levels = levels or DEFAULT_SERVICE_LEVELS
    sl = levels.get(abc, levels.get("C", DEFAULT_SERVICE_LEVELS["C"]))
    if not 0.5 <= sl < 1:
        raise InvalidPolicyInput(f"service level must be in [0.5, 1): {sl}")
    return sl


def z_value(service_level: float) -> float:
    return NormalDist().inv_cdf(service_level)


def demand_over(forecast: Sequence[float], days: float) -> float:
    """Forecast demand over the next ``days`` days (fractional days take a share of the day; past the
    horizon the horizon's mean daily demand continues)."""
    if days <= 0:
        return 0.0
    f = list(forecast)
    mean = sum(f) / len(f) if f else 0.0
    whole = int(math.floor(days))
    total = sum(f[i] if i < len(f) else mean for i in range(whole))
    frac = days - whole
    if frac > 0:
        total += frac * (f[whole] if whole < len(f) else mean)
    return total


def stock_policy(*, forecast: Sequence[float], sigma_daily: float, abc: str, params: ReplenishmentParams,
                 service_levels: dict[str, float] | None = None) -> StockPolicy:
    L, R, sL = params.lead_time_days, params.review_period_days, params.lead_time_std_days
    if L < 0 or R < 0 or sL < 0 or sigma_daily < 0:
        raise InvalidPolicyInput("lead time, review period and σ must not be negative")
    sl = service_level_for(abc, service_levels)
    z = z_value(sl)
    P = L + R
    d_p = demand_over(forecast, P)
    d_l = demand_over(forecast, L)
    d_mean = d_p / P if P > 0 else (sum(forecast) / len(forecast) if forecast else 0.0)
    var_p = P * sigma_daily ** 2 + (d_mean ** 2) * (sL ** 2)
    sigma_p = math.sqrt(var_p)
    ss_raw = z * sigma_p
    ss = max(0, math.ceil(ss_raw - 1e-9))
    rop = max(0, math.ceil(d_l + ss - 1e-9))
    out = max(rop, math.ceil(d_p + ss - 1e-9))
    explanation = {
        "inputs": {"abc_class": abc, "service_level": sl, "lead_time_days": L, "lead_time_std_days": sL,
                   "review_period_days": R, "sigma_daily_forecast_error": round(sigma_daily, 4),
                   "mean_daily_forecast": round(d_mean, 4), "params_source": params.source},
        "values": {"z": round(z, 4), "protection_period_days": P, "sigma_protection_period": round(sigma_p, 4),
                   "safety_stock_exact": round(ss_raw, 4), "demand_over_lead_time": round(d_l, 4),
                   "demand_over_protection_period": round(d_p, 4)},
        "formulas": {
            "safety_stock": f"⌈z·√(P·σ_e² + D̄²·σ_L²)⌉ = ⌈{z:.4f}·√({P:g}·{sigma_daily:.4f}² + {d_mean:.4f}²·{sL:g}²)⌉"
                            f" = ⌈{ss_raw:.4f}⌉ = {ss}",
            "reorder_point": f"⌈Σ forecast over L + SS⌉ = ⌈{d_l:.4f} + {ss}⌉ = {rop}",
            "order_up_to": f"⌈Σ forecast over L+R + SS⌉ = ⌈{d_p:.4f} + {ss}⌉ = {out}",
        },
    }
    return StockPolicy(safety_stock=ss, reorder_point=rop, order_up_to=out, service_level=sl, z=round(z, 6),
                       explanation=explanation)


# --- slow movers and overstock ---------------------------------------------------------------------

@dataclass(frozen=True)
class SlowMoverRules:
    no_sale_days: int = 30  # no sale for this many days → slow mover
    dead_days: int = 90  # … this many → dead stock
    overstock_weeks: float = 12.0  # weeks of cover above this → overstock
    keep_weeks: float = 4.0  # what a location keeps before the rest is a transfer-out candidate
    markdowns: tuple[tuple[str, Decimal], ...] = (
        ("dead_stock", Decimal("0.40")), ("no_recent_sale", Decimal("0.20")),
        ("severe_overstock", Decimal("0.20")), ("overstock", Decimal("0.10")))


@dataclass(frozen=True)
class SlowMoverInput:
    on_hand: int
    mean_daily: float  # forecast mean daily demand (or recent sales when there is no forecast)
    days_since_last_sale: int | None  # None: never sold here
    list_price: Decimal
    order_up_to: int | None = None


@dataclass(frozen=True)
class SlowMoverAssessment:
    flags: tuple[str, ...]
    weeks_of_cover: float | None  # None: no demand (infinite cover)
    markdown_pct: Decimal
    proposed_price: Decimal
    transfer_out_qty: int
    explanation: dict


def assess_slow_mover(item: SlowMoverInput, rules: SlowMoverRules = SlowMoverRules()) -> SlowMoverAssessment:
    flags: list[str] = []
    cover = None if item.mean_daily <= 0 else item.on_hand / (item.mean_daily * 7)
    if item.on_hand > 0:
        ds = item.days_since_last_sale
        if ds is None or ds >= rules.dead_days:
            flags.append("dead_stock")
        elif ds >= rules.no_sale_days:
            flags.append("no_recent_sale")
        if cover is None or cover > 2 * rules.overstock_weeks:
            flags.append("severe_overstock")
        elif cover > rules.overstock_weeks:
            flags.append("overstock")
    pct = Decimal("0")
    for flag, md in rules.markdowns:
        if flag in flags:
            pct = max(pct, md)
    price = (Decimal(item.list_price) * (1 - pct)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    keep = math.ceil(rules.keep_weeks * 7 * max(item.mean_daily, 0.0))
    if item.order_up_to is not None:
        keep = max(keep, item.order_up_to)
    excess = max(0, item.on_hand - keep) if flags else 0
    explanation = {
        "on_hand": item.on_hand, "mean_daily_demand": round(item.mean_daily, 4),
        "weeks_of_cover": None if cover is None else round(cover, 2),
        "weeks_of_cover_formula": "on hand ÷ (mean daily demand × 7)",
        "days_since_last_sale": item.days_since_last_sale,
        "rules": {"no_sale_days": rules.no_sale_days, "dead_days": rules.dead_days,
                  "overstock_weeks": rules.overstock_weeks, "keep_weeks": rules.keep_weeks},
        "keep_qty": keep, "keep_formula": "max(⌈keep_weeks × 7 × mean daily⌉, order-up-to level)",
        "markdown_rule": "the largest markdown of the flags: dead 40%, no recent sale 20%, severe overstock 20%, overstock 10%",
    }
    return SlowMoverAssessment(tuple(flags), None if cover is None else round(cover, 2), pct, price, excess,
                               explanation)
