"""``mendian marketing-demo-setup``: the demo chain's promotions, coupon campaign and members (idempotent)."""

from django.core.management.base import BaseCommand

from mendian.demo.marketing import DEMO_MOBILE, marketing_demo_setup


class Command(BaseCommand):
    help = ("Promotions (满减 ladder, 第2件半价, member price, 秒杀), a coupon campaign and demo members "
            f"(the demo member: mobile {DEMO_MOBILE}); what exists is kept.")

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=12)

    def handle(self, *args, **opts):
        r = marketing_demo_setup(members=opts["members"])
        if not r.store:
            self.stdout.write("no stores: seed the demo chain first (mendian seed-demo)")
            return
        self.stdout.write(self.style.SUCCESS(
            f"marketing: {r.promotions} promotions, {r.templates} coupon templates, {r.members} members and "
            f"{r.coupons} coupons created; demo member {r.demo_member} (mobile {DEMO_MOBILE}, registered at {r.store})"))
