import os
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve mendian in production style (gunicorn, N sync workers)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=3)
        parser.add_argument("--access-log", action="store_true")

    def handle(self, *args, **opts):
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
        argv = [sys.executable, "-m", "gunicorn", "mendian.wsgi:application",
                "--bind", f"{opts['host']}:{opts['port']}", "--workers", str(opts["workers"]),
                "--worker-class", "sync", "--timeout", "60", "--graceful-timeout", "10"]
        if opts["access_log"]:
            argv += ["--access-logfile", "-"]
        os.execv(sys.executable, argv)
