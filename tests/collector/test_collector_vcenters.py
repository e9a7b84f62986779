"""Several vCenters in one collection: each with its own password, stored side by side, keyed by vcenter."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from datetime import datetime, UTC
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from churnplan.core import store
from churnplan.ingest.vcenter import CollectOptions, Collector, Server
from churnplan.ingest.vcenter_config import env_name
from churnplan.ingest.vcenter_perf import aligned_end
from churnplan.ingest.vcenter_session import Backoff, CollectorError, Credentials

pytestmark = pytest.mark.vcsim

REPO = Path(__file__).resolve().parents[2]
OTHER_PASSWORD = "second-site-Vv72"


def test_two_vcenters_each_with_its_own_password_land_side_by_side(start_vcsim, tmp_path, vcsim_password):
    first, second = start_vcsim(), start_vcsim(password=OTHER_PASSWORD)
    db = tmp_path / "estate.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNPLAN_VCENTER")}
    env.update({env_name(first.host, first.port): vcsim_password, env_name(second.host, second.port): OTHER_PASSWORD,
                "CHURNPLAN_VCENTER_USER": "collector", "PYTHONPATH": str(REPO), "COLUMNS": "200"})
    names = [f"{first.host}:{first.port}", f"{second.host}:{second.port}"]
    done = subprocess.run([sys.executable, "-m", "churnplan", "collect", "--server", names[0], "--server", names[1],
                           "--once", "--insecure", "--db", str(db), "--timezone", "Europe/Amsterdam"],
                          cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for name in names:
        assert f"{name}: 4 VMs, 4 disks, 1 poll(s)" in output

    con = store.connect(db, read_only=True)
    try:
        per_vcenter = dict(con.execute("SELECT vcenter, count(DISTINCT vm_id) FROM vms GROUP BY ALL").fetchall())
        disks = dict(con.execute(
            "SELECT vcenter, count(DISTINCT vm_id || instance) FROM samples GROUP BY ALL").fetchall())
        runs = sorted(con.execute("SELECT target, status FROM collection_runs").fetchall())
        known = sorted(r[0] for r in con.execute("SELECT vcenter FROM vcenters").fetchall())
        zone = store.estate_timezone(con)
        added = dict(con.execute("SELECT target, samples_added FROM collection_runs").fetchall())
        stored = dict(con.execute("SELECT vcenter, count(*) FROM samples GROUP BY ALL").fetchall())
    finally:
        con.close()
    assert per_vcenter == {names[0]: 4, names[1]: 4} and disks == {names[0]: 4, names[1]: 4}
    assert runs == sorted((n, "ok") for n in names) and known == sorted(names)
    assert added == stored   # each run counts its own vCenter's samples
    assert zone == "Europe/Amsterdam"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert vcsim_password.encode() not in data and OTHER_PASSWORD.encode() not in data, path


def test_a_wrong_password_for_one_vcenter_names_that_vcenter(start_vcsim, tmp_path, vcsim_password):
    first, second = start_vcsim(), start_vcsim(password=OTHER_PASSWORD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNPLAN_VCENTER")}
    env.update({"CHURNPLAN_VCENTER_PASSWORD": vcsim_password, "CHURNPLAN_VCENTER_USER": "collector",
                "PYTHONPATH": str(REPO), "COLUMNS": "200"})
    done = subprocess.run([sys.executable, "-m", "churnplan", "collect", "--server", f"127.0.0.1:{first.port}",
                           "--server", f"127.0.0.1:{second.port}", "--once", "--insecure",
                           "--db", str(tmp_path / "s.duckdb")],
                          cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    flat = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2 and f"127.0.0.1:{second.port}: login refused for user 'collector'" in flat
    assert "Traceback" not in flat


def test_a_vcenter_that_goes_away_does_not_stop_the_others(start_vcsim, tmp_path, vcsim_password):
    staying, leaving = start_vcsim(), start_vcsim()
    db = tmp_path / "estate.duckdb"
    creds = Credentials("collector", vcsim_password)
    options = CollectOptions(servers=[Server(staying.host, staying.port, creds), Server(leaving.host, leaving.port,
                                                                                         creds)],
                             db=db, duration_s=24, poll_s=3, insecure=True, call_timeout_s=2,
                             backoff=Backoff(0.2, 0.5, 3))
    out = io.StringIO()
    collector = Collector(options, Console(file=out, width=200))
    threading.Timer(6, leaving.stop).start()   # the second site's vCenter goes down for good
    with pytest.raises(CollectorError) as failure:
        collector.run()
    ended = datetime.now(UTC)
    gone = f"{leaving.host}:{leaving.port}"
    assert str(failure.value).startswith(f"{gone}: ") and "collected to the end" in str(failure.value)
    assert "the other vCenters go on" in out.getvalue()

    con = store.connect(db, read_only=True)
    runs = dict(con.execute("SELECT target, status FROM collection_runs").fetchall())
    kept = con.execute("SELECT vm_id, instance, ts FROM samples WHERE vcenter = ?",
                       [f"{staying.host}:{staying.port}"]).df()
    con.close()
    assert runs == {f"{staying.host}:{staying.port}": "ok", gone: "failed"}
    kept["ts"] = pd.to_datetime(kept["ts"]).dt.tz_localize("UTC")
    for key, group in kept.groupby(["vm_id", "instance"]):
        assert (group["ts"].sort_values().diff().dropna() == pd.Timedelta(seconds=20)).all(), key
        assert group["ts"].max() >= aligned_end(ended, 20) - pd.Timedelta(seconds=60), key
