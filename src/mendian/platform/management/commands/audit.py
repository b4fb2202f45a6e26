from django.core.management.base import BaseCommand, CommandError

from mendian.platform.audit import audit_seal, audit_verify


class Command(BaseCommand):
    help = ("Seal the audit log into hash-chained blocks (prints the head hash to keep outside the database), "
            "or verify it, optionally against such an anchor. verify exits 0 when intact, 2 when broken.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["seal", "verify"])
        parser.add_argument("--anchor", help="a block hash printed by an earlier seal")

    def handle(self, *args, **opts):
        if opts["action"] == "seal":
            r = audit_seal()
            self.stdout.write(f"sealed {r.entries} entries into {r.blocks} new blocks")
            self.stdout.write(f"head block {r.head_seq} hash {r.head_hash}")
            self.stdout.write("keep this hash outside the database; verify with: mendian audit verify --anchor HASH")
            return
        r = audit_verify(anchor=opts.get("anchor"))
        if r.ok:
            self.stdout.write(f"audit log intact: {r.blocks} blocks, {r.entries} entries, head {r.head_hash}")
            return
        self.stderr.write(f"audit log BROKEN: {r.problem}")
        if r.broken_entry_id is not None:
            self.stderr.write(f"first broken entry: id {r.broken_entry_id} (#{r.broken_seal_seq})")
        elif r.broken_seal_seq is not None:
            self.stderr.write(f"first broken entry: #{r.broken_seal_seq} in the sealed chain")
        raise CommandError(r.problem, returncode=2)
