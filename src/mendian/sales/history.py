"""Sales-history import: daily sales per (location, SKU) from the system a chain moves from.

CSV, UTF-8 (a BOM is fine), header row naming the columns in any order (extra columns are ignored)::

    date,location,sku,quantity,amount
    2026-03-01,KM001,GR00012,14,209.30

``date`` ISO (YYYY-MM-DD, not in the future), ``location`` a location code, ``sku`` a SKU code,
``quantity`` an integer in the SKU's base unit (grams for goods by weight) net of returns, ``amount``
the tax-inclusive takings, a decimal with at most two places (may be negative after returns).

How it runs (the same path for the command, the API and the demo generator):

1. **Validate everything first.** The file is streamed once; every row is checked (field count, date,
   codes, integer quantity, amount) and the good rows are kept in compact typed arrays (about 30 bytes
   a row). Rejected rows are counted and the first ``max_errors`` are reported by line number. A key
   (location, SKU, day) given twice is rejected at its later line ("duplicate of line N"), so the
   result never depends on the order of rows.
2. **Upsert in chunks.** Good rows go into ``SalesHistoryDay`` in chunks of ``chunk_size``, each chunk
   one transaction, with ``INSERT … ON CONFLICT (location, sku, day) DO UPDATE`` — the statement
   Django's ``bulk_create(update_conflicts=True)`` generates, written directly because building a model
   instance per row cost more than the database did (see docs/benchmarks.md). On PostgreSQL the chunk is
   ``COPY``-ed into a temporary table and merged with one ``INSERT … SELECT … ON CONFLICT`` that returns
   which rows were new (``xmax = 0``); on SQLite it is one prepared ``executemany`` and rows with an id
   above the chunk's starting maximum are the new ones (AUTOINCREMENT ids only grow).

Chunked transactions keep memory and lock times bounded and let a Job row show progress; an import
stopped half-way is simply run again (an upsert of the same rows is idempotent).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import operator
import re
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from mendian.catalog.models import Sku
from mendian.core.errors import InvalidInput
from mendian.org.models import Location

from .models import SalesHistoryDay

COLUMNS = ("date", "location", "sku", "quantity", "amount")
DEFAULT_CHUNK = 50_000
MAX_QUANTITY = 2_147_483_647
_AMOUNT_RE = re.compile(r"([+-]?)(\d{1,12})(?:\.(\d{0,2}))?")
_INT_RE = re.compile(r"[+-]?\d{1,10}")

Progress = Callable[[str, int, int], None]  # (phase, done, total); phase "validate" (bytes) or "write" (rows)


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class HistoryImportResult:
    rows: int = 0  # data rows read (empty lines not counted)
    imported: int = 0  # new (location, SKU, day) rows
    updated: int = 0  # existing rows replaced
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first ``max_errors``
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return (self.imported + self.updated) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "imported": self.imported, "updated": self.updated, "rejected": self.rejected,
            "errors": [{"line": e.line, "message": e.message} for e in self.errors],
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Parsed:
    loc: array = field(default_factory=lambda: array("q"))
    sku: array = field(default_factory=lambda: array("q"))
    day: array = field(default_factory=lambda: array("i"))  # date ordinal
    qty: array = field(default_factory=lambda: array("q"))
    fen: array = field(default_factory=lambda: array("q"))  # amount in fen
    line: array = field(default_factory=lambda: array("q"))


def _open_text(source: str | bytes | Path | IO) -> tuple[IO[str], int]:
    """A text stream over ``source`` and its size in bytes (0 when unknown)."""
    if isinstance(source, Path):  # only a Path is a file: a str is always CSV text (it may come from a request)
        path = source
        return open(path, encoding="utf-8-sig", newline=""), path.stat().st_size  # noqa: SIM115
    if isinstance(source, str):
        return io.StringIO(source.lstrip("\ufeff"), newline=""), len(source)
    if isinstance(source, bytes | bytearray):
        return io.TextIOWrapper(io.BytesIO(source), encoding="utf-8-sig", newline=""), len(source)
    # a binary file-like object (an upload)
    size = getattr(source, "size", 0) or 0
    if isinstance(source.read(0), str):
        return source, size  # type: ignore[return-value]
    return io.TextIOWrapper(source, encoding="utf-8-sig", newline=""), size  # type: ignore[arg-type]


def _parse_amount(text: str) -> int | None:
    m = _AMOUNT_RE.fullmatch(text)
    if m is None:
        return None
    frac = (m[3] or "").ljust(2, "0")
    fen = int(m[2]) * 100 + int(frac)
    return -fen if m[1] == "-" else fen


def _position_fn(stream: IO[str]) -> Callable[[], int]:
    """Where the reader is, for a progress bar (a text stream's own tell() is off while iterating)."""
    target = getattr(stream, "buffer", stream)

    def position() -> int:
        try:
            return int(target.tell())
        except (OSError, ValueError):
            return 0

    return position


def _validate(stream: IO[str], *, size: int, today: dt.date, max_errors: int,
              progress: Progress | None, result: HistoryImportResult) -> _Parsed:
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("the file is empty: the first line must name the columns " + ",".join(COLUMNS),
                           code="bad_header", details={"expected": list(COLUMNS)}) from None
    except UnicodeDecodeError:
        raise InvalidInput("the file is not UTF-8 text (save it as CSV UTF-8)", code="bad_encoding") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InvalidInput(f"line 1 must name the columns {','.join(COLUMNS)}; missing: {','.join(missing)}",
                           code="bad_header", details={"expected": list(COLUMNS), "found": header})
    i_date, i_loc, i_sku, i_qty, i_amt = (names.index(c) for c in COLUMNS)
    width = len(names)

    locations = dict(Location.objects.values_list("code", "id"))
    skus = dict(Sku.objects.values_list("code", "id"))
    day_cache: dict[str, int | str] = {}
    out = _Parsed()
    loc_a, sku_a, day_a, qty_a, fen_a, line_a = out.loc.append, out.sku.append, out.day.append, out.qty.append, \
        out.fen.append, out.line.append
    errors = result.errors
    rows = rejected = 0
    today_ord = today.toordinal()
    report_every = 20_000
    position = _position_fn(stream)
    pick = operator.itemgetter(i_date, i_loc, i_sku, i_qty, i_amt)
    try:
        for row in reader:
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # an empty line
                rows += 1
                rejected += 1
                if len(errors) < max_errors:
                    errors.append(RowError(reader.line_num, f"expected {width} fields, found {len(row)}"))
                continue
            rows += 1
            d_text, loc_code, sku_code, q_text, a_text = pick(row)
            # fast path: a clean row (plain digits, amount with 0 or 2 decimals, known codes)
            d = day_cache.get(d_text)
            loc_id = locations.get(loc_code)
            sku_id = skus.get(sku_code)
            if (d.__class__ is int and loc_id is not None and sku_id is not None and len(q_text) < 10
                    and q_text.isdigit() and q_text.isascii()):
                whole, dot, frac = a_text.partition(".")
                if len(whole) <= 12 and whole.isdigit() and whole.isascii():
                    if len(frac) == 2 and frac.isdigit() and frac.isascii():
                        fen = int(whole + frac)
                    elif not dot:
                        fen = int(whole) * 100
                    else:
                        fen = None
                    if fen is not None:
                        loc_a(loc_id)
                        sku_a(sku_id)
                        day_a(d)
                        qty_a(int(q_text))
                        fen_a(fen)
                        line_a(reader.line_num)
                        if progress is not None and rows % report_every == 0:
                            progress("validate", position() if size else rows, size or rows)
                        continue
            # slow path: spaces, signs, odd decimals, or a bad row to explain
            problems: list[str] = []
            d_text = d_text.strip()
            d = day_cache.get(d_text)
            if d is None:
                try:
                    if len(d_text) != 10 or d_text[4] != "-" or d_text[7] != "-":
                        raise ValueError
                    o = dt.date.fromisoformat(d_text).toordinal()
                    d = o if o <= today_ord else f"date {d_text} is in the future"
                except ValueError:
                    d = f"bad date {d_text!r} (want YYYY-MM-DD)"
                day_cache[d_text] = d
            if isinstance(d, str):
                problems.append(d)
            loc_code = loc_code.strip()
            loc_id = locations.get(loc_code)
            if loc_id is None:
                problems.append(f"unknown location {loc_code!r}")
            sku_code = sku_code.strip()
            sku_id = skus.get(sku_code)
            if sku_id is None:
                problems.append(f"unknown sku {sku_code!r}")
            q_text = q_text.strip()
            q = int(q_text) if _INT_RE.fullmatch(q_text) else None
            if q is None or abs(q) > MAX_QUANTITY:
                problems.append(f"quantity {q_text!r} is not a whole number of base units")
            a_text = a_text.strip()
            fen = _parse_amount(a_text)
            if fen is None:
                problems.append(f"amount {a_text!r} is not a decimal with at most 2 places")
            if problems:
                rejected += 1
                if len(errors) < max_errors:
                    errors.append(RowError(reader.line_num, "; ".join(problems)))
                continue
            loc_a(loc_id)
            sku_a(sku_id)
            day_a(d)
            qty_a(q)
            fen_a(fen)
            line_a(reader.line_num)
    except UnicodeDecodeError:
        raise InvalidInput(f"the file is not UTF-8 text near line {reader.line_num + 1} (save it as CSV UTF-8)",
                           code="bad_encoding") from None
    except csv.Error as exc:
        raise InvalidInput(f"the file is not valid CSV near line {reader.line_num}: {exc}", code="bad_csv") from None
    if progress is not None:
        progress("validate", size or rows, size or rows)
    result.rows = rows
    result.rejected = rejected
    return out


def _drop_duplicates(p: _Parsed, *, max_errors: int, result: HistoryImportResult) -> np.ndarray:
    """Indices of the rows to write: every (location, SKU, day) once, at its first line."""
    n = len(p.day)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    loc = np.frombuffer(p.loc, dtype=np.int64)
    sku = np.frombuffer(p.sku, dtype=np.int64)
    day = np.frombuffer(p.day, dtype=np.int32)
    order = np.lexsort((np.arange(n), day, sku, loc))  # by key, then by line
    sl, ss, sd = loc[order], sku[order], day[order]
    dup = np.zeros(n, dtype=bool)
    dup[1:] = (sl[1:] == sl[:-1]) & (ss[1:] == ss[:-1]) & (sd[1:] == sd[:-1])
    if not dup.any():
        return order  # key order: index-friendly inserts
    lines = np.frombuffer(p.line, dtype=np.int64)
    # the first line of each run of equal keys
    run_start = np.maximum.accumulate(np.where(~dup, np.arange(n), 0))
    dup_idx = np.flatnonzero(dup)
    result.rejected += len(dup_idx)
    dup_lines = lines[order[dup_idx]]
    first_lines = lines[order[run_start[dup_idx]]]
    by_line = np.argsort(dup_lines, kind="stable")[:max_errors]
    extra = [RowError(int(dup_lines[i]), f"duplicate of line {int(first_lines[i])} (same date, location and sku)")
             for i in by_line]
    result.errors = sorted(result.errors + extra, key=lambda e: e.line)[:max_errors]
    return order[~dup]


def _write_sqlite(rows: list[tuple], table: str) -> int:
    """Upsert one chunk of (location_id, sku_id, day, quantity, amount_fen); returns how many were new.

    SQLite keeps decimals as REAL: fen / 100.0 is the same double that Django's "12.30" becomes."""
    with connection.cursor() as cur:
        cur.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        before = cur.fetchone()[0]
        cur.executemany(
            f'INSERT INTO "{table}" (location_id, sku_id, day, quantity, amount, source) '
            "VALUES (%s, %s, %s, %s, %s / 100.0, 'import') "
            "ON CONFLICT (location_id, sku_id, day) DO UPDATE SET quantity = excluded.quantity, "
            "amount = excluded.amount, source = excluded.source",
            rows,
        )
        cur.execute(f'SELECT COUNT(*) FROM "{table}" WHERE id > %s', [before])
        return cur.fetchone()[0]


def _write_postgres(rows: list[tuple], table: str) -> int:
    """COPY the chunk into a temporary table, then one INSERT … SELECT … ON CONFLICT (exact numeric)."""
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS mendian_history_in (location_id bigint, sku_id bigint, day date, "
            "quantity integer, amount_fen bigint)"
        )
        cur.execute("TRUNCATE mendian_history_in")
        raw = cur.cursor  # the psycopg cursor, for COPY
        with raw.copy("COPY mendian_history_in (location_id, sku_id, day, quantity, amount_fen) FROM STDIN") as cp:
            cp.write("".join([f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\n" for r in rows]))
        cur.execute(
            f'WITH up AS (INSERT INTO "{table}" (location_id, sku_id, day, quantity, amount, source) '
            "SELECT location_id, sku_id, day, quantity, amount_fen::numeric / 100, 'import' FROM mendian_history_in "
            "ON CONFLICT (location_id, sku_id, day) DO UPDATE SET quantity = EXCLUDED.quantity, "
            "amount = EXCLUDED.amount, source = EXCLUDED.source RETURNING (xmax = 0) AS inserted) "
            "SELECT COUNT(*) FILTER (WHERE inserted) FROM up"
        )
        return cur.fetchone()[0]


def sales_history_import(*, source: str | bytes | Path | IO, actor: Any = None, chunk_size: int = DEFAULT_CHUNK,
                         max_errors: int = 50, progress: Progress | None = None,
                         today: dt.date | None = None) -> HistoryImportResult:
    """Validate a sales-history CSV and upsert its good rows into ``SalesHistoryDay``.

    ``source`` is a ``Path``, the CSV text (``str``), its bytes, or a binary file object. Rows that fail validation are
    not imported; the first ``max_errors`` of them are in ``result.errors`` by line number. A file
    whose header lacks a column raises ``InvalidInput`` (code ``bad_header``) and imports nothing.
    """
    started = time.perf_counter()
    today = today or timezone.localdate()
    result = HistoryImportResult()
    stream, size = _open_text(source)
    try:
        parsed = _validate(stream, size=size, today=today, max_errors=max_errors, progress=progress, result=result)
    finally:
        if isinstance(source, Path):
            stream.close()
    keep = _drop_duplicates(parsed, max_errors=max_errors, result=result)
    total = len(keep)
    if total:
        loc = np.frombuffer(parsed.loc, dtype=np.int64)[keep].tolist()
        sku = np.frombuffer(parsed.sku, dtype=np.int64)[keep].tolist()
        day_ord = np.frombuffer(parsed.day, dtype=np.int32)[keep]
        result.first_day = dt.date.fromordinal(int(day_ord.min()))
        result.last_day = dt.date.fromordinal(int(day_ord.max()))
        day_str = {o: dt.date.fromordinal(o).isoformat() for o in np.unique(day_ord).tolist()}
        days = [day_str[o] for o in day_ord.tolist()]
        qty = np.frombuffer(parsed.qty, dtype=np.int64)[keep].tolist()
        fen = np.frombuffer(parsed.fen, dtype=np.int64)[keep].tolist()
        del parsed
        table = SalesHistoryDay._meta.db_table
        write = _write_postgres if connection.vendor == "postgresql" else _write_sqlite
        _sqlite_cache(True)
        try:
            done = 0
            for start in range(0, total, chunk_size):
                end = min(start + chunk_size, total)
                rows = list(zip(loc[start:end], sku[start:end], days[start:end], qty[start:end], fen[start:end],
                                strict=True))
                with transaction.atomic():
                    new = write(rows, table)
                result.imported += new
                result.updated += len(rows) - new
                done = end
                if progress is not None:
                    progress("write", done, total)
        finally:
            _sqlite_cache(False)
    result.seconds = time.perf_counter() - started
    _record(result, actor=actor)
    return result


_saved_cache: list[int] = []


def _sqlite_cache(on: bool) -> None:
    """A bigger page cache while writing on SQLite: three indexes take random inserts."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cur:
        if on:
            cur.execute("PRAGMA cache_size")
            _saved_cache.append(cur.fetchone()[0])
            cur.execute("PRAGMA cache_size = -262144")  # 256 MiB
        elif _saved_cache:
            cur.execute(f"PRAGMA cache_size = {int(_saved_cache.pop())}")


def _record(result: HistoryImportResult, *, actor: Any) -> None:
    """One audit entry and one event per import (not per row)."""
    from mendian.platform.audit import audit_record
    from mendian.platform.outbox import outbox_publish

    summary = {k: v for k, v in result.as_dict().items() if k != "errors"}
    with transaction.atomic():
        audit_record(actor=actor, action="sales_history.import", object_type="sales_history",
                     object_ref=f"{summary['first_day']}..{summary['last_day']}", after=summary)
        if result.imported or result.updated:
            outbox_publish(topic="sales_history.imported", payload=summary)


def history_csv_write(rows: Iterable[tuple[str, str, str, int, str]], path: Path) -> int:
    """Write ``(date, location, sku, quantity, amount)`` rows as an import file; returns the row count."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(COLUMNS) + "\n")
        for r in rows:
            f.write(f"{r[0]},{r[1]},{r[2]},{r[3]},{r[4]}\n")
            n += 1
    return n


def sales_history_import_job(*, source: str | bytes | Path | IO, actor: Any, params: dict[str, Any] | None = None,
                             max_errors: int = 50) -> tuple[int, HistoryImportResult]:
    """The import run as a ``platform.models.Job`` (kind ``sales_history.import``) whose
    ``progress_done``/``progress_total`` follow the rows written, so that a console or a second
    client can watch it. Returns (job id, result); a refused file marks the job failed and re-raises."""
    from mendian.platform.models import Job

    job = Job.objects.create(kind="sales_history.import", status=Job.Status.RUNNING, params=params or {},
                             created_by=actor if getattr(actor, "pk", None) else None, started_at=timezone.now())
    last = [0.0]

    def progress(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == "write" and (done == total or now - last[0] > 0.5):
            last[0] = now
            Job.objects.filter(pk=job.pk).update(progress_done=done, progress_total=total)

    try:
        result = sales_history_import(source=source, actor=actor, progress=progress, max_errors=max_errors)
    except Exception as exc:
        message = getattr(exc, "message", None) or str(exc)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=message[:2000], finished_at=timezone.now())
        raise
    written = result.imported + result.updated
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, result=result.as_dict(), progress_done=written,
                                         progress_total=written, finished_at=timezone.now())
    return job.pk, result
