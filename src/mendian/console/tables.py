"""Tables shown in the console, and their export to Excel (openpyxl) and CSV.

Every table on a page has a name; ``?export=xlsx&table=<name>`` (or ``csv``) on the page's own URL
downloads exactly the figures shown, so an export link is as shareable as the page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.text import slugify

PERCENT_KINDS = {"pct"}


@dataclass(frozen=True)
class Column:
    key: str
    label: object
    kind: str = "text"  # text | int | money | pct | num

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


@dataclass
class Table:
    name: str
    title: object
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # per row: where the first cell drills to
    footer: dict[str, Any] | None = None

    def add(self, row: dict[str, Any], link: str = "") -> None:
        self.rows.append(row)
        self.links.append(link)

    def cells(self) -> list[tuple[list[tuple[Column, str]], str]]:
        return [([(c, fmt(r.get(c.key), c.kind)) for c in self.columns], link)
                for r, link in zip(self.rows, self.links, strict=True)]

    def footer_cells(self) -> list[tuple[Column, str]] | None:
        if not self.footer:
            return None
        return [(c, fmt(self.footer.get(c.key), c.kind)) for c in self.columns]


def fmt(value: Any, kind: str) -> str:
    if value is None or value == "":
        return "—" if kind != "text" else ""
    if kind == "pct":
        return f"{Decimal(value) * 100:.1f}%"
    if kind == "money":
        return f"{Decimal(value):,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "num":
        return f"{Decimal(value):,.2f}"
    return str(value)


def _export_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "pct":
        return float(Decimal(value))  # Excel shows it with a percent format
    if kind in {"money", "num"}:
        return Decimal(value)
    if kind == "int":
        return int(value)
    if isinstance(value, dt.date | dt.datetime):
        return value
    return str(value)


def export_table(table: Table, fmt_name: str) -> HttpResponse:
    filename = slugify(f"mendian-{table.name}") or "mendian-table"
    headers = [str(c.label) for c in table.columns]
    rows = list(table.rows) + ([table.footer] if table.footer else [])
    if fmt_name == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese correctly only with a BOM
        w = csv.writer(buf)
        w.writerow(headers)
        for r in rows:
            w.writerow(["" if r.get(c.key) is None else r.get(c.key) for c in table.columns])
        resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return resp
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = str(table.name)[:31]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([_export_value(r.get(c.key), c.kind) for c in table.columns])
    for idx, c in enumerate(table.columns, start=1):
        number_format = {"pct": "0.0%", "money": "#,##0.00", "int": "#,##0", "num": "#,##0.00"}.get(c.kind)
        if number_format:
            for row in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                row[0].number_format = number_format
        ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width = max(10, len(headers[idx - 1]) + 4)
    out = io.BytesIO()
    wb.save(out)
    resp = HttpResponse(out.getvalue(),
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return resp


def maybe_export(request: HttpRequest, tables: list[Table]) -> HttpResponse | None:
    """The export of the table named in ``?table=`` when ``?export=xlsx|csv`` is asked for."""
    fmt_name = request.GET.get("export")
    if fmt_name not in {"xlsx", "csv"}:
        return None
    name = request.GET.get("table") or (tables[0].name if tables else "")
    for t in tables:
        if t.name == name:
            return export_table(t, fmt_name)
    return None


def chart_spec(labels: list[str], series: list[tuple[str, list[Any]]], *, kind: str = "bar",
               links: list[str] | None = None) -> dict[str, Any]:
    """A small JSON description console.js turns into an ECharts option."""
    return {"type": kind, "labels": [str(x) for x in labels],
            "series": [{"name": str(n), "data": [float(v) if isinstance(v, Decimal) else v for v in d]}
                       for n, d in series],
            "links": links or None}
