"""``mendian analytics-demo-inputs``: targets and staff hours for the demo chain (after rollups-rebuild)."""

from django.core.management.base import BaseCommand

from mendian.analytics.demo import demo_inputs_seed


class Command(BaseCommand):
    help = "Generate monthly targets and staff hours for the demo chain's dashboards."

    def handle(self, *args, **opts):
        targets, hours = demo_inputs_seed()
        self.stdout.write(self.style.SUCCESS(f"{targets} monthly targets, {hours} staff-hour days"))
