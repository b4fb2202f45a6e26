"""``mendian console-screenshots [--url URL] [--out DIR]``: PNGs of the console's main pages, taken by
Debian's Chromium from a running demo (``make demo``), for the README."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# (file, user, path, locale, phone)
SHOTS = [
    ("login-zh.png", None, "/login/", "zh-CN", False),
    ("sales-dashboard-hq-zh.png", "hq", "/dashboards/sales/?period=28d", "zh-CN", False),
    ("sales-dashboard-hq-en.png", "hq", "/dashboards/sales/?period=28d", "en-US", False),
    ("sales-dashboard-region-zh.png", "region.KM", "/dashboards/sales/?period=28d", "zh-CN", False),
    ("store-dashboard-zh.png", "manager.KM001", "/dashboards/store/?period=28d", "zh-CN", False),
    ("store-dashboard-phone-zh.png", "manager.KM001", "/dashboards/store/?period=28d", "zh-CN", True),
    ("purchasing-dashboard-en.png", "buyer", "/dashboards/purchasing/", "en-US", False),
    ("drill-down-year-en.png", "hq", "/explore/?year={year}", "en-US", False),
    ("drill-down-store-category-zh.png", "hq", "/explore/?region=KM&store=KM001&year={year}", "zh-CN", False),
    ("pivot-en.png", "hq", "/pivot/?rows=region&cols=channel&measure=amount&from={year}-01-01&to={today}",
     "en-US", False),
    ("stock-ledger-zh.png", "manager.KM001", "/locations/KM001/", "zh-CN", False),
    ("orders-en.png", "manager.KM001", "/orders/", "en-US", False),
    ("pos-phone-zh.png", "cashier.KM001", "/pos/", "zh-CN", True),
    ("pickups-en.png", "cashier.KM001", "/pickups/", "en-US", False),
]


class Command(BaseCommand):
    help = "Take screenshots of the console's main pages from a running demo."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--out", default="docs/screenshots")
        parser.add_argument("--chromium", default="/usr/bin/chromium")

    def handle(self, *args, url, out, chromium, **opts):
        import datetime as dt

        from playwright.sync_api import sync_playwright

        if not Path(chromium).exists():
            raise CommandError(f"no Chromium at {chromium}: apt-get install -y chromium chromium-driver")
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        today = dt.date.today()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for name, user, path, locale, phone in SHOTS:
                viewport = {"width": 390, "height": 844} if phone else {"width": 1366, "height": 900}
                ctx = browser.new_context(locale=locale, viewport=viewport, device_scale_factor=2 if phone else 1)
                page = ctx.new_page()
                errors: list[str] = []
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                if user:
                    page.goto(url + "/login/")
                    page.fill("#id_username", user)
                    page.fill("#id_password", "demo")
                    page.click("#sign-in")
                    page.wait_for_load_state("networkidle")
                page.goto(url + path.format(year=today.year, today=today.isoformat()))
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(600)  # chart animations
                page.screenshot(path=str(out_dir / name), full_page=not phone)
                ctx.close()
                self.stdout.write(f"{out_dir / name}{'  console errors: ' + '; '.join(errors) if errors else ''}")
            browser.close()
