#!/usr/bin/env python
"""Checkout throughput: 5-line POS orders over HTTP against mendian on PostgreSQL, with pgbench -N
on the same server as the comparison point.

    .venv/bin/python bench/checkout.py                 # fresh DB mendian_bench, serve, drive, pgbench
    .venv/bin/python bench/checkout.py --seconds 60 --clients 16 --stores 20 --skus 200
    .venv/bin/python bench/checkout.py --url http://127.0.0.1:8000 --reuse   # target a running server
                                                       # on an already seeded benchmark database

What it does:
1. (unless --reuse) drops and creates the database (default ``mendian_bench``), migrates it and
   seeds a small chain of its own: one region, N stores, M SKUs with opening stock, a cashier per
   store (``bench.cashier.<STORE>``, password ``bench``) with an open shift there.
2. (unless --url) starts ``mendian serve --workers 3`` on that database.
3. signs every cashier in, then drives C client threads for --seconds (after --warmup seconds):
   each places 5-line POS orders (random store, random SKUs, cash with change) through
   ``POST /api/v1/orders`` with a fresh Idempotency-Key, over keep-alive HTTP where the server allows
   it. Prints orders/s, p50/p99 latency and errors.
4. stops the server it started, initialises a pgbench database of its own (``mendian_pgbench``) on
   the same PostgreSQL server and runs ``pgbench -N -c 16 -j 2 -T <seconds>``.
5. prints the ratio orders/s ÷ pgbench TPS; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from decimal import ROUND_UP, Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PASSWORD = "bench"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- database -------------------------------------------------------------------------------------


def _admin_conn(server_url: str):
    import psycopg

    return psycopg.connect(f"{server_url}/postgres", autocommit=True)


def recreate_database(server_url: str, name: str) -> None:
    with _admin_conn(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def mendian_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": db_url, "MENDIAN_LOG_LEVEL": "WARNING", "MENDIAN_ACCESS_TOKEN_SECONDS": "7200",
                "DJANGO_SETTINGS_MODULE": "mendian.settings"})
    return env


def migrate(db_url: str) -> None:
    subprocess.run([str(VENV_BIN / "mendian"), "migrate", "-v", "0"], env=mendian_env(db_url), check=True, cwd=ROOT)


SEED_CODE = r"""
import json, random, sys
from decimal import Decimal
import django
django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from mendian.catalog.models import Category, Product, Sku
from mendian.org.models import Location, Region, RoleAssignment
from mendian.inventory.services import OpeningRow, stock_opening_bulk
from mendian.sales.services import shift_open

stores_n, skus_n = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(7)
hq = Region.objects.create(code="HQ", name="HQ", level="hq")
region = Region.objects.create(code="BN", name="Bench", parent=hq)
stores = Location.objects.bulk_create([Location(code=f"BN{i:03d}", name=f"Bench store {i}", region=region)
                                       for i in range(1, stores_n + 1)])
cat = Category.objects.create(code="BENCH", name="Bench")
product = Product.objects.create(code="P-BENCH", name="Bench goods", category=cat)
skus = Sku.objects.bulk_create([
    Sku(code=f"B{i:05d}", product=product, name=f"Bench item {i}", list_price=Decimal(rnd.randint(100, 5000)) / 100,
        vat_rate=Decimal(rnd.choice([13, 9, 6]))) for i in range(1, skus_n + 1)])
stock_opening_bulk(rows=[OpeningRow(location_id=s.pk, sku_id=k.pk, quantity=10_000_000, unit_cost=k.list_price / 2)
                         for s in stores for k in skus], doc_ref="BENCH-OPENING")
User = get_user_model()
pw = make_password(%(password)r)
users = User.objects.bulk_create([User(username=f"bench.cashier.{s.code}", password=pw) for s in stores])
RoleAssignment.objects.bulk_create([RoleAssignment(user=u, role="cashier", location=s) for u, s in zip(users, stores)])
for u, s in zip(users, stores):
    shift_open(actor=u, store_id=s.pk, opening_float=Decimal("500.00"))
print(json.dumps({"stores": [s.code for s in stores], "skus": {k.code: str(k.list_price) for k in skus}}))
"""

FIXTURE_CODE = r"""
import json
import django
django.setup()
from mendian.catalog.models import Sku
from mendian.org.models import Location
from mendian.sales.models import Shift
stores = list(Shift.objects.filter(status="open", user__username__startswith="bench.cashier.")
              .values_list("store__code", flat=True).distinct())
