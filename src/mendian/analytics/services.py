"""Writes of the dashboards' inputs: store targets per month, staff hours and foot traffic, one at a
time from the console or many from a CSV file. Every write is audited; a file is all or nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from mendian.core.errors import InvalidInput, NotFound
from mendian.org.models import Location
from mendian.org.scope import Scope
from mendian.platform.audit import audit_record
from mendian.platform.batch import write_batch

from .models import FootTraffic, SalesTarget, StaffHours

MAX_IMPORT_ROWS = 200_000


def _location(code: str, scope: Scope) -> Location:
    loc = Location.objects.filter(code=code).first()
    if loc is None or not scope.sees(loc.pk):
        raise NotFound(f"no such location: {code!r}", details={"field": "location", "value": code})
    return loc


def _month(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value.replace(day=1)
    try:
        return dt.date.fromisoformat(value[:7] + "-01")
    except (TypeError, ValueError):
        raise InvalidInput(f"month must be YYYY-MM: {value!r}", details={"field": "month"}) from None


def _decimal(value: Any, field: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{field} must be a number: {value!r}", details={"field": field}) from None
    if not d.is_finite() or d < 0:
        raise InvalidInput(f"{field} must be zero or more: {value!r}", details={"field": field})
    return d


def sales_target_set(*, location_code: str, month: str | dt.date, amount: Any, actor: Any, scope: Scope) -> SalesTarget:
    """Set (or change) a store's sales target for a month."""
    loc = _location(location_code, scope)
    m = _month(month)
    value = _decimal(amount, "amount").quantize(Decimal("0.01"))
    with transaction.atomic():
        before = SalesTarget.objects.filter(location=loc, month=m).values_list("amount", flat=True).first()
        target, _ = SalesTarget.objects.update_or_create(location=loc, month=m, defaults={"amount": value})
        audit_record(actor=actor, action="target.set", object_type="sales_target",
                     object_ref=f"{loc.code}:{m:%Y-%m}",
                     before={"amount": str(before)} if before is not None else None, after={"amount": str(value)})
    return target


@dataclass(frozen=True)
class ImportResult:
    kind: str
    rows: int
    created: int
    updated: int


@dataclass(frozen=True)
class _Kind:
    model: type
    columns: tuple[str, str, str]  # location, period, value
    period: Callable[[str], dt.date]
    value: Callable[[str], Any]
    key: str
    field: str


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise InvalidInput(f"day must be YYYY-MM-DD: {value!r}", details={"field": "day"}) from None


def _visitors(value: str) -> int:
    d = _decimal(value, "visitors")
    if d != d.to_integral_value():
        raise InvalidInput(f"visitors must be a whole number: {value!r}", details={"field": "visitors"})
    return int(d)


IMPORT_KINDS: dict[str, _Kind] = {
    "targets": _Kind(SalesTarget, ("location", "month", "amount"), _month,
                     lambda v: _decimal(v, "amount").quantize(Decimal("0.01")), "month", "amount"),
    "staff_hours": _Kind(StaffHours, ("location", "day", "hours"), _day,
                         lambda v: _decimal(v, "hours").quantize(Decimal("0.01")), "day", "hours"),
    "foot_traffic": _Kind(FootTraffic, ("location", "day", "visitors"), _day, _visitors, "day", "visitors"),
}


def inputs_import_csv(*, kind: str, data: bytes | str, actor: Any, scope: Scope) -> ImportResult:
    """Import a CSV with a header ``location,month,amount`` (targets), ``location,day,hours`` (staff
    hours) or ``location,day,visitors`` (foot traffic). Rows replace what is there for their key.
    Any bad row refuses the whole file (422 naming the line) and writes nothing."""
    spec = IMPORT_KINDS.get(kind)
    if spec is None:
        raise InvalidInput(f"unknown import kind {kind!r}", details={"field": "kind", "choices": sorted(IMPORT_KINDS)})
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames][:3] != list(spec.columns):
        raise InvalidInput(f"the header must be: {','.join(spec.columns)}", details={"expected": list(spec.columns)})
    codes = dict(Location.objects.values_list("code", "pk"))
    parsed: dict[tuple[int, dt.date], Any] = {}
    for n, row in enumerate(reader, start=2):
        if n - 1 > MAX_IMPORT_ROWS:
            raise InvalidInput(f"too many rows (at most {MAX_IMPORT_ROWS})")
        try:
            code = (row.get(spec.columns[0]) or "").strip()
            loc_id = codes.get(code)
            if loc_id is None or not scope.sees(loc_id):
                raise InvalidInput(f"unknown location {code!r}", details={"field": "location"})
            parsed[(loc_id, spec.period(row.get(spec.columns[1]) or ""))] = spec.value(row.get(spec.columns[2]) or "")
        except InvalidInput as exc:
            raise InvalidInput(f"line {n}: {exc.message}", details={"line": n, **exc.details}) from None
    created = updated = 0
    with transaction.atomic(), write_batch():
        existing = {(o.location_id, getattr(o, spec.key)): o
                    for o in spec.model.objects.filter(location_id__in={k[0] for k in parsed})
                    .filter(**{f"{spec.key}__in": {k[1] for k in parsed}})}
        new, changed = [], []
        for (loc_id, period), value in parsed.items():
            obj = existing.get((loc_id, period))
            if obj is None:
                new.append(spec.model(location_id=loc_id, **{spec.key: period, spec.field: value}))
            elif getattr(obj, spec.field) != value:
                setattr(obj, spec.field, value)
                changed.append(obj)
        spec.model.objects.bulk_create(new, batch_size=2000)
        spec.model.objects.bulk_update(changed, [spec.field], batch_size=2000)
        created, updated = len(new), len(changed)
        audit_record(actor=actor, action=f"{kind}.import", object_type=kind, object_ref=f"{len(parsed)} rows",
                     after={"created": created, "updated": updated})
    return ImportResult(kind=kind, rows=len(parsed), created=created, updated=updated)
