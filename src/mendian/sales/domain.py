"""Pure sales rules: validating and pricing order lines, settling tenders, order state changes,
refund amounts, lot takes per line, shift cash. Plain dataclasses and Decimal money; no Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from mendian.core.errors import Conflict, InvalidInput, unknown_code
from mendian.core.money import ZERO, line_amount, money_sum, tax_included, to_money

CHANNELS = ("pos", "online", "miniprogram", "app")
ONLINE_CHANNELS = ("online", "miniprogram", "app")
FULFILMENTS = ("in_store", "pickup", "delivery")
TENDER_METHODS = ("cash", "card", "wechat_pay", "alipay")  # what a customer hands over; "points" is the system's
POINTS_METHOD = "points"
MAX_QUANTITY = 1_000_000  # base units per line (a tonne of goods sold by the gram)
MAX_AMOUNT = Decimal("999999999.99")  # what an order's money columns hold with room to spare


# --- input ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


@dataclass(frozen=True)
class TenderRequest:
    method: str
    amount: Decimal
    reference: str = ""


class PricedSku(Protocol):
    """What pricing needs to know about a SKU at the store (catalog.pricing.SkuPrice has it)."""

    sku_id: int
    code: str
    price: Decimal
    price_unit_qty: int
    vat_rate: Decimal
    active: bool


@dataclass(frozen=True)
class SkuInfo:
    sku_id: int
    code: str
    price: Decimal
    price_unit_qty: int
    vat_rate: Decimal
    active: bool = True


def validate_order_request(*, channel: str, fulfilment: str, lines: Sequence[LineRequest],
                           tenders: Sequence[TenderRequest], max_lines: int, require_tenders: bool = True) -> None:
    """Shape-independent rules of an order request; raises InvalidInput (422) naming the field."""
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}", code="invalid_channel", details={"field": "channel"})
    if fulfilment not in FULFILMENTS:
        raise InvalidInput(f"unknown fulfilment {fulfilment!r}", code="invalid_fulfilment",
                           details={"field": "fulfilment"})
    if channel == "pos" and fulfilment != "in_store":
        raise InvalidInput("a POS sale is fulfilled in store", code="invalid_fulfilment", details={"field": "fulfilment"})
    if not lines:
        raise InvalidInput("an order needs at least one line", code="no_lines", details={"field": "lines"})
    if len(lines) > max_lines:
        raise InvalidInput(f"an order has at most {max_lines} lines", code="too_many_lines",
                           details={"field": "lines", "max": max_lines, "given": len(lines)})
    for i, line in enumerate(lines):
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity <= 0:
            raise InvalidInput("quantity must be a whole number above zero", code="invalid_quantity",
                               details={"field": f"lines[{i}].quantity", "value": line.quantity})
        if line.quantity > MAX_QUANTITY:
            raise InvalidInput(f"quantity above {MAX_QUANTITY}", code="invalid_quantity",
                               details={"field": f"lines[{i}].quantity", "value": line.quantity})
    if channel == "pos" and not tenders and require_tenders:
        raise InvalidInput("a POS sale is paid at the till: give its tenders", code="tenders_required",
                           details={"field": "tenders"})
    validate_tenders(tenders)


def validate_tenders(tenders: Sequence[TenderRequest], field_name: str = "tenders") -> None:
    for i, t in enumerate(tenders):
        if t.method not in TENDER_METHODS:
            raise InvalidInput(f"unknown tender method {t.method!r}", code="invalid_tender",
                               details={"field": f"{field_name}[{i}].method", "value": t.method})
        if t.amount <= 0 or t.amount != to_money(t.amount) or t.amount > MAX_AMOUNT:
            raise InvalidInput("a tender amount is above zero with at most two decimals", code="invalid_tender",
                               details={"field": f"{field_name}[{i}].amount", "value": str(t.amount)})


# --- pricing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    line_no: int
    sku_id: int
    sku_code: str
    quantity: int
    unit_price: Decimal
    price_unit_qty: int
    discount: Decimal
    amount: Decimal  # tax-inclusive, after discount
    tax: Decimal  # VAT contained in amount
    vat_rate: Decimal
    gift_of: str = ""  # the promotion that gives this line free (买赠/满赠)


@dataclass(frozen=True)
class QuotedLine:
    """The promotions engine's price of a requested line (same order as the request)."""

    unit_price: Decimal
    list_amount: Decimal
    discount: Decimal


