"""``mendian demo`` end to end: a fresh SQLite under a temporary var dir, a small chain, the server and the
job runner as children, the banner, and a clean stop on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(x) for x in out.split()}


@pytest.mark.slow
def test_demo_seeds_serves_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MENDIAN_SQLITE_TEST_NAME")}
    env.update(MENDIAN_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "demo.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "mendian.cli", "demo", "--port", str(port), "--stores", "2",
                             "--skus", "20", "--days", "10"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 420
        banner = ""
        while time.monotonic() < deadline and "Ctrl-C stops both" not in banner:
            assert proc.poll() is None, (tmp_path / "demo.log").read_text()
            time.sleep(0.5)
            banner = (tmp_path / "demo.log").read_text()
        assert f"http://127.0.0.1:{port}/api/v1/docs" in banner and "manager.<STORE>" in banner, banner
        assert (tmp_path / "mendian.sqlite3").exists()
        assert "rollups rebuilt" in banner and "monthly targets" in banner, banner  # dashboards have figures
        assert "tiers created" in banner and "suppliers" in banner and "forecast run" in banner, banner
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=10) as resp:
            assert resp.status == 200 and "paths" in json.load(resp)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/token", method="POST",
                                     data=json.dumps({"username": "hq", "password": "demo"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200 and json.load(resp)["access_token"]
        kids = _children(proc.pid)
        assert len(kids) == 2  # the worker and the gunicorn master
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=90) == 0
        assert "mendian demo stopped." in (tmp_path / "demo.log").read_text()
        time.sleep(0.5)
        for pid in kids:
            assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
