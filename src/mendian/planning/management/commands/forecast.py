"""``mendian forecast``: run a forecast now, in this process, with progress on the terminal.

    mendian forecast                                   # the whole chain, 28 days
    mendian forecast --locations KM001,KM002 --skus GR001 --horizon 14 --n-jobs 2
    mendian forecast --resume 12                       # finish run 12 (skips the series it has)
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from mendian.catalog.models import Sku
from mendian.core.errors import MendianError
from mendian.org.models import Location
from mendian.planning import services
from mendian.planning.models import ForecastRun


def _ids(model, codes: str | None, what: str) -> list[int] | None:
    if not codes:
        return None
    wanted = [c.strip() for c in codes.split(",") if c.strip()]
    found = dict(model.objects.filter(code__in=wanted).values_list("code", "pk"))
    missing = [c for c in wanted if c not in found]
    if missing:
        raise CommandError(f"unknown {what}: {', '.join(missing)}")
    return [found[c] for c in wanted]


class Command(BaseCommand):
    help = "Forecast demand per (location, SKU), choose models by cross-validation, recompute safety stock."

    def add_arguments(self, parser):
        parser.add_argument("--locations", help="comma-separated location codes (default: all)")
        parser.add_argument("--skus", help="comma-separated SKU codes (default: all)")
        parser.add_argument("--horizon", type=int, default=28)
        parser.add_argument("--n-windows", type=int, default=2)
        parser.add_argument("--n-jobs", type=int, default=1, help="processes (-1: all cores)")
        parser.add_argument("--history-days", type=int, default=services.DEFAULT_HISTORY_DAYS)
        parser.add_argument("--as-of", help="last day of history (default: the last day with sales)")
        parser.add_argument("--chunk-size", type=int, default=services.DEFAULT_CHUNK)
        parser.add_argument("--resume", type=int, help="resume a failed or abandoned run by id")

    def handle(self, *args, **o):
        try:
            if o["resume"]:
                run = services.forecast_run_requeue(run_id=o["resume"])
            else:
                run = services.forecast_run_create(
                    location_ids=_ids(Location, o["locations"], "locations"), sku_ids=_ids(Sku, o["skus"], "SKUs"),
                    horizon=o["horizon"], n_windows=o["n_windows"], n_jobs=o["n_jobs"],
                    history_days=o["history_days"], as_of=dt.date.fromisoformat(o["as_of"]) if o["as_of"] else None)
            self.stdout.write(f"forecast run {run.pk}: as of {run.as_of}, horizon {run.horizon} days")
            run = services.forecast_run_execute(
                run_id=run.pk, n_jobs=o["n_jobs"], chunk_size=o["chunk_size"],
                progress=lambda done, total: self.stdout.write(f"  {done}/{total} series"))
        except MendianError as e:
            raise CommandError(e.message) from e
        if run.status != ForecastRun.Status.DONE:
            raise CommandError(f"run {run.pk} {run.status}: {run.error}")
        self.stdout.write(json.dumps(run.summary, ensure_ascii=False))
