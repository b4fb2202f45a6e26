"""mendian seed-demo [--stores N] [--skus N] [--days N] [--seed S] [--reset]"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from mendian.demo.generate import demo_chain_present, demo_chain_seed


class Command(BaseCommand):
    help = "Generate the demo chain 彩云优选 (Yunnan) into the configured database, if it is not there yet."

    def add_arguments(self, parser):
        parser.add_argument("--stores", type=int, default=30, help="number of stores (default 30)")
        parser.add_argument("--skus", type=int, default=1000, help="number of SKUs (default 1000)")
        parser.add_argument("--days", type=int, default=400, help="days of sales history up to yesterday (default 400)")
        parser.add_argument("--seed", type=int, default=42, help="random seed: the same seed gives the same chain")
        parser.add_argument("--reset", action="store_true",
                            help="DELETE ALL DATA in the configured database first, then generate")
        parser.add_argument("--no-orders", action="store_true", help="skip the last days' orders and shifts")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **opts):
        if opts["stores"] < 1 or opts["skus"] < 1 or opts["days"] < 7:
            raise CommandError("need --stores ≥ 1, --skus ≥ 1 and --days ≥ 7")
        if demo_chain_present():
            if not opts["reset"]:
                self.stdout.write("The demo chain is present already; nothing to do (--reset deletes all data and "
                                  "generates it again).")
                return
            self.stdout.write(self.style.WARNING("--reset: deleting all data in the database…"))
            call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        bar = None
        if not opts["no_progress"] and opts["verbosity"] > 0:
            from tqdm import tqdm

            bar = tqdm(total=1000, desc="demo", unit="‰", bar_format="{desc:<18} {percentage:3.0f}%|{bar}| {elapsed}",
                       file=self.stderr._out)

        def progress(label: str, fraction: float) -> None:
            if bar is not None:
                bar.set_description_str(label)
                bar.update(max(0, int(fraction * 1000) - bar.n))

        try:
            res = demo_chain_seed(stores=opts["stores"], skus=opts["skus"], days=opts["days"], seed=opts["seed"],
                                  var_dir=Path(settings.VAR_DIR), progress=progress, with_orders=not opts["no_orders"])
        except Exception:
            if bar is not None:
                bar.close()
            self.stderr.write("seeding failed; run `mendian seed-demo --reset` to start again")
            raise
        if bar is not None:
            bar.close()
        took = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(
            f"Demo chain ready in {took:.1f} s: {res.regions} regions, {res.stores} stores ({res.locations} locations), "
            f"{res.skus} SKUs ({res.products} products), {res.users} users, {res.assortment} store×SKU pairs, "
            f"{res.history_rows} history rows over {res.history_days} days, {res.stock_levels} stock balances "
            f"({res.lots} lots), {res.orders} orders in {res.shifts} shifts."))
        if opts["verbosity"] > 1:
            self.stdout.write(f"phases, wall s: {res.seconds}; CPU s: {res.cpu_seconds}; history file {res.csv_path}")
        for note in res.notes:
            self.stdout.write(self.style.WARNING(note))
