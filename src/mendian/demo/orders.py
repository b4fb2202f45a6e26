"""The last days of the demo chain as real documents, made through the sales services.

Per store and day: the cashier opens a shift at opening time with a ¥500 float, rings up POS orders
through the day (cash with change, WeChat Pay, Alipay, card), and closes the shift at closing time with
the counted cash (now and then a small variance); a few mini-program/app orders for pickup are paid
online and verified (核销) at the store later that day — except some of yesterday's, which still
wait for their customer. Order quantities are drawn from that day's imported history, so the orders
are a subset of the history (the tills that already ran mendian), never more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

from mendian.core.timeutil import local_tz

from .generate import RECENT_DAYS, SkuPlan, StorePlan, StoreSales

FLOAT = Decimal("500.00")
METHODS = ("wechat_pay", "alipay", "cash", "card")
METHOD_P = (0.46, 0.30, 0.16, 0.08)
ONLINE_CHANNELS = ("miniprogram", "app", "online")


def _reference(rng: np.random.Generator, method: str) -> str:
    if method == "wechat_pay":
        return "42000" + "".join(str(d) for d in rng.integers(0, 10, size=23))
    if method == "alipay":
        return "2026" + "".join(str(d) for d in rng.integers(0, 10, size=24))
    if method == "card":
        return "POS" + "".join(str(d) for d in rng.integers(0, 10, size=12))
    return ""


def _cash_given(rng: np.random.Generator, total: Decimal) -> Decimal:
    step = Decimal(int(rng.choice([10, 50, 100], p=[0.5, 0.25, 0.25])))
    given = (total / step).to_integral_value(rounding="ROUND_CEILING") * step
    return max(given, total)


def _pick_lines(rng: np.random.Generator, remaining: np.ndarray, skus: list[SkuPlan], idx: np.ndarray,
                n_lines: int) -> list[tuple[int, int]]:
    """(row, quantity) pairs drawn from what is left of the day's history, which they reduce."""
    left = np.flatnonzero(remaining > 0)
    if len(left) == 0:
        return []
    weights = np.sqrt(remaining[left].astype(float))
    rows = rng.choice(left, size=min(n_lines, len(left)), replace=False, p=weights / weights.sum())
    out = []
    for r in rows.tolist():
        s = skus[int(idx[r])]
        if s.by_weight:
            want = int(round(rng.uniform(200, 1500) / 10.0) * 10)
        else:
            want = 1 + int(rng.geometric(0.6)) - 1
        q = int(min(want, remaining[r]))
        if q > 0:
            remaining[r] -= q
            out.append((r, q))
    return out


