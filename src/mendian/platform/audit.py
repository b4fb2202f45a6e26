"""Tamper-evident audit log.

Writers append ``AuditEntry`` rows and never wait on each other: no hash is computed at write time.
``audit_seal`` (run by the worker and by ``mendian audit seal``) takes the unsealed entries in id order
and hashes them into a block chained to the previous block's hash. ``audit_verify`` recomputes every
block; an edited or deleted sealed entry, or a log that ends before an operator's anchor, fails.

Entries are sealed in id order once they are older than ``SEAL_LAG``; an entry whose transaction
committed late is simply sealed into a later block (the chain order is ``seal_seq``), never skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditBlock, AuditEntry

GENESIS = "0" * 64
SEAL_LAG = dt.timedelta(seconds=5)
BLOCK_MAX_ENTRIES = 5000


def _actor_name(actor: Any) -> str:
    if actor is None:
        return ""
    if isinstance(actor, str):
        return actor
    return getattr(actor, "username", "") or str(actor)


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_entry_build(*, actor: Any, action: str, object_type: str, object_ref: str, before: Any = None,
                      after: Any = None, at: dt.datetime | None = None) -> AuditEntry:
    """An unsaved entry, for services that insert several rows in one statement."""
    return AuditEntry(at=at or timezone.now(), actor=_actor_name(actor), action=action, object_type=object_type,
                      object_ref=str(object_ref), before=_jsonable(before), after=_jsonable(after))


def audit_record(*, actor: Any, action: str, object_type: str, object_ref: str, before: Any = None,
                 after: Any = None) -> AuditEntry:
    """Append one audit entry; call inside the service's transaction."""
    from .batch import current_batch

    entry = audit_entry_build(actor=actor, action=action, object_type=object_type, object_ref=object_ref,
                              before=before, after=after)
    batch = current_batch()
    if batch is not None:
        batch.audit.append(entry)
    else:
        entry.save(force_insert=True)
    return entry


def _entry_digest(entry: AuditEntry) -> bytes:
    body = json.dumps(
        [entry.id, entry.at.isoformat(), entry.actor, entry.action, entry.object_type, entry.object_ref,
         entry.before, entry.after],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder,
    )
    return body.encode()


