"""The sales-history CSV import: validation by line, upsert, duplicates, the Job, the API by role."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from mendian.catalog.tests.factories import SkuFactory
from mendian.core.errors import InvalidInput
from mendian.org.tests.factories import LocationFactory, RegionFactory, user_with_role
from mendian.platform.models import AuditEntry, Job, OutboxEvent
from mendian.sales.history import sales_history_import
from mendian.sales.models import SalesHistoryDay

PATH = "/api/v1/sales-history/import"
HEADER = "date,location,sku,quantity,amount\n"


@pytest.fixture
def small(db):
    km = RegionFactory(code="KM")
    dl = RegionFactory(code="DL")
    km1 = LocationFactory(code="KM001", region=km)
    dl1 = LocationFactory(code="DL001", region=dl)
    a = SkuFactory(code="A1")
    b = SkuFactory(code="B2")
    return {"km": km, "km1": km1, "dl1": dl1, "a": a, "b": b}


def _day(back: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=back)).isoformat()


def _rows() -> list[tuple]:
    return list(SalesHistoryDay.objects.order_by("location__code", "sku__code", "day")
                .values_list("location__code", "sku__code", "day", "quantity", "amount", "source"))


def test_imports_good_rows_and_rejects_bad_ones_by_line(small):
    text = HEADER + "\n".join([
        f"{_day(3)},KM001,A1,5,62.50",          # line 2 ok
        f"{_day(3)},KM001,B2,-1,-3.00",         # line 3 ok: a net return
        f"{_day(3)},XX999,A1,1,1.00",           # line 4 unknown location
        f"{_day(3)},KM001,NOPE,1,1.00",         # line 5 unknown sku
        "2026-02-30,KM001,A1,1,1.00",           # line 6 bad date
        f"{_day(2)},KM001,A1,1.5,1.00",         # line 7 non-integer quantity
        f"{_day(2)},KM001,A1,2,1.005",          # line 8 three decimals
        f"{_day(2)},KM001,A1,2,abc",            # line 9 not a number
        f"{_day(-5)},KM001,A1,2,3.00",          # line 10 in the future
        f"{_day(2)},KM001,A1",                  # line 11 too few fields
        "",                                     # line 12 empty: skipped
        f" {_day(2)} , DL001 , A1 , +7 , 14.5 ",  # line 13 ok (spaces, sign, one decimal)
    ]) + "\n"
    result = sales_history_import(source=text)
    assert (result.rows, result.imported, result.updated, result.rejected) == (11, 3, 0, 8)
    assert [(e.line, e.message) for e in result.errors] == [
        (4, "unknown location 'XX999'"),
        (5, "unknown sku 'NOPE'"),
        (6, "bad date '2026-02-30' (want YYYY-MM-DD)"),
        (7, "quantity '1.5' is not a whole number of base units"),
        (8, "amount '1.005' is not a decimal with at most 2 places"),
        (9, "amount 'abc' is not a decimal with at most 2 places"),
        (10, f"date {_day(-5)} is in the future"),
        (11, "expected 5 fields, found 3"),
    ]
    d3 = dt.date.fromisoformat(_day(3))
    d2 = dt.date.fromisoformat(_day(2))
    assert _rows() == [
        ("DL001", "A1", d2, 7, Decimal("14.50"), "import"),
        ("KM001", "A1", d3, 5, Decimal("62.50"), "import"),
        ("KM001", "B2", d3, -1, Decimal("-3.00"), "import"),
    ]
    assert (result.first_day, result.last_day) == (d3, d2)


def test_a_second_import_updates_in_place(small):
    sales_history_import(source=HEADER + f"{_day(1)},KM001,A1,5,62.50\n{_day(2)},KM001,A1,1,12.50\n")
    result = sales_history_import(source=HEADER + f"{_day(1)},KM001,A1,6,75.00\n{_day(3)},KM001,A1,2,25.00\n")
    assert (result.imported, result.updated, result.rejected) == (1, 1, 0)
    assert [(r[2].isoformat(), r[3], r[4]) for r in _rows()] == [
        (_day(3), 2, Decimal("25.00")), (_day(2), 1, Decimal("12.50")), (_day(1), 6, Decimal("75.00"))]
    assert SalesHistoryDay.objects.count() == 3


def test_duplicate_keys_keep_the_first_line_and_reject_the_later(small):
    text = HEADER + f"{_day(1)},KM001,A1,5,62.50\n{_day(1)},KM001,B2,1,1.00\n{_day(1)},KM001,A1,9,99.00\n"
    result = sales_history_import(source=text)
    assert (result.imported, result.rejected) == (2, 1)
    assert [(e.line, e.message) for e in result.errors] == [
        (4, "duplicate of line 2 (same date, location and sku)")]
    assert SalesHistoryDay.objects.get(sku__code="A1").quantity == 5


def test_a_file_without_the_columns_imports_nothing(small):
    with pytest.raises(InvalidInput) as exc:
        sales_history_import(source="day,store,sku,qty,amount\n" + f"{_day(1)},KM001,A1,5,62.50\n")
    assert exc.value.code == "bad_header"
    assert SalesHistoryDay.objects.count() == 0
    with pytest.raises(InvalidInput):
        sales_history_import(source="")
    assert SalesHistoryDay.objects.count() == 0


def test_columns_in_any_order_with_a_bom_and_many_chunks(small):
    lines = [f"{_day(i)},{'KM001' if i % 2 else 'DL001'},{'A1' if i % 3 else 'B2'},{i},{i}.{i % 100:02d}"
             for i in range(1, 301)]
    text = "\ufeffsku,amount,quantity,location,date,extra\n" + "".join(
        f"{s},{a},{q},{loc},{d},x\n" for d, loc, s, q, a in (ln.split(",") for ln in lines))
    seen = []
    result = sales_history_import(source=text.encode(), chunk_size=64, progress=lambda p, d, t: seen.append((p, d, t)))
    assert (result.rows, result.imported, result.rejected) == (300, 300, 0)
    assert SalesHistoryDay.objects.count() == 300
    assert [s for s in seen if s[0] == "write"] == [("write", n, 300) for n in (64, 128, 192, 256, 300)]
    row = SalesHistoryDay.objects.get(day=_day(7))
    assert (row.location.code, row.sku.code, row.quantity, row.amount) == ("KM001", "A1", 7, Decimal("7.07"))


def test_the_import_is_audited_once_and_announced(small):
    sales_history_import(source=HEADER + f"{_day(1)},KM001,A1,5,62.50\n", actor="tester")
    entry = AuditEntry.objects.get(action="sales_history.import")
    assert entry.actor == "tester" and entry.after["imported"] == 1
    assert OutboxEvent.objects.filter(topic="sales_history.imported").count() == 1


def test_command_imports_a_file_and_fails_on_rejected_rows(small, tmp_path: Path, capsys):
    path = tmp_path / "h.csv"
    path.write_text(HEADER + f"{_day(1)},KM001,A1,5,62.50\n{_day(1)},KM001,ZZ,5,62.50\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_sales_history", str(path), "--no-progress")
    out = capsys.readouterr().out
    assert "2 rows read: 1 imported, 0 updated, 1 rejected" in out
    assert "line 3: unknown sku 'ZZ'" in out
    assert SalesHistoryDay.objects.count() == 1


# --- the API -------------------------------------------------------------------------------------


pytestmark_urls = pytest.mark.urls("mendian.demo.tests.urls_history")


def _upload(client, text: str):
    f = SimpleUploadedFile("history.csv", text.encode(), content_type="text/csv")
    return client.client.post(PATH, {"file": f}, **client._headers(None))


@pytestmark_urls
def test_hq_uploads_a_file_and_gets_counts_and_a_job(small, api_client):
    hq = user_with_role("hq", username="hq1")
    text = HEADER + f"{_day(1)},KM001,A1,5,62.50\n{_day(1)},KM001,B2,x,1.00\n"
    resp = _upload(api_client(hq), text)
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert {k: body[k] for k in ("rows", "imported", "updated", "rejected")} == \
        {"rows": 2, "imported": 1, "updated": 0, "rejected": 1}
    assert body["errors"] == [{"line": 3, "message": "quantity 'x' is not a whole number of base units"}]
    job = Job.objects.get(pk=body["job"])
    assert (job.kind, job.status, job.progress_done, job.progress_total) == ("sales_history.import", "done", 1, 1)
    assert job.created_by == hq and job.result["imported"] == 1 and job.params["filename"] == "history.csv"


@pytestmark_urls
def test_csv_text_body_is_accepted(small, api_client):
    c = api_client(user_with_role("hq", username="hq2"))
    resp = c.client.post(PATH, HEADER + f"{_day(1)},DL001,B2,3,9.00\n", content_type="text/csv", **c._headers(None))
    assert resp.status_code == 200, resp.content
    assert resp.json()["imported"] == 1
    assert SalesHistoryDay.objects.get().location.code == "DL001"


@pytestmark_urls
@pytest.mark.parametrize("role", ["buyer", "region", "store_manager", "cashier"])
def test_only_hq_may_import(small, api_client, role):
    scope = {"region": small["km"]} if role == "region" else (
        {"location": small["km1"]} if role in ("store_manager", "cashier") else {})
    user = user_with_role(role, username=f"u_{role}", **scope)
    resp = _upload(api_client(user), HEADER + f"{_day(1)},KM001,A1,5,62.50\n")
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    assert SalesHistoryDay.objects.count() == 0 and Job.objects.count() == 0


@pytestmark_urls
def test_anonymous_gets_401_and_a_bad_file_422(small, api_client):
    resp = api_client().client.post(PATH, HEADER, content_type="text/csv")
    assert resp.status_code == 401
    c = api_client(user_with_role("hq", username="hq3"))
    resp = _upload(c, "a,b\n1,2\n")
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "bad_header"
    resp = c.client.post(PATH, {"other": "x"}, **c._headers(None))
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "no_file"
    assert SalesHistoryDay.objects.count() == 0
    assert list(Job.objects.values_list("status", flat=True)) == ["failed"]
