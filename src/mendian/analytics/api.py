"""Read endpoints of the dashboards: sales at one node of the drill-down (chain → region → store →
category → SKU) and the self-service pivot, within the caller's scope (404 outside it)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field as NField
from ninja import Query, Router, Schema

from mendian.core.timeutil import local_date
from mendian.org.scope import user_scope
from mendian.platform.schemas import ErrorOut

from .reports import dimension_labels, pivot_report, sales_report
from .selectors import Measures, growth

router = Router(tags=["analytics"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class MeasuresOut(Schema):
    amount: str
    quantity: int
    margin: str
    transactions: int
    atv: str | None
    member_share: str | None


class SalesRowOut(Schema):
    level: str
    code: str
    name: str
    measures: MeasuresOut
    last_year_amount: str
    yoy: str | None


class SalesOut(Schema):
    level: str
    code: str
    name: str
    from_: dt.date = NField(..., alias="from")
    to: dt.date
    total: SalesRowOut
    items: list[SalesRowOut]
    count: int


class SalesQuery(Schema):
    level: str = "chain"
    code: str | None = None
    store: str | None = NField(None, description="narrow a category or SKU to one store")
    from_: dt.date | None = NField(None, alias="from")
    to: dt.date | None = None


class PivotCellOut(Schema):
    row: str | None
    col: str | None
    measures: MeasuresOut


class PivotOut(Schema):
    rows: list[str | None]
    cols: list[str | None]
    items: list[PivotCellOut]
    count: int
    total: MeasuresOut


class PivotQuery(Schema):
    rows: str = "month"
    cols: str | None = None
    store: str | None = None
    from_: dt.date | None = NField(None, alias="from")
    to: dt.date | None = None


def _str(v) -> str | None:
    return None if v is None else str(v)


def measures_out(m: Measures) -> dict:
    return {"amount": str(m.value("amount")), "quantity": m.quantity, "margin": str(m.margin),
            "transactions": m.transactions, "atv": _str(m.atv), "member_share": _str(m.member_share)}


def _row(r) -> dict:
    return {"level": r.level, "code": r.code, "name": r.name, "measures": measures_out(r.m),
            "last_year_amount": str(r.last_year.value("amount")), "yoy": _str(growth(r.m.amount, r.last_year.amount))}


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    end = end or local_date()
    return start or end.replace(day=1), end


@router.get("/analytics/sales", response={200: SalesOut, **ERRORS}, by_alias=True,
            summary="Sales of one node of the drill-down, with its children and last year's same period")
def analytics_sales(request: HttpRequest, q: Query[SalesQuery]):
    start, end = _period(q.from_, q.to)
    rep = sales_report(scope=user_scope(request.user), level=q.level, code=q.code, start=start, end=end,
                       store=q.store)
    return {"level": rep.level, "code": rep.code, "name": rep.name, "from": rep.start, "to": rep.end,
            "total": _row(rep.total), "items": [_row(r) for r in rep.children], "count": len(rep.children)}


@router.get("/analytics/pivot", response={200: PivotOut, **ERRORS},
            summary="Self-service pivot: measures by one or two dimensions")
def analytics_pivot(request: HttpRequest, q: Query[PivotQuery]):
    start, end = _period(q.from_, q.to)
    p = pivot_report(scope=user_scope(request.user), rows=q.rows, cols=q.cols, start=start, end=end, store=q.store)
    rl = dimension_labels(q.rows, p.rows)
    cl = dimension_labels(q.cols, p.cols) if q.cols else {}
    items = [{"row": rl.get(r, _str(r)), "col": cl.get(c, _str(c)) if q.cols else None,
              "measures": measures_out(p.cells[(r, c)])}
             for r in p.rows for c in p.cols if (r, c) in p.cells]
    return {"rows": [rl.get(r, _str(r)) for r in p.rows], "cols": [cl.get(c, _str(c)) for c in p.cols] if q.cols else [],
            "items": items, "count": len(items), "total": measures_out(p.total)}