def _chain(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(prev_hash.encode() + _entry_digest(entry)).hexdigest()


@dataclass(frozen=True)
class SealResult:
    blocks: int
    entries: int
    head_hash: str
    head_seq: int


SEAL_LOCK_KEY = 0x6D656E6469616E  # "mendian": one sealer at a time on PostgreSQL


def _seal_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
    # SQLite: the IMMEDIATE transaction already holds the database's write lock.


def audit_seal(*, now: dt.datetime | None = None) -> SealResult:
    """Seal unsealed entries older than SEAL_LAG into new blocks. Safe to run from several workers."""
    cutoff = (now or timezone.now()) - SEAL_LAG
    blocks = entries_sealed = 0
    while True:
        with transaction.atomic():
            _seal_lock()
            last = AuditBlock.objects.order_by("-seq").first()
            prev_hash = last.hash if last else GENESIS
            seq = (last.seq + 1) if last else 1
            batch = list(
                AuditEntry.objects.filter(block__isnull=True, at__lte=cutoff)
                .order_by("id")[:BLOCK_MAX_ENTRIES]
            )
            if not batch:
                break
            base_seq = last_seq_of(last)
            h = prev_hash
            for i, e in enumerate(batch, start=1):
                h = _chain(h, e)
                e.seal_hash, e.seal_seq = h, base_seq + i
            block = AuditBlock.objects.create(
                seq=seq, first_entry_id=batch[0].id, last_entry_id=batch[-1].id, entry_count=len(batch),
                prev_hash=prev_hash, hash=h, sealed_at=timezone.now(),
            )
            table = AuditEntry._meta.db_table
            with connection.cursor() as cur:  # one prepared UPDATE, many rows (bulk_update's CASE is quadratic)
                cur.executemany(
                    f"UPDATE {table} SET block_id = %s, seal_seq = %s, seal_hash = %s WHERE id = %s",  # noqa: S608
                    [(block.pk, e.seal_seq, e.seal_hash, e.id) for e in batch],
                )
            blocks += 1
            entries_sealed += len(batch)
    head = AuditBlock.objects.order_by("-seq").first()
    return SealResult(blocks=blocks, entries=entries_sealed, head_hash=head.hash if head else GENESIS,
                      head_seq=head.seq if head else 0)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    blocks: int
    entries: int
    head_hash: str
    problem: str = ""
    broken_entry_id: int | None = None
    broken_seal_seq: int | None = None


def last_seq_of(block: AuditBlock | None) -> int:
    if block is None:
        return 0
    return AuditEntry.objects.filter(block=block).order_by("-seal_seq").values_list("seal_seq", flat=True).first() or 0


def _missing(prev_id: int, next_id: int | None) -> tuple[str, int | None]:
    """Describe a deleted sealed entry; within a block entries were sealed in id order."""
    if next_id is None:
        return f"after entry id {prev_id}", None
    if next_id - prev_id == 2:
        return f"entry id {prev_id + 1}", prev_id + 1
    return f"between entry ids {prev_id} and {next_id}", None


def audit_verify(*, anchor: str | None = None) -> VerifyResult:
    """Recompute the chain entry by entry; name the first altered or deleted entry.

    ``anchor`` is a block hash (or an entry's seal hash) printed by an earlier seal and kept outside the
    database: the chain must reach it, or sealed entries at its end were removed.
    """
    prev_hash = GENESIS
    n_blocks = n_entries = 0
    anchor = (anchor or "").strip().lower() or None
    seen_anchor = anchor is None or anchor == GENESIS
    expected_seq = 1
    prev_id = 0

    def broken(problem: str, entry_id: int | None = None, seal_seq: int | None = None) -> VerifyResult:
        return VerifyResult(False, n_blocks, n_entries, prev_hash, problem, entry_id, seal_seq)

    for block in AuditBlock.objects.order_by("seq").iterator():
        n_blocks += 1
        if block.seq != n_blocks:
            return broken(f"audit block {n_blocks} was deleted (the next block is {block.seq})",
                          seal_seq=expected_seq)
        if block.prev_hash != prev_hash:
            return broken(f"audit block {block.seq} does not chain to the block before it",
                          block.first_entry_id, expected_seq)
        count = 0
        for entry in AuditEntry.objects.filter(block=block).order_by("seal_seq", "id").iterator():
            if entry.seal_seq != expected_seq:
                where, entry_id = _missing(prev_id, entry.id)
                return broken(f"sealed audit entry #{expected_seq} ({where}) was deleted", entry_id, expected_seq)
            if _chain(prev_hash, entry) != entry.seal_hash:
                return broken(f"audit entry id {entry.id} (#{entry.seal_seq}) was altered", entry.id, entry.seal_seq)
            prev_hash = entry.seal_hash
            prev_id = entry.id
            if anchor and entry.seal_hash == anchor:
                seen_anchor = True
            expected_seq += 1
            count += 1
            n_entries += 1
        if count != block.entry_count or prev_hash != block.hash:
            where, entry_id = _missing(prev_id, None)
            return broken(f"audit block {block.seq} lost its entries from #{expected_seq} ({where}): deleted",
                          entry_id, expected_seq)
        if anchor and block.hash == anchor:
            seen_anchor = True
    if not seen_anchor:
        return broken("the log ends before the anchor: sealed entries or blocks after the last intact one "
                      f"(entry #{expected_seq - 1}, id {prev_id}) were removed, or the chain was rewritten",
                      seal_seq=expected_seq)
    return VerifyResult(True, n_blocks, n_entries, prev_hash)
