"""Helpers of the reliability tests: a small store holding samples, and ways to tell whether a command changed it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd

from churnplan.core import store


def small_store(path: Path, n: int = 2000) -> Path:
    """A store with two VMs, their disks and `n` 300 s samples each, ending in 2026-11."""
    con = store.connect(path)
    vms = pd.DataFrame([{"vcenter": "vc", "vm_id": f"vm-{i}", "name": f"app{i}"} for i in (1, 2)])
    disks = pd.DataFrame([{"vcenter": "vc", "vm_id": f"vm-{i}", "instance": "scsi0:0", "capacity_gb": 40.0}
                          for i in (1, 2)])
    ts = pd.date_range("2026-11-01", periods=n, freq="300s", tz="UTC")
    samples = pd.concat([pd.DataFrame({"vcenter": "vc", "vm_id": f"vm-{i}", "instance": "scsi0:0", "ts": ts,
                                       "interval_s": 300, "write_kbps": 100.0 * i, "read_kbps": 10.0,
                                       "write_iops": 5.0, "read_iops": 1.0}) for i in (1, 2)])
    with store.transaction(con):
        store.upsert_vms(con, vms)
        store.upsert_disks(con, disks)
        store.insert_samples(con, samples)
    con.close()
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def held(path: Path) -> tuple:
    """What the store holds, runs aside (a failed import rightly records its failure)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("""SELECT (SELECT count(*) FROM vms), (SELECT count(*) FROM disks),
                                     (SELECT count(*) FROM samples), (SELECT sum(write_kbps) FROM samples),
                                     (SELECT count(*) FROM watermarks), (SELECT max(last_ts) FROM watermarks)"""
                           ).fetchone()
    finally:
        con.close()


def one_error_line(output: str) -> str:
    """The single 'error:' line a refused command prints (fails the test when there are more lines)."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


