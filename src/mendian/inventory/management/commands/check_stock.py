from django.core.management.base import BaseCommand, CommandError

from mendian.inventory.services import stock_ledger_report


class Command(BaseCommand):
    help = ("Prove the stock ledger: for every balance, on hand and reserved equal the sums of its movements. "
            "Exits 0 when they do, 2 naming the offending rows (location, SKU, lot, book vs ledger) when not.")

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=50, help="name at most this many offending rows")

    def handle(self, *args, **opts):
        report = stock_ledger_report()
        if not report.problems:
            self.stdout.write(f"stock ledger OK: {report.levels} balances match the sums of their "
                              f"{report.movements} movements")
            return
        self.stderr.write(f"stock ledger BROKEN: {len(report.problems)} of {report.levels} balances differ "
                          f"from the sums of their movements")
        for p in report.problems[: opts["limit"]]:
            self.stderr.write(f"  {p.describe()}")
        if len(report.problems) > opts["limit"]:
            self.stderr.write(f"  … and {len(report.problems) - opts['limit']} more")
        raise CommandError(f"{len(report.problems)} balance(s) differ from their ledger", returncode=2)