def create_recent_orders(rng: np.random.Generator, *, stores: list[StorePlan], skus: list[SkuPlan],
                         sales: list[StoreSales], users: dict[str, Any], today: dt.date,
                         progress: Callable[[float], None] | None = None) -> tuple[int, int]:
    """Returns (orders, shifts) created."""
    from mendian.catalog.pricing import price_lookup
    from mendian.core.errors import InvalidInput
    from mendian.sales.domain import LineRequest, TenderRequest, order_totals, price_lines
    from mendian.sales.services import SaleContext, order_create, pickup_verify, shift_close, shift_open

    tz = local_tz()
    n_orders = n_shifts = 0
    for si, st in enumerate(stores):
        sa = sales[si]
        cashier = users[f"cashier.{st.code}"]
        codes = [skus[int(k)].code for k in sa.skus]
        per_day = max(2, int(round(2 + st.area / 120)))
        for d in range(RECENT_DAYS):
            day = today - dt.timedelta(days=RECENT_DAYS - d)
            remaining = sa.recent[:, d].astype(np.int64).copy()
            if not remaining.any():
                continue
            open_at = dt.datetime.combine(day, st.opens, tzinfo=tz) + dt.timedelta(minutes=5)
            close_at = dt.datetime.combine(day, st.closes, tzinfo=tz) - dt.timedelta(minutes=10)
            carried = [codes[j] for j in np.flatnonzero(remaining).tolist()]
            prices = price_lookup(location_id=st.id, sku_codes=carried, at=open_at)
            shift = shift_open(actor=cashier, store_id=st.id, opening_float=FLOAT, now=open_at)
            n_shifts += 1
            ctx = SaleContext(store_id=st.id, store_code=st.code, store_kind="store", open_shift_id=shift.pk)
            span = (close_at - open_at).total_seconds() - 1800
            times = sorted(open_at + dt.timedelta(seconds=float(x)) for x in rng.uniform(600, span, size=per_day))
            cash_in = change = Decimal("0")
            for t in times:
                picked = _pick_lines(rng, remaining, skus, sa.skus, int(rng.integers(1, 7)))
                if not picked:
                    break
                lines = [LineRequest(sku=codes[r], quantity=q) for r, q in picked]
                total = order_totals(price_lines(lines, prices)).total
                method = str(rng.choice(METHODS, p=METHOD_P))
                amount = _cash_given(rng, total) if method == "cash" else total
                tenders = [TenderRequest(method=method, amount=amount, reference=_reference(rng, method))]
                try:
                    result = order_create(actor=cashier, ctx=ctx, channel="pos", fulfilment="in_store", lines=lines,
                                          tenders=tenders, now=t)
                except InvalidInput as exc:  # priced differently (a promotion): pay what the till asks
                    if exc.code != "tenders_short":
                        raise
                    total = Decimal(exc.details["total"])
                    amount = _cash_given(rng, total) if method == "cash" else total
                    tenders = [TenderRequest(method=method, amount=amount, reference=_reference(rng, method))]
                    result = order_create(actor=cashier, ctx=ctx, channel="pos", fulfilment="in_store", lines=lines,
                                          tenders=tenders, now=t)
                n_orders += 1
                if method == "cash":
                    cash_in += amount
                    change += result.order.change
            expected = FLOAT + cash_in - change
            variance = Decimal("0") if rng.random() < 0.85 else Decimal(str(rng.choice([-5, -1, -0.5, 0.5, 1, 2])))
            shift_close(actor=cashier, shift_id=shift.pk, counted_cash=max(expected + variance, Decimal("0")),
                        now=close_at)
            # online orders for pickup, paid in the app, verified at the till a few hours later
            for _ in range(int(rng.integers(0, 3))):
                picked = _pick_lines(rng, remaining, skus, sa.skus, int(rng.integers(1, 5)))
                if not picked:
                    break
                lines = [LineRequest(sku=codes[r], quantity=q) for r, q in picked]
                at = open_at + dt.timedelta(seconds=float(rng.uniform(600, span / 2)))
                total = order_totals(price_lines(lines, prices)).total
                method = "wechat_pay" if rng.random() < 0.7 else "alipay"
                channel = str(rng.choice(ONLINE_CHANNELS, p=(0.6, 0.3, 0.1)))
                try:
                    result = order_create(actor=None, ctx=ctx, channel=channel, fulfilment="pickup", lines=lines,
                                          tenders=[TenderRequest(method, total, _reference(rng, method))], now=at)
                except InvalidInput as exc:
                    if exc.code != "tenders_short":
                        raise
                    total = Decimal(exc.details["total"])
                    result = order_create(actor=None, ctx=ctx, channel=channel, fulfilment="pickup", lines=lines,
                                          tenders=[TenderRequest(method, total, _reference(rng, method))], now=at)
                n_orders += 1
                waiting = d == RECENT_DAYS - 1 and rng.random() < 0.5
                if not waiting and result.order.pickup_code:
                    pickup_verify(actor=cashier, store_id=st.id, code=result.order.pickup_code,
                                  now=at + dt.timedelta(hours=float(rng.uniform(0.5, 4))))
        if progress is not None:
            progress((si + 1) / len(stores))
    return n_orders, n_shifts
