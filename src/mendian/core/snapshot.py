"""Plain-JSON pictures of model rows for audit entries (before/after)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The concrete field values of ``obj`` (foreign keys as ``<name>_id``), JSON-ready via the audit encoder."""
    wanted = set(fields) if fields is not None else None
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.primary_key:
            continue
        if wanted is not None and f.name not in wanted and f.attname not in wanted:
            continue
        out[f.attname] = f.value_from_object(obj)
    return out


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
