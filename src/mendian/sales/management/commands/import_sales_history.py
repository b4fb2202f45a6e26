"""mendian import-sales-history FILE.csv — load daily sales per (location, SKU) from a CSV export."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mendian.core.errors import MendianError
from mendian.sales.history import COLUMNS, sales_history_import


class Command(BaseCommand):
    help = ("Import daily sales history from a CSV with the columns " + ",".join(COLUMNS)
            + " (date ISO, location code, SKU code, quantity in base units net of returns, amount tax-inclusive). "
            "Good rows are upserted; rejected rows are listed by line number and not imported.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="the CSV file (UTF-8)")
        parser.add_argument("--chunk-size", type=int, default=50_000)
        parser.add_argument("--max-errors", type=int, default=50, help="how many rejected rows to list")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        bars: dict[str, object] = {}
        show = not opts["no_progress"] and opts["verbosity"] > 0

        def progress(phase: str, done: int, total: int) -> None:
            if not show:
                return
            from tqdm import tqdm

            bar = bars.get(phase)
            if bar is None:
                for other in bars.values():
                    other.close()
                unit, scale = ("B", True) if phase == "validate" else ("rows", False)
                bar = bars[phase] = tqdm(total=total, desc="validate" if phase == "validate" else "import  ",
                                         unit=unit, unit_scale=scale, file=self.stderr._out)
            bar.update(done - bar.n)

        try:
            result = sales_history_import(source=path, chunk_size=opts["chunk_size"], max_errors=opts["max_errors"],
                                          progress=progress, actor="command:import_sales_history")
        except MendianError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write(
            f"{result.rows} rows read: {result.imported} imported, {result.updated} updated, {result.rejected} rejected "
            f"({result.first_day or '-'} … {result.last_day or '-'}) in {result.seconds:.1f} s "
            f"({result.rows_per_second:,.0f} rows/s)")
        for e in result.errors:
            self.stdout.write(f"  line {e.line}: {e.message}")
        if result.rejected > len(result.errors):
            self.stdout.write(f"  … and {result.rejected - len(result.errors)} more rejected rows")
        if result.rejected:
            raise CommandError(f"{result.rejected} rows rejected (the others were imported)", returncode=2)
