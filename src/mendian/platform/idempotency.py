"""Idempotent document creation: a retry with the same Idempotency-Key returns the first result.

The record is inserted at the start of the same transaction that creates the document, with
``INSERT … ON CONFLICT DO NOTHING``. On PostgreSQL a concurrent request with the same key blocks on
the unique index until the first commits (then it replays the stored response) or rolls back (then
it proceeds). On SQLite, writers are serialised by IMMEDIATE transactions. So there is never a
second document, and the happy path costs two statements (insert, then store the response).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from mendian.core.errors import Conflict, InvalidInput, MendianError

from .models import IdempotencyRecord

MAX_KEY_LENGTH = 200


class MissingIdempotencyKey(MendianError):
    """The Idempotency-Key header is required for this request."""

    status = 400
    code = "idempotency_key_required"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    replayed: bool


def request_fingerprint(payload: Any) -> str:
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> StoredResponse:
    if record.request_hash != fingerprint:
        raise InvalidInput("this Idempotency-Key was used with a different request body",
                           code="idempotency_key_reused", details={"key": record.key})
    if record.status != IdempotencyRecord.Status.DONE:
        raise Conflict("a request with this Idempotency-Key is still in progress", code="request_in_progress")
    return StoredResponse(status=record.response_status or 200, body=record.response_body, replayed=True)


def _claim(user_id: int, scope: str, key: str, fingerprint: str) -> bool:
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (user_id, scope, key, request_hash, status, created_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, scope, key) DO NOTHING RETURNING id",
            [user_id, scope, key, fingerprint, IdempotencyRecord.Status.IN_PROGRESS, timezone.now()],
        )
        row = cur.fetchone()
    return row is not None


def _store(user_id: int, scope: str, key: str, status: int, body: Any) -> None:
    IdempotencyRecord.objects.filter(user_id=user_id, scope=scope, key=key).update(
        status=IdempotencyRecord.Status.DONE, response_status=status,
        response_body=json.loads(json.dumps(body, cls=DjangoJSONEncoder)),
    )


def idempotent_create(*, user_id: int, scope: str, key: str | None, payload: Any,
                      create: Callable[[], tuple[int, Any]], required: bool = True) -> StoredResponse:
    """Run ``create`` (returning status and JSON body) at most once per (user, scope, key)."""
    if not key:
        if required:
            raise MissingIdempotencyKey()
        with transaction.atomic():
            status, body = create()
        return StoredResponse(status=status, body=body, replayed=False)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key longer than {MAX_KEY_LENGTH} characters", code="invalid_idempotency_key")
    fingerprint = request_fingerprint(payload)
    with transaction.atomic():
        claimed = _claim(user_id, scope, key, fingerprint)
        if claimed:
            status, body = create()
            _store(user_id, scope, key, status, body)
            return StoredResponse(status=status, body=body, replayed=False)
    record = IdempotencyRecord.objects.get(user_id=user_id, scope=scope, key=key)
    return _replay(record, fingerprint)