@dataclass(frozen=True)
class GiftRequest:
    promotion: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal  # before discounts
    discount_total: Decimal
    total: Decimal
    tax_total: Decimal


def price_lines(lines: Sequence[LineRequest], skus: Mapping[str, PricedSku]) -> list[PricedLine]:
    """Price each line at the store's price. Discounts are zero until the promotions engine fills them."""
    out: list[PricedLine] = []
    for i, line in enumerate(lines):
        sku = skus.get(line.sku)
        if sku is None:
            raise unknown_code(f"lines[{i}].sku", line.sku)
        if not sku.active:
            raise InvalidInput(f"SKU {line.sku} is not on sale", code="sku_inactive",
                               details={"field": f"lines[{i}].sku", "value": line.sku})
        gross = line_amount(sku.price, line.quantity, sku.price_unit_qty)
        discount = ZERO
        amount = to_money(gross - discount)
        if amount > MAX_AMOUNT:
            raise InvalidInput("line amount too large", code="amount_too_large",
                               details={"field": f"lines[{i}].quantity", "value": line.quantity})
        out.append(PricedLine(
            line_no=i + 1, sku_id=sku.sku_id, sku_code=sku.code, quantity=line.quantity, unit_price=sku.price,
            price_unit_qty=sku.price_unit_qty, discount=discount, amount=amount,
            tax=tax_included(amount, sku.vat_rate), vat_rate=sku.vat_rate,
        ))
    return out


def price_lines_quoted(lines: Sequence[LineRequest], skus: Mapping[str, PricedSku], quoted: Sequence[QuotedLine],
                       gifts: Sequence[GiftRequest] = ()) -> list[PricedLine]:
    """Lines priced by the promotions engine: its regular price and its discount per line (never
    more than the line, so no amount is negative), then the gift lines at price zero."""
    if len(quoted) != len(lines):
        raise ValueError("the quote does not match the lines")
    out: list[PricedLine] = []
    for i, (line, q) in enumerate(zip(lines, quoted, strict=True)):
        sku = skus.get(line.sku)
        if sku is None:
            raise unknown_code(f"lines[{i}].sku", line.sku)
        if not sku.active:
            raise InvalidInput(f"SKU {line.sku} is not on sale", code="sku_inactive",
                               details={"field": f"lines[{i}].sku", "value": line.sku})
        gross = to_money(q.list_amount)
        if gross > MAX_AMOUNT:
            raise InvalidInput("line amount too large", code="amount_too_large",
                               details={"field": f"lines[{i}].quantity", "value": line.quantity})
        discount = min(max(to_money(q.discount), ZERO), gross)
        amount = to_money(gross - discount)
        out.append(PricedLine(
            line_no=i + 1, sku_id=sku.sku_id, sku_code=sku.code, quantity=line.quantity, unit_price=q.unit_price,
            price_unit_qty=sku.price_unit_qty, discount=discount, amount=amount,
            tax=tax_included(amount, sku.vat_rate), vat_rate=sku.vat_rate))
    for g in gifts:
        sku = skus.get(g.sku)
        if sku is None:
            raise InvalidInput(f"gift SKU {g.sku} of {g.promotion} is unknown", code="gift_unavailable",
                               details={"promotion": g.promotion, "sku": g.sku})
        out.append(PricedLine(
            line_no=len(out) + 1, sku_id=sku.sku_id, sku_code=sku.code, quantity=g.quantity, unit_price=ZERO,
            price_unit_qty=sku.price_unit_qty, discount=ZERO, amount=ZERO, tax=ZERO, vat_rate=sku.vat_rate,
            gift_of=g.promotion))
    return out


