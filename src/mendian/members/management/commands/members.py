"""``mendian members check`` proves the points ledger; ``mendian members defaults`` sets up the
standard tiers, a base earn rule and the redemption settings when none exist (for the demo)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mendian.members import selectors, services


class Command(BaseCommand):
    help = "Members: 'check' the points ledger, or create 'defaults' (tiers, earn rule)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["check", "defaults"])

    def handle(self, *args, action: str, **options):
        if action == "defaults":
            made = services.members_defaults_ensure()
            self.stdout.write(f"tiers created: {made['tiers']}, earn rules created: {made['earn_rules']}")
            return
        problems = selectors.points_ledger_check()
        for p in problems:
            self.stdout.write(f"{p.member}: balance {p.balance}, ledger {p.ledger_sum}, open lots {p.lots_remaining}")
        if problems:
            raise CommandError(f"{len(problems)} members' points balances differ from the ledger")
        self.stdout.write("points ledger OK: every balance equals the sum of its ledger and of its open lots")
