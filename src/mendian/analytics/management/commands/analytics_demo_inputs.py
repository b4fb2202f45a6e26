"""``mendian analytics-demo-inputs``: targets, staff hours and foot traffic for the demo chain (after rollups-rebuild)."""

from django.core.management.base import BaseCommand

from mendian.analytics.demo import demo_inputs_seed


class Command(BaseCommand):
    help = "Generate monthly targets, staff hours and foot traffic for the demo chain's dashboards."

    def handle(self, *args, **opts):
        targets, hours, traffic = demo_inputs_seed()
        self.stdout.write(self.style.SUCCESS(f"{targets} monthly targets, {hours} staff-hour days, {traffic} foot-traffic days"))