def points_share(points_value: Decimal, total: Decimal, refunded_before: Decimal, refund_amount: Decimal) -> Decimal:
    """The part of a refund that the points tender paid: the points' share of the order, cumulative
    over partial refunds (so the shares of all refunds sum exactly to the points' value)."""
    if points_value <= 0 or total <= 0:
        return ZERO
    after = min(refunded_before + refund_amount, total)
    return to_money(points_value * after / total) - to_money(points_value * refunded_before / total)


def order_totals(lines: Sequence[PricedLine]) -> Totals:
    amount = money_sum(line.amount for line in lines)
    discount = money_sum(line.discount for line in lines)
    totals = Totals(subtotal=to_money(amount + discount), discount_total=discount, total=amount,
                    tax_total=money_sum(line.tax for line in lines))
    if totals.subtotal > MAX_AMOUNT:
        raise InvalidInput("order total too large", code="amount_too_large", details={"field": "lines"})
    return totals


# --- tenders --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    paid: Decimal  # what the customer handed over
    change: Decimal  # cash given back


def settle(total: Decimal, tenders: Sequence[TenderRequest]) -> Settlement:
    """Tenders must cover the total. Only cash may exceed it; the excess is the change, and it can
    not be more than the cash handed over (no change from a card)."""
    paid = money_sum(t.amount for t in tenders)
    if paid < total:
        raise InvalidInput(f"tenders {paid} short of the total {total}", code="tenders_short",
                           details={"field": "tenders", "total": str(total), "tendered": str(paid)})
    change = to_money(paid - total)
    cash = money_sum(t.amount for t in tenders if t.method == "cash")
    if change > cash:
        raise InvalidInput("only cash may exceed the total (change is given in cash)", code="tenders_over",
                           details={"field": "tenders", "total": str(total), "tendered": str(paid)})
    return Settlement(paid=paid, change=change)


# --- stock ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Take:
    """A part of a line taken from one lot at one unit cost (mirrors inventory.services.LotTake)."""

    sku_id: int
    lot_id: int | None
    lot_code: str | None
    quantity: int
    unit_cost: Decimal


def stock_quantities(lines: Iterable[PricedLine]) -> list[tuple[int, int]]:
    """(sku_id, quantity) per SKU, summed over lines naming the same SKU, in SKU id order."""
    sums: dict[int, int] = {}
    for line in lines:
        sums[line.sku_id] = sums.get(line.sku_id, 0) + line.quantity
    return sorted(sums.items())


def split_takes(lines: Sequence[PricedLine], takes: Sequence[Take]) -> dict[int, list[Take]]:
    """Give each line its share of the stock takes (lot, quantity, cost) of its SKU, in line order.

    The inventory takes stock per SKU (FEFO across lots); lines naming the same SKU consume the
    takes of that SKU one after the other.
    """
    pools: dict[int, list[Take]] = {}
    for t in takes:
        if t.quantity > 0:
            pools.setdefault(t.sku_id, []).append(t)
    out: dict[int, list[Take]] = {}
    for line in lines:
        need = line.quantity
        mine: list[Take] = []
        pool = pools.get(line.sku_id, [])
        while need > 0 and pool:
            t = pool[0]
            q = min(need, t.quantity)
            mine.append(Take(t.sku_id, t.lot_id, t.lot_code, q, t.unit_cost))
            need -= q
            if q == t.quantity:
                pool.pop(0)
            else:
                pool[0] = Take(t.sku_id, t.lot_id, t.lot_code, t.quantity - q, t.unit_cost)
        if need > 0:
            raise ValueError(f"stock takes do not cover line {line.line_no} ({need} of SKU {line.sku_id} missing)")
        out[line.line_no] = mine
    return out