skus = {c: str(p) for c, p in Sku.objects.filter(code__startswith="B").values_list("code", "list_price")}
print(json.dumps({"stores": sorted(stores), "skus": skus}))
"""


def django_snippet(db_url: str, code: str, *args: str) -> dict:
    out = subprocess.run([str(VENV_BIN / "python"), "-c", code, *args], env=mendian_env(db_url), check=True,
                         cwd=ROOT, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- server ---------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_server(db_url: str, port: int, workers: int) -> subprocess.Popen:
    if port_in_use(port):
        raise SystemExit(f"port {port} is in use by another process; pick another with --port")
    proc = subprocess.Popen([str(VENV_BIN / "mendian"), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)], env=mendian_env(db_url), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/openapi.json")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit("server did not come up")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- clients --------------------------------------------------------------------------------------


class Http:
    """One keep-alive connection; reconnects when the server closes it (gunicorn sync workers do)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
                if resp.getheader("Connection", "").lower() == "close" or resp.will_close:
                    self.conn.close()
                    self.conn = None
                return resp.status, payload
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def sign_in(host: str, port: int, stores: list[str]) -> dict[str, str]:
    h = Http(host, port)
    tokens = {}
    for code in stores:
        status, body = h.request("POST", "/api/v1/auth/token", {"username": f"bench.cashier.{code}",
                                                                "password": PASSWORD})
        if status != 200:
            raise SystemExit(f"sign-in for {code} failed: {status} {body[:200]!r}")
        tokens[code] = json.loads(body)["access_token"]
    return tokens


def make_order(rnd: random.Random, stores: list[str], skus: list[tuple[str, Decimal]]) -> tuple[str, dict]:
    store = rnd.choice(stores)
    picked = rnd.sample(skus, 5)
    lines = [{"sku": code, "quantity": rnd.randint(1, 3)} for code, _ in picked]
    total = sum((price * ln["quantity"] for (_, price), ln in zip(picked, lines, strict=True)), Decimal("0"))
    cash = (total / 10).quantize(Decimal("1"), rounding=ROUND_UP) * 10  # a round note amount: change back
    return store, {"store": store, "channel": "pos", "fulfilment": "in_store", "lines": lines,
                   "tenders": [{"method": "cash", "amount": f"{cash:.2f}", "reference": ""}]}


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def server_pids(pgid: int | None) -> list[int]:
    """The server's processes (gunicorn master and workers share the process group we started)."""
    if pgid is None:
        return []
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if os.getpgid(int(d.name)) == pgid:
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def db_backend_pids(server_url: str, db: str) -> list[int]:
    with _admin_conn(server_url) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [db]).fetchall()]


