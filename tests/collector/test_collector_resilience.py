"""A collection that never dies of a reader or a kill: the lock test and the SIGKILL loop against vcsim.

CHURNPLAN_LOCK_TEST_S sets how long the reader holds the store (CI default 45 s; the issue's 5 minutes,
300, is run by hand: `CHURNPLAN_LOCK_TEST_S=300 pytest tests/collector -k reader_holding`).
CHURNPLAN_KILL_TEST_N sets how many times the collector is killed (default 8).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from churnplan.core import store
from churnplan.ingest.spool import Spool
from churnplan.ingest.vcenter_perf import aligned_end

pytestmark = pytest.mark.vcsim

REPO = Path(__file__).resolve().parents[2]
LOCK_S = float(os.environ.get("CHURNPLAN_LOCK_TEST_S", "45"))
KILLS = int(os.environ.get("CHURNPLAN_KILL_TEST_N", "8"))
KEY = ["vm_id", "instance", "interval_s", "ts"]

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SELECT count(*) FROM samples").fetchall()
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""



def _assert_complete_series(samples: pd.DataFrame, disks: int, ended: datetime) -> None:
    """Every disk's 20 s series runs without a gap or a repeat up to (nearly) the end of the collection."""
    assert not samples.duplicated(KEY).any(), "a sample is stored twice"
    ts = pd.to_datetime(samples["ts"])
    samples = samples.assign(ts=ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts)
    groups = samples[samples["interval_s"] == 20].groupby(["vm_id", "instance"])
    assert len(groups) == disks
    for key, group in groups:
        steps = group["ts"].sort_values().diff().dropna()
        assert (steps == pd.Timedelta(seconds=20)).all(), f"{key}: a gap in the 20 s series (a lost sample)"
        assert group["ts"].max() >= aligned_end(ended, 20) - timedelta(seconds=60), f"{key}: stopped early"


def _status(db: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "churnplan", "status", "--db", str(db)], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "250"})
    return " ".join((done.stdout + done.stderr).split())


def test_a_reader_holding_the_store_never_stops_a_collection(start_vcsim, collect_cli, tmp_db, query):
    sim = start_vcsim()
    store.connect(tmp_db).close()
    reader = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_db), str(LOCK_S)], stdout=subprocess.PIPE,
                              text=True)
    proc = None
    try:
        assert reader.stdout.readline().strip() == "holding"
        proc = collect_cli(sim, tmp_db, "--duration", f"{LOCK_S + 15:g}s", "--poll", "5s", "--insecure",
                           "--drain-wait", "2m", background=True)
        deadline, status = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "waiting on the store lock" not in status:
            time.sleep(2)
            status = _status(tmp_db)
        assert "waiting on the store lock" in status, status   # `churnplan status` tells it waits
        assert reader.wait(LOCK_S + 60) == 0
        output, _ = proc.communicate(timeout=LOCK_S + 180)
    finally:
        for p in (reader, proc):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    ended = datetime.now(UTC)
    assert proc.returncode == 0, output
    flat = " ".join(output.split())
    assert "is locked by another process" in flat and "collecting on into the spool" in flat
    assert "free again after" in flat

    samples = query(tmp_db, "SELECT * FROM samples")
    _assert_complete_series(samples, 4, ended)
    runs = query(tmp_db, "SELECT status, samples_added FROM collection_runs")
    assert runs["status"].tolist() == ["ok"] and runs["samples_added"].tolist() == [len(samples)]
    assert not list(Path(f"{tmp_db}.spool").rglob("*.parquet"))   # the private spool is emptied as it drains
    assert "finished" in _status(tmp_db)


def _kill_when_writing(proc: subprocess.Popen, spool: Path, db: Path, limit_s: float) -> bool:
    """SIGKILL `proc` the moment a spool file is being written or the store holds a write-ahead log."""
    wal = Path(f"{db}.wal")
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() or any(spool.rglob(".part-*.tmp")):
            proc.kill()
            return True
        time.sleep(0.001)
    proc.kill()
    return False


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(start_vcsim, collect_cli, tmp_db, tmp_path, query):
    sim = start_vcsim()
    spool = tmp_path / "spool"
    rng = random.Random(20261130)
    during_writes = 0
    for n in range(KILLS):
        proc = collect_cli(sim, tmp_db, "--duration", "1h", "--poll", "2s", "--insecure", "--spool", str(spool),
                           background=True)
        try:
            if n % 2:
                time.sleep(rng.uniform(0.5, 3.0))
                during_writes += _kill_when_writing(proc, spool, tmp_db, 15)
            else:
                time.sleep(rng.uniform(1.0, 8.0))
                proc.kill()
        finally:
            proc.kill()
            proc.wait()
    final = collect_cli(sim, tmp_db, "--once", "--insecure", "--spool", str(spool))
    ended = datetime.now(UTC)
    assert final.returncode == 0, final.output
    print(f"{KILLS} SIGKILLs, {during_writes} of them while a spool file or the store was being written")

    stored = query(tmp_db, "SELECT * FROM samples")
    _assert_complete_series(stored, 4, ended)
    spooled = Spool(spool)
    files = spooled.files("samples")
    table = spooled.read_many(files).to_pandas()
    assert not table.duplicated(KEY).any(), "the spool holds a sample twice"
    assert len(table) == len(stored)   # the spool, as exchange layout, holds exactly what the store holds
    assert all(pq.read_metadata(spool / f.relative).num_rows > 0 for f in files)
    statuses = query(tmp_db, "SELECT status FROM collection_runs")["status"].tolist()
    assert statuses.count("ok") == 1
    shown = subprocess.run([sys.executable, "-m", "churnplan", "status", "--db", str(tmp_db), "--spool", str(spool)],
                           cwd=REPO, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "250"})
    assert "stopped (process gone)" in shown.stdout and "finished" in shown.stdout   # the killed ones, the last


def test_a_site_collector_writes_only_the_spool_and_a_central_store_imports_it(start_vcsim, collect_cli, tmp_path,
                                                                                query):
    sim = start_vcsim()
    spool = tmp_path / "site-spool"
    default_store = REPO / store.DEFAULT_DB   # where a store would go without --db (the collector runs in REPO)
    before = default_store.stat().st_mtime_ns if default_store.exists() else None
    for _ in range(2):   # the second run resumes from the spool's own watermarks
        run = collect_cli(sim, None, "--once", "--insecure", "--spool", str(spool))
        assert run.returncode == 0, run.output
        assert "samples spooled" in run.output and "run (spool only)" in " ".join(run.output.split())
    after = default_store.stat().st_mtime_ns if default_store.exists() else None
    assert before == after and not list(tmp_path.rglob("*.duckdb"))   # no store written anywhere
    spooled = Spool(spool)
    table = spooled.read_many(spooled.files("samples")).to_pandas()
    assert not table.duplicated(KEY).any() and table["vm_id"].nunique() == 4
    assert {f.kind for f in spooled.files()} == {"vcenters", "vms", "disks", "samples"}

    central = tmp_path / "central.duckdb"
    done = subprocess.run([sys.executable, "-m", "churnplan", "import", "parquet", str(spool), "--db", str(central)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    stored = query(central, "SELECT * FROM samples")
    assert len(stored) == len(table)
    assert query(central, "SELECT count(*) AS n FROM vms")["n"][0] == 4