def takes_cost(takes: Iterable[Take]) -> Decimal:
    return sum((Decimal(t.unit_cost) * t.quantity for t in takes), Decimal("0")).quantize(Decimal("0.0001"))


def takes_to_json(takes: Iterable[Take]) -> list[dict]:
    return [{"lot_id": t.lot_id, "lot": t.lot_code, "quantity": t.quantity, "unit_cost": str(t.unit_cost)}
            for t in takes]


def takes_from_json(sku_id: int, data: Iterable[Mapping]) -> list[Take]:
    return [Take(sku_id, d.get("lot_id"), d.get("lot"), int(d["quantity"]), Decimal(str(d.get("unit_cost", "0"))))
            for d in data]


def takes_slice(takes: Sequence[Take], start: int, quantity: int) -> list[Take]:
    """The takes covering units ``start`` … ``start + quantity − 1`` of a line (refunds give back the
    units in the order they were taken, so successive partial refunds never return a unit twice)."""
    out: list[Take] = []
    pos = 0
    end = start + quantity
    for t in takes:
        lo, hi = max(start, pos), min(end, pos + t.quantity)
        if hi > lo:
            out.append(Take(t.sku_id, t.lot_id, t.lot_code, hi - lo, t.unit_cost))
        pos += t.quantity
    return out


# --- order states ---------------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pay": ("pending",),
    "fulfil": ("paid",),
    "complete": ("fulfilled",),
    "cancel": ("pending", "paid"),
    "expire": ("pending",),
    "refund": ("fulfilled", "completed", "partially_refunded"),
    "verify_pickup": ("paid",),
}


def check_transition(status: str, action: str, number: str = "") -> None:
    """409 ``invalid_state`` when ``action`` is not allowed in ``status``."""
    allowed = TRANSITIONS[action]
    if status not in allowed:
        raise Conflict(f"order {number} is {status}: cannot {action.replace('_', ' ')}", code="invalid_state",
                       details={"status": status, "action": action, "allowed_from": list(allowed)})


def order_number(store_code: str, day: dt.date, seq: int) -> str:
    """``KM001-20261125-0042``: readable, unique per store and day; no chain-wide counter."""
    return f"{store_code}-{day:%Y%m%d}-{seq:04d}"


def pickup_code_from(n: int) -> str:
    return f"{n % 1_000_000:06d}"


# --- refunds --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundRequestLine:
    line: int  # the line's number within the order
    quantity: int


@dataclass(frozen=True)
class LineState:
    line_no: int
    sku_id: int
    sku_code: str
    quantity: int
    refunded_qty: int
    amount: Decimal
    tax: Decimal


@dataclass(frozen=True)
class RefundLine:
    line_no: int
    sku_id: int
    sku_code: str
    quantity: int
    amount: Decimal
    tax: Decimal
    refunded_from: int  # units of the line refunded before this refund


@dataclass(frozen=True)
class RefundPlan:
    lines: list[RefundLine]
    amount: Decimal
    fully_refunded: bool  # every line now refunded whole


def _share(value: Decimal, part: int, whole: int) -> Decimal:
    return to_money(value * part / whole)


