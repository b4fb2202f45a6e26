"""``mendian rollups-rebuild [--from DATE] [--to DATE] [--location CODE …]``"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from mendian.analytics.rollups import rollups_rebuild
from mendian.org.models import Location


class Command(BaseCommand):
    help = "Recount the dashboard rollups from the orders and the imported sales history."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", type=dt.date.fromisoformat, default=None)
        parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, default=None)
        parser.add_argument("--location", action="append", default=[], help="location code (repeatable)")

    def handle(self, *args, start=None, end=None, location=(), **opts):
        ids = None
        if location:
            found = dict(Location.objects.filter(code__in=location).values_list("code", "pk"))
            missing = sorted(set(location) - set(found))
            if missing:
                raise CommandError(f"unknown location(s): {', '.join(missing)}")
            ids = set(found.values())

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"\r  orders {done}/{total}", ending="")

        result = rollups_rebuild(start=start, end=end, location_ids=ids, progress=progress)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(
            f"rollups rebuilt: {result.history_rows} history rows, then {result.orders} orders after each "
            f"location's last history day (rows written from them: {result.rows})"))
