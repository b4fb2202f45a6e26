"""``mendian purchasing-demo-setup``: suppliers, supplier SKUs, portal users and dock slots for the demo chain."""

from django.core.management.base import BaseCommand

from mendian.purchasing.services import purchasing_demo_setup


class Command(BaseCommand):
    help = "Suppliers (one per top category), their SKUs, portal users supplier.<code> (password demo) and dock slots."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=14)
        parser.add_argument("--capacity", type=int, default=2)

    def handle(self, *args, **opts):
        r = purchasing_demo_setup(days=opts["days"], capacity=opts["capacity"])
        self.stdout.write(self.style.SUCCESS(
            f"{r.suppliers} suppliers, {r.supplier_skus} supplier SKUs, {r.portal_users} new portal users, "
            f"{r.dock_slots} dock slots"))
