from django.core.management.base import BaseCommand

from mendian.platform.worker import worker_loop


class Command(BaseCommand):
    help = "Deliver outbox events and run periodic jobs (embedded job runner)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument("--ticks", type=int, default=None, help="stop after N ticks (for tests)")

    def handle(self, *args, **opts):
        self.stdout.write("mendian worker: delivering outbox events and running periodic jobs (Ctrl-C stops)")
        worker_loop(interval=opts["interval"], max_ticks=opts["ticks"])
