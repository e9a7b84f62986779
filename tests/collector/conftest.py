"""A real vCenter simulator (govmomi's vcsim, built from the Debian Go packages) for the collector's tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
VCSIM_SOURCE = Path(__file__).resolve().parent / "vcsim"
GOCODE = Path("/usr/share/gocode")
USER = "collector"
PASSWORD = "pw-Zq81-never-stored"  # distinctive, so any leak into the store or the logs is found


@pytest.fixture(scope="session")
def vcsim_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulator built once per session; skips cleanly where Go or govmomi's sources are missing."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed (apt install golang-go golang-github-vmware-govmomi-dev)")
    if not (GOCODE / "src/github.com/vmware/govmomi/simulator").is_dir():
        pytest.skip(f"govmomi sources not found under {GOCODE} (apt install golang-github-vmware-govmomi-dev)")
    work = tmp_path_factory.mktemp("vcsim-build")
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": f"{work}:{GOCODE}", "GOFLAGS": ""}
    if "HOME" not in env and "GOCACHE" not in env:
        env["GOCACHE"] = str(work / "cache")
    binary = work / "vcsim"
    build = subprocess.run([go, "build", "-o", str(binary), "."], cwd=VCSIM_SOURCE, env=env,
                           capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        pytest.fail(f"building vcsim failed:\n{build.stderr}")
    return binary


@dataclass
class Vcsim:
    """One running simulator process; `restart` brings a fresh one up on the same port."""

    binary: Path
    args: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    machines: int = 0
    process: subprocess.Popen | None = None
    password: str = PASSWORD

    def start(self) -> Vcsim:
        listen = f"127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(self.binary), "-listen", listen, "-user", USER, "-password", self.password, *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not line or not line[0].strip():
            self.stop()
            raise RuntimeError(f"vcsim did not start on {listen}")
        address, machines = line[0].split()
        self.port, self.machines = int(address.rsplit(":", 1)[1]), int(machines)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def connect(self):
        """A plain pyVmomi login, independent of the collector, to see what the simulator holds."""
        from pyVim.connect import SmartConnect

        return SmartConnect(host=self.host, port=self.port, user=USER, pwd=PASSWORD,
                            disableSslCertValidation=True)


@pytest.fixture
def start_vcsim(vcsim_binary: Path):
    """Factory for private simulators (extra vcsim flags as arguments); all are killed when the test ends."""
    started: list[Vcsim] = []

    def start(*args: str, password: str = PASSWORD) -> Vcsim:
        sim = Vcsim(vcsim_binary, list(args), password=password).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="session")
def vcsim(vcsim_binary: Path):
    """The shared simulator: 4 VMs, maxQueryMetrics 6 (forces split queries), a level-2 300 s history."""
    sim = Vcsim(vcsim_binary, ["-max-query-metrics", "6", "-historical-level", "2"]).start()
    try:
        yield sim
    finally:
        sim.stop()


@dataclass
class CliRun:
    returncode: int
    output: str


def run_collect(sim: Vcsim, db: Path | None, *args: str, password: str = PASSWORD, timeout: float = 120,
                background: bool = False):
    """`churnplan collect` against `sim` in a child process, the password passed only through the environment.

    `db` None: no --db (with --spool, a spool-only site collector)."""
    env = {**os.environ, "CHURNPLAN_VCENTER_PASSWORD": password, "CHURNPLAN_VCENTER_USER": USER,
           "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    cmd = [sys.executable, "-c", "from churnplan.cli import app; app()", "collect", "--server", sim.host,
           "--port", str(sim.port), *(["--db", str(db)] if db is not None else []), *args]
    if background:
        return subprocess.Popen(cmd, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    done = subprocess.run(cmd, env=env, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)
    return CliRun(done.returncode, done.stdout + done.stderr)


@pytest.fixture
def collect_cli():
    """Runs `churnplan collect` as the user would: see run_collect."""
    return run_collect


@pytest.fixture(scope="session")
def vcsim_password() -> str:
    return PASSWORD


def read_query(db: Path, sql: str) -> pd.DataFrame:
    """The result of `sql` on the store at `db`, opened read-only and closed again."""
    from churnplan.core import store

    con = store.connect(db, read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture
def query():
    """Reads a query's result from a store file: see read_query."""
    return read_query
