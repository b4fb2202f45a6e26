import datetime as dt
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from mendian.cli import main as mendian
from mendian.platform.audit import GENESIS, audit_record, audit_seal, audit_verify
from mendian.platform.jobs import job_run_if_due
from mendian.platform.models import AuditBlock, AuditEntry

pytestmark = pytest.mark.django_db


def _entries(n, start=0):
    out = [audit_record(actor="ann", action="sku.update", object_type="sku", object_ref=f"SKU{start + i}",
                        before={"price": "1.00"}, after={"price": f"{2 + i}.00"}) for i in range(n)]
    # old enough to be sealed (entries younger than SEAL_LAG wait for a later seal)
    AuditEntry.objects.filter(block__isnull=True).update(at=timezone.now() - dt.timedelta(minutes=1))
    return out


def _raw(sql, params):
    with connection.cursor() as cur:
        cur.execute(sql, params)


def test_seal_chains_blocks_and_verify_passes():
    _entries(3)
    first = audit_seal()
    assert (first.blocks, first.entries, first.head_seq) == (1, 3, 1)
    _entries(2, start=3)
    second = audit_seal()
    assert (second.blocks, second.entries, second.head_seq) == (1, 2, 2)
    b1, b2 = AuditBlock.objects.order_by("seq")
    assert b1.prev_hash == GENESIS and b2.prev_hash == b1.hash != b2.hash
    assert (b1.entry_count, b2.entry_count) == (3, 2)
    assert list(AuditEntry.objects.order_by("id").values_list("seal_seq", flat=True)) == [1, 2, 3, 4, 5]
    assert AuditEntry.objects.order_by("-seal_seq").first().seal_hash == b2.hash == second.head_hash
    result = audit_verify()
    assert (result.ok, result.blocks, result.entries, result.head_hash) == (True, 2, 5, b2.hash)
    assert audit_verify(anchor=b1.hash).ok and audit_verify(anchor=b2.hash).ok
    assert audit_seal().blocks == 0  # nothing new


def test_entries_younger_than_the_lag_wait_for_a_later_seal():
    audit_record(actor="ann", action="x", object_type="sku", object_ref="A")
    assert audit_seal().entries == 0
    assert audit_seal(now=timezone.now() + dt.timedelta(seconds=10)).entries == 1


def test_editing_a_sealed_entry_is_detected_and_named():
    entries = _entries(4)
    audit_seal()
    victim = entries[2]
    if connection.vendor == "postgresql":
        _raw("UPDATE platform_auditentry SET after = %s::jsonb WHERE id = %s", ['{"price": "0.01"}', victim.id])
    else:
        _raw("UPDATE platform_auditentry SET after = %s WHERE id = %s", ['{"price": "0.01"}', victim.id])
    result = audit_verify()
    assert not result.ok
    assert result.broken_entry_id == victim.id and result.broken_seal_seq == 3
    assert f"audit entry id {victim.id}" in result.problem


def test_editing_the_actor_is_detected():
    entries = _entries(2)
    audit_seal()
    _raw("UPDATE platform_auditentry SET actor = %s WHERE id = %s", ["mallory", entries[0].id])
    assert audit_verify().broken_entry_id == entries[0].id


def test_deleting_a_sealed_entry_is_detected():
    entries = _entries(4)
    audit_seal()
    _raw("DELETE FROM platform_auditentry WHERE id = %s", [entries[1].id])
    result = audit_verify()
    assert not result.ok and result.broken_seal_seq == 2
    assert result.broken_entry_id == entries[1].id  # ids around it are consecutive, so it is named
    assert "deleted" in result.problem


def test_deleting_the_last_entry_of_a_block_is_detected():
    entries = _entries(3)
    audit_seal()
    _raw("DELETE FROM platform_auditentry WHERE id = %s", [entries[2].id])
    result = audit_verify()
    assert not result.ok and result.broken_seal_seq == 3


def test_deleting_the_last_block_fails_against_the_anchor():
    _entries(2)
    audit_seal()
    _entries(2, start=2)
    head = audit_seal().head_hash
    last = AuditBlock.objects.get(seq=2)
    _raw("DELETE FROM platform_auditentry WHERE block_id = %s", [last.id])
    _raw("DELETE FROM platform_auditblock WHERE id = %s", [last.id])
    # without the anchor a cut at a block boundary cannot be seen: that is what the anchor is for
    assert audit_verify().ok
    result = audit_verify(anchor=head)
    assert not result.ok and "ends before the anchor" in result.problem


@pytest.mark.django_db(transaction=True)  # the command closes its connections at exit, like a real run
def test_the_audit_command_seals_and_exits_by_result(capsys):
    entries = _entries(2)
    call_command("audit", "seal")
    out = capsys.readouterr().out
    head = AuditBlock.objects.get().hash
    assert f"hash {head}" in out and "sealed 2 entries into 1 new blocks" in out
    mendian(["mendian", "audit", "verify", "--anchor", head])  # returns normally: exit status 0
    assert "audit log intact: 1 blocks, 2 entries" in capsys.readouterr().out
    _raw("UPDATE platform_auditentry SET object_ref = %s WHERE id = %s", ["SKU999", entries[1].id])
    with pytest.raises(SystemExit) as exc:
        mendian(["mendian", "audit", "verify", "--anchor", head])
    assert exc.value.code == 2
    assert f"first broken entry: id {entries[1].id}" in capsys.readouterr().err


def test_verify_with_an_unknown_anchor_fails():
    _entries(1)
    audit_seal()
    with pytest.raises(CommandError) as exc:
        call_command("audit", "verify", "--anchor", "f" * 64)
    assert exc.value.returncode == 2


def test_the_worker_job_seals_the_log():
    _entries(3)
    assert job_run_if_due("platform.audit_seal")
    assert AuditEntry.objects.filter(block__isnull=True).count() == 0
    assert audit_verify().entries == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_build_one_intact_chain():
    _entries(30)
    barrier = threading.Barrier(4)
    errors = []

    def sealer():
        try:
            barrier.wait()
            audit_seal()
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sealer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = audit_verify()
    assert result.ok and result.entries == 30
