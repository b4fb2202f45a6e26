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
from django.db import transaction
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


def audit_seal(*, now: dt.datetime | None = None) -> SealResult:
    """Seal unsealed entries older than SEAL_LAG into new blocks. Safe to run from several workers."""
    cutoff = (now or timezone.now()) - SEAL_LAG
    blocks = entries_sealed = 0
    while True:
        with transaction.atomic():
            last = AuditBlock.objects.select_for_update().order_by("-seq").first()
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
            for e in batch:
                e.block = block
            AuditEntry.objects.bulk_update(batch, ["block", "seal_hash", "seal_seq"], batch_size=1000)
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


def last_seq_of(block: AuditBlock | None) -> int:
    if block is None:
        return 0
    return AuditEntry.objects.filter(block=block).order_by("-seal_seq").values_list("seal_seq", flat=True).first() or 0


def audit_verify(*, anchor: str | None = None) -> VerifyResult:
    """Recompute the chain entry by entry; name the first altered or deleted entry."""
    prev_hash = GENESIS
    n_blocks = n_entries = 0
    seen_anchor = anchor is None or anchor == GENESIS
    expected_seq = 1
    prev_id = 0
    for block in AuditBlock.objects.order_by("seq").iterator():
        n_blocks += 1
        if block.seq != n_blocks:
            return VerifyResult(False, n_blocks, n_entries, prev_hash, f"audit block {n_blocks} was deleted")
        if block.prev_hash != prev_hash:
            return VerifyResult(False, n_blocks, n_entries, prev_hash,
                                f"audit block {block.seq} does not chain to the block before it", block.first_entry_id)
        count = 0
        for entry in AuditEntry.objects.filter(block=block).order_by("seal_seq", "id").iterator():
            if entry.seal_seq != expected_seq:
                return VerifyResult(False, n_blocks, n_entries, prev_hash,
                                    f"sealed audit entry #{expected_seq} (after entry id {prev_id}) was deleted",
                                    prev_id + 1)
            if _chain(prev_hash, entry) != entry.seal_hash:
                return VerifyResult(False, n_blocks, n_entries, prev_hash,
                                    f"audit entry id {entry.id} (#{entry.seal_seq}) was altered", entry.id)
            prev_hash = entry.seal_hash
            prev_id = entry.id
            expected_seq += 1
            count += 1
            n_entries += 1
        if count != block.entry_count or prev_hash != block.hash:
            return VerifyResult(False, n_blocks, n_entries, prev_hash,
                                f"audit block {block.seq} lost entries after entry id {prev_id}", prev_id + 1)
        if anchor and block.hash == anchor:
            seen_anchor = True
    if not seen_anchor:
        return VerifyResult(False, n_blocks, n_entries, prev_hash,
                            "the log ends before the anchor: sealed entries or blocks were removed")
    return VerifyResult(True, n_blocks, n_entries, prev_hash)
