"""The run lifecycle: one context manager records every run's end; runs of killed processes become 'interrupted'
when the store is next opened, while a live process's run is left alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from churnplan.core import store
from churnplan.core.errors import IngestError
from churnplan.core.store import RunStatus


def _runs(path: Path) -> list[tuple]:
    con = store.connect(path, read_only=True)
    try:
        return con.execute("SELECT source, status, detail, pid, host FROM collection_runs "
                           "ORDER BY started_at").fetchall()
    finally:
        con.close()


def test_a_run_ends_ok_with_what_the_block_recorded(tmp_db: Path) -> None:
    con = store.connect(tmp_db)
    with store.run(con, "powercli", "a.csv") as run:
        run.vms, run.samples_added, run.detail = 3, 12, "12 rows"
    row = con.execute("SELECT status, vms, samples_added, detail, pid, host FROM collection_runs").fetchone()
    assert row == ("ok", 3, 12, "12 rows", os.getpid(), socket.gethostname())


def test_a_failing_run_is_marked_failed_with_the_message_and_the_error_propagates(tmp_db: Path) -> None:
    con = store.connect(tmp_db)
    with pytest.raises(IngestError), store.run(con, "powercli", "a.csv"):
        raise IngestError("a.csv", 3, "Value", "'x' is not a number")
    assert con.execute("SELECT status, detail FROM collection_runs").fetchone() == \
        ("failed", "a.csv, line 3, field Value: 'x' is not a number")


def test_ctrl_c_marks_the_run_interrupted(tmp_db: Path) -> None:
    con = store.connect(tmp_db)
    with pytest.raises(KeyboardInterrupt), store.run(con, "vcenter", "vc"):
        raise KeyboardInterrupt
    assert con.execute("SELECT status FROM collection_runs").fetchone() == (RunStatus.INTERRUPTED,)


def test_a_run_opening_the_store_only_to_record_works_with_a_connector(tmp_db: Path) -> None:
    store.connect(tmp_db).close()
    opened = []

    def connector():
        opened.append(1)
        return _Closing(store.connect(tmp_db))

    with store.run(connector, "vcenter", "vc"):
        pass
    assert len(opened) == 2 and _runs(tmp_db)[0][1] == "ok"


class _Closing:
    def __init__(self, con):
        self.con = con

    def __enter__(self):
        return self.con

    def __exit__(self, *exc):
        self.con.close()


def test_a_killed_process_leaves_running_and_the_next_open_marks_it_interrupted(tmp_db: Path) -> None:
    store.connect(tmp_db).close()
    script = textwrap.dedent(f"""
        import os, signal
        from churnplan.core import store
        con = store.connect({str(tmp_db)!r})
        with store.run(con, "vcenter", "vc"):
            con.execute("CHECKPOINT")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert _runs(tmp_db)[0][1] == "running"  # a reader cannot write, so it leaves the row
    store.connect(tmp_db).close()  # the next writer marks it
    source, status, detail, pid, host = _runs(tmp_db)[0]
    assert (status, host) == ("interrupted", socket.gethostname())
    assert f"process {pid} ended without finishing the run" in detail


def test_a_live_process_run_and_another_host_run_are_not_marked(tmp_db: Path) -> None:
    con = store.connect(tmp_db)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for run_id, pid, host in (("live", sleeper.pid, socket.gethostname()), ("far", 1, "another-host"),
                                  ("mine", os.getpid(), socket.gethostname())):
            con.execute("INSERT INTO collection_runs (run_id, source, started_at, status, pid, host) "
                        "VALUES (?, 'vcenter', now(), 'running', ?, ?)", [run_id, pid, host])
        con.close()
        store.connect(tmp_db).close()
        con = store.connect(tmp_db, read_only=True)
        assert con.execute("SELECT run_id, status FROM collection_runs ORDER BY run_id").fetchall() == \
            [("far", "running"), ("live", "running"), ("mine", "running")]
        con.close()
    finally:
        sleeper.kill()
        sleeper.wait()
    store.connect(tmp_db).close()  # now its process is gone
    con = store.connect(tmp_db, read_only=True)
    assert con.execute("SELECT status FROM collection_runs WHERE run_id = 'live'").fetchone() == ("interrupted",)
    con.close()
