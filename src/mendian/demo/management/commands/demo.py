"""mendian demo [--host H] [--port P]: migrate, seed the demo chain if absent, run the job runner and the
server as child processes, print the URLs and logins, and stop both on Ctrl-C.

The server is gunicorn (``mendian serve``) with two sync workers: it runs well on SQLite in WAL mode
(readers never wait; writers take turns through IMMEDIATE transactions with a 30 s busy timeout), and
it is the same server as in production, so the demo shows the real thing rather than runserver.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from mendian.demo.generate import PASSWORD, demo_chain_present


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _wait_http(url: str, *, seconds: float, procs: list[subprocess.Popen]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - our own local server
                if resp.status < 500:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


class Command(BaseCommand):
    help = "Try mendian: migrate, generate the demo chain if absent, run the job runner and the server (Ctrl-C stops)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
        parser.add_argument("--stores", type=int, default=30)
        parser.add_argument("--skus", type=int, default=1000)
        parser.add_argument("--days", type=int, default=400)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, **opts):
        host, port = opts["host"], opts["port"]
        db = settings.DATABASES["default"]
        where = db["NAME"] if settings.IS_SQLITE else f"{db.get('HOST') or 'localhost'}/{db['NAME']}"
        self.stdout.write(f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {where}")
        if not _port_free(host, port):
            raise CommandError(f"{host}:{port} is in use: stop what runs there or pass --port")
        self.stdout.write("migrating…")
        call_command("migrate", interactive=False, verbosity=0)
        if demo_chain_present():
            self.stdout.write("the demo chain is present (mendian seed-demo --reset generates it again)")
        else:
            call_command("seed_demo", stores=opts["stores"], skus=opts["skus"], days=opts["days"], seed=opts["seed"],
                         stdout=self.stdout._out, stderr=self.stderr._out)
        self._demo_extras()
        base = [sys.executable, "-m", "mendian.cli"]
        env = dict(os.environ, DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "mendian.settings"))
        procs: list[subprocess.Popen] = []
        stopping = False

        def stop(*_args: object) -> None:
            nonlocal stopping
            stopping = True

        old_term = signal.signal(signal.SIGTERM, stop)
        try:
            procs.append(subprocess.Popen([*base, "worker"], env=env))
            procs.append(subprocess.Popen([*base, "serve", "--host", host, "--port", str(port),
                                           "--workers", str(opts["workers"])], env=env))
            url = f"http://{host}:{port}"
            if not _wait_http(f"{url}/api/v1/openapi.json", seconds=180, procs=procs):
                raise CommandError("the server did not come up; see the messages above")
            self.stdout.write(self._banner(url))
            while not stopping:
                for p in procs:
                    if p.poll() is not None:
                        name = "worker" if p is procs[0] else "server"
                        raise CommandError(f"the {name} stopped (exit {p.returncode}); stopping the demo")
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, old_term)
            self._stop(procs)
        self.stdout.write("mendian demo stopped.")

    def _demo_extras(self) -> None:
        """What the other contexts need to show something on the demo chain, done once: the dashboards'
        rollups (and the demo's targets, staff hours and foot traffic), member tiers and earn rules, the
        marketing demo (promotions, a coupon campaign, members), suppliers with portal users and dock
        slots, and a queued chain-wide forecast run that the job runner works through in the background
        (progress on the console's Jobs page)."""
        from mendian.analytics.models import SalesDayLocation, SalesTarget
        from mendian.members.models import Tier
        from mendian.planning.models import ForecastRun
        from mendian.planning.services import forecast_run_create
        from mendian.promotions.models import Promotion
        from mendian.purchasing.models import Supplier

        out, err = self.stdout._out, self.stderr._out
        if not SalesDayLocation.objects.exists():
            self.stdout.write("building the dashboards' rollups from the sales history (once)…")
            call_command("rollups_rebuild", stdout=out, stderr=err)
        if not SalesTarget.objects.exists():
            call_command("analytics_demo_inputs", stdout=out, stderr=err)
        if not Tier.objects.exists():
            call_command("members", "defaults", stdout=out, stderr=err)
        if not Promotion.objects.filter(code__startswith="DEMO-").exists():
            call_command("marketing_demo_setup", stdout=out, stderr=err)
        if not Supplier.objects.exists():
            call_command("purchasing_demo_setup", stdout=out, stderr=err)
        if not ForecastRun.objects.exists():
            run = forecast_run_create(n_jobs=2)
            self.stdout.write(f"forecast run {run.pk} queued: the job runner forecasts every store × SKU in the "
                              "background (Jobs page)")

    def _stop(self, procs: list[subprocess.Popen]) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def _banner(self, url: str) -> str:
        from mendian.demo.marketing import DEMO_MOBILE, TEMPLATE
        from mendian.org.models import Location, Region

        regions = list(Region.objects.filter(level="region").order_by("code").values_list("code", flat=True))
        stores = list(Location.objects.filter(kind="store").order_by("code").values_list("code", flat=True))
        example = stores[0] if stores else "KM001"
        lines = [
            "",
            "mendian demo is running — 彩云优选, a Yunnan grocery chain",
            f"  console   {url}/",
            f"  API docs  {url}/api/v1/docs",
            f"  admin     {url}/admin/",
            "",
            f"logins (password: {PASSWORD})",
            "  hq                      headquarters: everything, and the admin",
            "  buyer                   purchasing, chain-wide",
            f"  region.<CODE>           a regional director: {', '.join(f'region.{c}' for c in regions)}",
            f"  manager.<STORE>         a store manager, e.g. manager.{example}",
            f"  cashier.<STORE>         a cashier, e.g. cashier.{example} ({len(stores)} stores: {stores[0] if stores else ''}"
            f"…{stores[-1] if stores else ''})",
            "",
            f"marketing: promotions DEMO-* and coupons {TEMPLATE} (hq → 促销 / 优惠券 pages); demo member mobile "
            f"{DEMO_MOBILE} (金卡, points, coupons) at the tills",
            "",
            "the job runner (mendian worker) runs alongside; Ctrl-C stops both.",
        ]
        return "\n".join(lines)
