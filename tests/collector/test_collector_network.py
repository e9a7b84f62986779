"""Network faults: a wrong host or port is one clear line; a vCenter that stops answering is waited for, visibly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, UTC
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from churnplan.cli import app
from churnplan.core import store
from churnplan.ingest.vcenter_perf import aligned_end

REPO = Path(__file__).resolve().parents[2]
ENV = {"CHURNPLAN_VCENTER_PASSWORD": "p", "CHURNPLAN_VCENTER_USER": "u"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("server, port, message", [
    ("127.0.0.1", None, "connection refused; check --server and --port"),
    ("no-such-vcenter.invalid", "443", "no-such-vcenter.invalid:443: host name not found"),
])
def test_a_wrong_host_or_port_is_one_line_naming_the_host(server, port, message, tmp_db):
    port = port or str(_free_port())   # nothing listens there: refused
    result = CliRunner().invoke(app, ["collect", "--server", server, "--port", port, "--db", str(tmp_db), "--once"],
                                env=ENV)
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert message in text and text.startswith(f"error: {server}:")
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2  # one (wrapped) line
    con = store.connect(tmp_db, read_only=True)
    runs = con.execute("SELECT status, detail FROM collection_runs").fetchall()
    con.close()
    assert runs and runs[0][0] == "failed" and message.split(";")[0] in runs[0][1]


class SilentServer:
    """Accepts TCP connections and never says a word: a vCenter hung behind its load balancer."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _status_files(spool: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (spool / "_status").glob("*.json")]


def test_a_vcenter_that_never_answers_is_waited_for_with_backoff_and_a_status(tmp_db):
    server = SilentServer()
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "churnplan", "collect", "--server", "127.0.0.1", "--port",
                             str(server.port), "--db", str(tmp_db), "--call-timeout", "1s", "--once"],
                            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    spool = Path(f"{tmp_db}.spool")
    try:
        deadline, waiting = time.monotonic() + 60, []
        while time.monotonic() < deadline and not waiting:
            time.sleep(0.5)
            waiting = [v for s in _status_files(spool) for v in s["vcenters"].values()
                       if v["state"] == "waiting on vCenter"]
        assert waiting, "the status file never said it waits on vCenter"
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)   # as systemd stops a service
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.close()
    text = " ".join(output.split())
    assert f"no answer from 127.0.0.1:{server.port} within 1 s (waiting on vCenter); logging in again in 1 s" in text
    assert "logging in again in 2 s" in text   # backs off
    assert proc.returncode == 130 and "Traceback" not in output
    assert any("no answer" in e for e in waiting[0]["errors"])
    con = store.connect(tmp_db, read_only=True)
    assert con.execute("SELECT status FROM collection_runs").fetchall() == [("interrupted",)]
    con.close()


@pytest.mark.vcsim
def test_a_stopped_simulator_is_waited_for_and_nothing_is_lost(start_vcsim, collect_cli, tmp_db):
    sim = start_vcsim()
    proc = collect_cli(sim, tmp_db, "--duration", "50s", "--poll", "3s", "--insecure", "--call-timeout", "2s",
                       background=True)
    spool = Path(f"{tmp_db}.spool")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(v["polls"] >= 1 for s in _status_files(spool)
                                                      for v in s["vcenters"].values()):
            time.sleep(0.5)
        time.sleep(1)
        os.kill(sim.process.pid, signal.SIGSTOP)   # hung, not gone: connections open, nothing answers
        time.sleep(25)   # longer than the 20 s between samples, so a poll has something to ask for
        os.kill(sim.process.pid, signal.SIGCONT)
        output, _ = proc.communicate(timeout=180)
    finally:
        if sim.process and sim.process.poll() is None:
            os.kill(sim.process.pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    ended = datetime.now(UTC)
    text = " ".join(output.split())
    assert proc.returncode == 0, output
    assert "within 2 s (waiting on vCenter)" in text and "logged in to 127.0.0.1 again" in text
    con = store.connect(tmp_db, read_only=True)
    samples = con.execute("SELECT vm_id, instance, ts FROM samples WHERE interval_s = 20").df()
    con.close()
    samples["ts"] = pd.to_datetime(samples["ts"]).dt.tz_localize("UTC")
    groups = samples.groupby(["vm_id", "instance"])
    assert len(groups) == 4
    for key, group in groups:
        steps = group["ts"].sort_values().diff().dropna()
        assert (steps == pd.Timedelta(seconds=20)).all(), f"{key}: gap or duplicate in the 20 s series"
        assert group["ts"].max() >= aligned_end(ended, 20) - pd.Timedelta(seconds=60)
