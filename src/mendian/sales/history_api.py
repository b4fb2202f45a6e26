"""POST /api/v1/sales-history/import — upload a sales-history CSV (HQ only).

Send the file as multipart form data (field ``file``), or the CSV text itself as the body with
``Content-Type: text/csv`` (or a form field ``csv``). The answer counts the rows imported (new),
updated (replaced) and rejected, with the first rejected rows by line number; the import runs as a
Job whose progress others can watch. Larger files than the request limit go through
``mendian import-sales-history FILE``.
"""

from __future__ import annotations

import datetime as dt
import json

from django.http import HttpRequest
from ninja import Router, Schema

from mendian.core.errors import InvalidInput, PermissionDenied
from mendian.org.scope import user_scope
from mendian.platform.schemas import ErrorOut

from .history import COLUMNS, sales_history_import_job

router = Router(tags=["sales history"])


class RowErrorOut(Schema):
    line: int
    message: str


class HistoryImportOut(Schema):
    job: int
    rows: int
    imported: int
    updated: int
    rejected: int
    errors: list[RowErrorOut]
    first_day: dt.date | None
    last_day: dt.date | None
    seconds: float


_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary", "description": "CSV: " + ",".join(COLUMNS)}}}},
        "text/csv": {"schema": {"type": "string", "example": ",".join(COLUMNS) + "\n2026-03-01,KM001,GR00001,3,50.70\n"}},
    },
}


def _csv_source(request: HttpRequest) -> tuple[object, dict]:
    content_type = (request.content_type or "").lower()
    if content_type == "multipart/form-data" or content_type == "application/x-www-form-urlencoded":
        upload = request.FILES.get("file")
        if upload is not None:
            return upload.file, {"filename": upload.name, "bytes": upload.size}
        text = request.POST.get("csv")
        if text:
            return text, {"bytes": len(text.encode())}
        raise InvalidInput("send the CSV as the form field 'file' (or its text as 'csv')", code="no_file",
                           details={"field": "file"})
    if content_type in ("text/csv", "text/plain", "application/csv", "application/octet-stream"):
        return bytes(request.body), {"bytes": len(request.body)}
    if content_type == "application/json":
        try:
            text = json.loads(request.body or b"{}").get("csv")
        except (ValueError, AttributeError):
            text = None
        if isinstance(text, str) and text:
            return text, {"bytes": len(text.encode())}
        raise InvalidInput("send {\"csv\": \"…\"}, a text/csv body or a multipart file", code="no_file",
                           details={"field": "csv"})
    raise InvalidInput("send the CSV as a multipart file (field 'file') or as a text/csv body", code="no_file",
                       details={"content_type": content_type})


@router.post("/sales-history/import", response={200: HistoryImportOut, 400: ErrorOut, 403: ErrorOut, 413: ErrorOut,
                                                 422: ErrorOut},
             openapi_extra={"requestBody": _BODY}, summary="Import daily sales history (CSV)")
def sales_history_import_endpoint(request: HttpRequest):
    """Columns ``date,location,sku,quantity,amount``: ISO date, location code, SKU code, quantity in
    base units net of returns (grams for goods by weight), tax-inclusive amount. Rows with an unknown
    code, a bad date, a non-integer quantity or a bad amount are rejected (and listed by line number);
    the others are upserted by (location, SKU, date). HQ only."""
    if not user_scope(request.user).is_hq:
        raise PermissionDenied("only HQ imports sales history")
    source, params = _csv_source(request)
    job_id, result = sales_history_import_job(source=source, actor=request.user, params=params)
    return {"job": job_id, **result.as_dict()}