def plan_refund(lines: Sequence[LineState], requests: Sequence[RefundRequestLine]) -> RefundPlan:
    """Amounts of a (partial) refund. The money for the first ``c`` units of a line is
    ``amount × c / quantity`` rounded to the fen, so successive partial refunds of a line sum exactly
    to its amount."""
    if not requests:
        raise InvalidInput("name the lines to refund", code="no_lines", details={"field": "lines"})
    by_no = {line.line_no: line for line in lines}
    asked: dict[int, int] = {}
    for i, r in enumerate(requests):
        if r.line not in by_no:
            raise InvalidInput(f"the order has no line {r.line}", code="unknown_line",
                               details={"field": f"lines[{i}].line", "value": r.line})
        if not isinstance(r.quantity, int) or isinstance(r.quantity, bool) or r.quantity <= 0:
            raise InvalidInput("quantity must be a whole number above zero", code="invalid_quantity",
                               details={"field": f"lines[{i}].quantity", "value": r.quantity})
        asked[r.line] = asked.get(r.line, 0) + r.quantity
        state = by_no[r.line]
        if asked[r.line] > state.quantity - state.refunded_qty:
            raise InvalidInput(f"line {r.line}: only {state.quantity - state.refunded_qty} left to refund",
                               code="refund_exceeds_line",
                               details={"field": f"lines[{i}].quantity", "line": r.line,
                                        "refundable": state.quantity - state.refunded_qty})
    out: list[RefundLine] = []
    for line_no in sorted(asked):
        s = by_no[line_no]
        q = asked[line_no]
        before, after = s.refunded_qty, s.refunded_qty + q
        amount = _share(s.amount, after, s.quantity) - _share(s.amount, before, s.quantity)
        tax = _share(s.tax, after, s.quantity) - _share(s.tax, before, s.quantity)
        out.append(RefundLine(line_no, s.sku_id, s.sku_code, q, amount, tax, before))
    fully = all(by_no[n].refunded_qty + asked.get(n, 0) == by_no[n].quantity for n in by_no)
    return RefundPlan(lines=out, amount=money_sum(r.amount for r in out), fully_refunded=fully)


@dataclass(frozen=True)
class Payment:
    method: str
    amount: Decimal  # net of change and of earlier refunds, > 0
    reference: str = ""


def refund_tenders(amount: Decimal, paid: Sequence[Payment], given: Sequence[TenderRequest]) -> list[TenderRequest]:
    """How the refund is paid out (positive amounts; stored as negative tenders).

    Given tenders must sum to the refund amount. Without them the money goes back the way it came:
    method by method in the order of payment, each up to what it still holds net.
    """
    if given:
        validate_tenders(given)
        total = money_sum(t.amount for t in given)
        if total != amount:
            raise InvalidInput(f"refund tenders {total} differ from the refund amount {amount}",
                               code="refund_tenders_mismatch",
                               details={"field": "tenders", "amount": str(amount), "tendered": str(total)})
        return list(given)
    left = amount
    out: list[TenderRequest] = []
    for p in paid:
        if left <= 0:
            break
        part = min(left, p.amount)
        if part > 0:
            out.append(TenderRequest(p.method, to_money(part), p.reference))
            left = to_money(left - part)
    if left > 0:
        raise Conflict("the order holds less money than the refund", code="refund_exceeds_paid",
                       details={"amount": str(amount), "missing": str(left)})
    return out


def net_payments(tenders: Iterable[tuple[str, Decimal, str]], change: Decimal) -> list[Payment]:
    """What each method still holds on an order: payments minus refunds, the change taken off cash."""
    held: dict[str, Decimal] = {}
    refs: dict[str, str] = {}
    for method, amount, ref in tenders:
        held[method] = held.get(method, ZERO) + amount
        if amount > 0 and method not in refs:
            refs[method] = ref
    if change:
        held["cash"] = held.get("cash", ZERO) - change
    return [Payment(m, to_money(a), refs.get(m, "")) for m, a in held.items() if a > 0]


# --- shifts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftCash:
    opening_float: Decimal
    cash_in: Decimal = ZERO  # cash tenders taken (positive)
    change: Decimal = ZERO  # change given back on those sales
    cash_refunds: Decimal = ZERO  # cash paid out for refunds (positive)

    @property
    def expected(self) -> Decimal:
        return to_money(self.opening_float + self.cash_in - self.change - self.cash_refunds)


def shift_variance(expected: Decimal, counted: Decimal) -> Decimal:
    """Counted minus expected: negative when cash is missing."""
    return to_money(counted - expected)