def cpu_snapshot(pids: list[int]) -> dict[int, float]:
    return {p: _proc_cpu(p) for p in pids}


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between the snapshots by processes alive at both (a backend that ended in
    between is not counted: the figure is then a lower bound)."""
    return sum(after[p] - before[p] for p in after if p in before and after[p] >= before[p] > 0)


def drive(host: str, port: int, tokens: dict[str, str], skus: list[tuple[str, Decimal]], *, clients: int,
          seconds: float, warmup: float, cpu_probe=None) -> dict:
    stores = sorted(tokens)
    start_at = time.perf_counter() + 0.5
    measure_from = start_at + warmup
    stop_at = measure_from + seconds
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors: list[list[str]] = [[] for _ in range(clients)]
    done = [0] * clients

    def client(i: int) -> None:
        rnd = random.Random(1000 + i)
        h = Http(host, port)
        while time.perf_counter() < start_at:
            time.sleep(0.001)
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            store, body = make_order(rnd, stores, skus)
            try:
                status, payload = h.request("POST", "/api/v1/orders", body, {
                    "Authorization": f"Bearer {tokens[store]}", "Idempotency-Key": uuid.uuid4().hex})
            except Exception as exc:  # a broken connection counts as an error
                status, payload = 0, repr(exc).encode()
            t1 = time.perf_counter()
            if t0 >= measure_from and t1 <= stop_at:
                if status == 201:
                    lat[i].append(t1 - t0)
                    done[i] += 1
                else:
                    errors[i].append(f"{status} {payload[:200]!r}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    cpu = {}
    if cpu_probe is not None:
        time.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu = cpu_probe(None)
        client_cpu0 = time.process_time()
        time.sleep(max(0.0, stop_at - time.perf_counter()))
        cpu = cpu_probe(cpu)
        cpu["client_s"] = time.process_time() - client_cpu0
    for t in threads:
        t.join()
    all_lat = sorted(x for xs in lat for x in xs)
    errs = [e for es in errors for e in es]
    n = sum(done)
    return {
        "orders": n, "orders_per_s": n / seconds,
        "p50_ms": statistics.median(all_lat) * 1000 if all_lat else None,
        "p99_ms": all_lat[min(len(all_lat) - 1, int(len(all_lat) * 0.99))] * 1000 if all_lat else None,
        "max_ms": all_lat[-1] * 1000 if all_lat else None,
        "errors": len(errs), "error_samples": errs[:5], "cpu": cpu,
    }


# --- pgbench --------------------------------------------------------------------------------------


def run_pgbench(server_url: str, seconds: int, clients: int = 16, threads: int = 2) -> float:
    if not shutil.which("pgbench"):
        raise SystemExit("pgbench not found (apt-get install postgresql-client)")
    name = "mendian_pgbench"
    recreate_database(server_url, name)
    url = f"{server_url}/{name}"
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", url], check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-N", "-c", str(clients), "-j", str(threads), "-T", str(seconds), url],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out) or re.search(r"tps = ([0-9.]+)", out)
    if not m:
        raise SystemExit(f"could not read pgbench output:\n{out}")
    return float(m.group(1))


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="target a running server (on a database this script seeded) instead of starting one")
    p.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"),
                   help="the PostgreSQL server (URL without a database name)")
    p.add_argument("--db", default="mendian_bench", help="benchmark database name")
    p.add_argument("--reuse", action="store_true", help="keep the existing benchmark database (no drop/seed)")
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--stores", type=int, default=20)
    p.add_argument("--skus", type=int, default=200)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--port", type=int, default=0, help="port for the server it starts (default: a free one)")
    p.add_argument("--no-pgbench", action="store_true")
    args = p.parse_args(argv)

    db_url = f"{args.pg}/{args.db}"
    if args.reuse:
        fixture = django_snippet(db_url, FIXTURE_CODE)
    else:
        log(f"creating {args.db}, migrating, seeding {args.stores} stores × {args.skus} SKUs …")
        t = time.time()
        recreate_database(args.pg, args.db)
        migrate(db_url)
        fixture = django_snippet(db_url, SEED_CODE.replace("%(password)r", repr(PASSWORD)),
                                 str(args.stores), str(args.skus))
        log(f"  ready in {time.time() - t:.1f} s")
    skus = [(code, Decimal(price)) for code, price in sorted(fixture["skus"].items())]
    proc = None
    if args.url:
        u = urlparse(args.url)
        host, port = u.hostname or "127.0.0.1", u.port or 80
    else:
        host, port = "127.0.0.1", args.port or free_port()
        log(f"starting mendian serve --workers {args.workers} on :{port} …")
        proc = start_server(db_url, port, args.workers)
    try:
        tokens = sign_in(host, port, fixture["stores"])
        log(f"driving {args.clients} clients for {args.seconds} s (+{args.warmup} s warm-up) …")

        def probe(prev):
            # CPU seconds used by the server's processes and the database's backends during the run:
            # a load-independent cost per order (the machine may be shared with other work).
            if prev is None:
                spids = server_pids(proc.pid if proc else None)
                dpids = db_backend_pids(args.pg, args.db)
                return {"spids": spids, "dpids": dpids, "s0": cpu_snapshot(spids), "d0": cpu_snapshot(dpids),
                        "load0": os.getloadavg()[0]}
            return {**({"server_s": cpu_used(prev["s0"], cpu_snapshot(prev["spids"]))} if prev["spids"] else {}),
                    "db_s": cpu_used(prev["d0"], cpu_snapshot(prev["dpids"])),
                    "load": round((prev["load0"] + os.getloadavg()[0]) / 2, 1)}

        res = drive(host, port, tokens, skus, clients=args.clients, seconds=args.seconds, warmup=args.warmup,
                    cpu_probe=probe)
    finally:
        if proc is not None:
            stop_server(proc)
    print(f"orders:        {res['orders']} in {args.seconds} s")
    print(f"orders/s:      {res['orders_per_s']:.1f}")
    print(f"latency:       p50 {res['p50_ms'] or 0:.1f} ms, p99 {res['p99_ms'] or 0:.1f} ms, "
          f"max {res['max_ms'] or 0:.1f} ms")
    print(f"errors:        {res['errors']}")
    cpu = res["cpu"]
    per_order = {}
    if res["orders"] and cpu:
        per_order = {k: round(cpu[k] / res["orders"] * 1000, 2) for k in ("server_s", "db_s", "client_s") if k in cpu}
        server = f"{per_order['server_s']:.2f} ms" if "server_s" in per_order else "n/a (not started here)"
        print(f"CPU per order: server {server} (Python, all workers), "
              f"database {per_order.get('db_s', 0):.2f} ms, load generator {per_order.get('client_s', 0):.2f} ms; "
              f"load average {cpu.get('load')} on {os.cpu_count()} cores")
    for e in res["error_samples"]:
        print(f"  e.g. {e}")
    tps = None
    if not args.no_pgbench:
        log(f"pgbench -N -c 16 -j 2 -T {args.seconds} …")
        tps = run_pgbench(args.pg, args.seconds)
        print(f"pgbench -N:    {tps:.1f} TPS")
    ratio = res["orders_per_s"] / tps if tps else None
    if ratio is not None:
        print(f"ratio:         {ratio:.4f} (orders/s ÷ pgbench -N TPS; goal ≥ 0.04)")
    print(json.dumps({
        "orders_per_s": round(res["orders_per_s"], 2),
        "p50_ms": round(res["p50_ms"], 2) if res["p50_ms"] is not None else None,
        "p99_ms": round(res["p99_ms"], 2) if res["p99_ms"] is not None else None,
        "errors": res["errors"], "pgbench_tps": round(tps, 1) if tps else None,
        "ratio": round(ratio, 4) if ratio is not None else None,
        "orders": res["orders"], "seconds": args.seconds, "clients": args.clients, "workers": args.workers,
        "stores": len(fixture["stores"]), "skus": len(skus),
        "server_cpu_ms_per_order": per_order.get("server_s"), "db_cpu_ms_per_order": per_order.get("db_s"),
        "client_cpu_ms_per_order": per_order.get("client_s"), "load_average": cpu.get("load") if cpu else None,
    }))
    return 0 if res["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
