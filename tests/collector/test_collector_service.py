"""Long collections as a service: the config file, the systemd recipe run against vcsim, `status`, the log file."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from churnplan.cli import app
from churnplan.core import store
from churnplan.ingest.vcenter_config import env_name, load_config, parse_server, password_for, ServerConfig

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
USER = "collector"   # the simulator's user (conftest)


def _toml(settings: dict, servers: list[dict]) -> str:
    """A small TOML writer for the flat settings and [[servers]] tables the collector config uses."""
    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = [f"{k} = {value(v)}" for k, v in settings.items()]
    for server in servers:
        lines += ["", "[[servers]]"] + [f"{k} = {value(v)}" for k, v in server.items()]
    return "\n".join(lines) + "\n"


def _status(*args: str, check: bool = True) -> str:
    done = subprocess.run([sys.executable, "-m", "churnplan", "status", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "250"})
    assert done.returncode == 0 or not check, done.stdout + done.stderr
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", done.stdout).split())   # table rules out, cells in order


def test_the_example_config_reads_as_documented():
    config = load_config(DEPLOY / "collect.example.toml")
    assert [s.vcenter for s in config.servers] == ["vcsa-site1.corp.example", "vcsa-site2.corp.example"]
    assert config.servers[1].vm_names == ["sql01", "sql02", "files01"]
    assert config.settings["poll"] == 900 and config.settings["duration"] == 14 * 86400
    assert all(s.password_file == Path("vcenter.password") for s in config.servers)


@pytest.mark.parametrize("text, message", [
    ('password = "hunter2"\n', "field password: passwords do not belong in the config file"),
    ('[[servers]]\nhost = "vc"\npassword = "x"\n', "field servers[1].password: passwords do not belong"),
    ('pol = "5m"\n', "field pol: unknown setting"),
    ('poll = "5 fortnights"\n', "field poll: '5 fortnights' is not a duration"),
    ('[[servers]]\nport = 443\n', "field servers[1].host: missing"),
    ('poll = "5m"\nduration = \n', "line 2: not valid TOML"),
])
def test_a_bad_config_is_one_line_naming_file_and_setting(tmp_path, text, message):
    config = tmp_path / "collect.toml"
    config.write_text(text)
    result = CliRunner().invoke(app, ["collect", "--config", str(config), "--db", str(tmp_path / "s.duckdb")],
                                env={"CHURNPLAN_VCENTER_PASSWORD": "p", "CHURNPLAN_VCENTER_USER": "u"})
    flat = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{config}" in flat.replace(" ", "") or str(config) in flat
    assert message in flat, flat
    assert not (tmp_path / "s.duckdb").exists()   # refused before anything is written


def test_passwords_come_from_the_credential_file_or_the_per_server_environment(tmp_path):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "vc.password").write_text("from-systemd\n")
    server = ServerConfig("vc-1.corp", 8443, "u", password_file=Path("vc.password"), config_dir=tmp_path)
    assert password_for(server, {"CREDENTIALS_DIRECTORY": str(creds)}, None) == "from-systemd"
    plain = ServerConfig("vc-1.corp", 8443, "u")
    env = {"CHURNPLAN_VCENTER_PASSWORD": "shared", env_name("vc-1.corp"): "host", env_name("vc-1.corp", 8443): "port"}
    assert env_name("vc-1.corp", 8443) == "CHURNPLAN_VCENTER_PASSWORD_VC_1_CORP_8443"
    assert password_for(plain, env, None) == "port"
    del env[env_name("vc-1.corp", 8443)]
    assert password_for(plain, env, None) == "host"
    assert password_for(plain, {"CHURNPLAN_VCENTER_PASSWORD": "shared"}, None) == "shared"
    assert password_for(plain, {}, lambda label: f"typed at: {label}") == "typed at: password for u@vc-1.corp:8443"
    with pytest.raises(ValueError, match="vc-1.corp:8443: no password"):
        password_for(plain, {}, None)


@pytest.mark.parametrize("text, host, port", [("vc", "vc", 443), ("vc:8989", "vc", 8989), ("[::1]:8989", "::1", 8989)])
def test_servers_are_host_or_host_and_port(text, host, port):
    server = parse_server(text, 443)
    assert (server.host, server.port) == (host, port)


@pytest.mark.vcsim
def test_the_service_recipe_collects_from_vcsim_and_status_reports_it(start_vcsim, tmp_path, vcsim_password):
    sim = start_vcsim()
    unit = (DEPLOY / "churnplan-collect.service").read_text()
    exec_start = shlex.split(re.search(r"^ExecStart=(.+)$", unit, re.MULTILINE).group(1))
    credential = re.search(r"^LoadCredential=([^:]+):", unit, re.MULTILINE).group(1)
    assert exec_start[1:3] == ["collect", "--config"] and "Password" not in unit.split("[Service]")[1].split(
        "ExecStart")[0].replace("LoadCredential", "")

    # the example config, adapted to the simulator and to this test's folders
    example = tomllib.loads((DEPLOY / "collect.example.toml").read_text())
    settings = {**{k: v for k, v in example.items() if k != "servers"},
                "db": str(tmp_path / "lib" / "estate.duckdb"), "spool": str(tmp_path / "lib" / "spool"),
                "log_file": str(tmp_path / "log" / "collect.log"), "poll": "4s", "duration": "16s",
                "insecure": True, "user": USER}
    config = tmp_path / "etc" / "collect.toml"
    config.parent.mkdir()
    config.write_text(_toml(settings, [{"host": sim.host, "port": sim.port}]))
    creds = tmp_path / "credentials"   # what systemd's LoadCredential= provides
    creds.mkdir(mode=0o700)
    (creds / credential).write_text(vcsim_password)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNPLAN_VCENTER")}
    env.update(CREDENTIALS_DIRECTORY=str(creds), PYTHONPATH=str(REPO), COLUMNS="200")
    command = [sys.executable, "-m", "churnplan", *exec_start[1:-1], str(config)]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    db, spool = settings["db"], settings["spool"]
    try:
        deadline, running = time.monotonic() + 90, ""
        while time.monotonic() < deadline and proc.poll() is None:
            running = _status("--db", db, "--spool", spool, check=False)   # nothing to show until it starts
            if re.search(r"\(pid \d+\) running \d+ s ago [1-9][\d,]* / ", running):   # polled at least once
                break
            time.sleep(1)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    vcenter = f"{sim.host}:{sim.port}"
    assert re.search(rf"{re.escape(vcenter)} \w+ \(pid \d+\) running \d+ s ago [1-9][\d,]* / ", running), running

    done = _status("--db", db, "--spool", spool)
    con = store.connect(db, read_only=True)
    stored = con.execute("SELECT count(*) FROM samples").fetchone()[0]
    zone = store.estate_timezone(con)
    con.close()
    assert stored > 0 and zone == "Europe/Amsterdam"
    assert re.search(rf"{re.escape(vcenter)} \w+ \(pid \d+\) finished \d+ s ago {stored:,} / {stored:,} ", done), done
    assert re.search(rf"vcenter {re.escape(vcenter)} [\d\-: ]+ ok {stored:,} ", done), done   # the run record
    log = Path(settings["log_file"]).read_text()
    assert f"{vcenter}: 4 VMs, 4 disks" in log and f"{stored:,} samples added" in log
    for path in tmp_path.rglob("*"):
        if path.is_file() and creds not in path.parents:
            assert vcsim_password.encode() not in path.read_bytes(), path


def test_status_without_any_collection_says_so(tmp_path):
    result = CliRunner().invoke(app, ["status", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and "no collection found" in " ".join(result.output.split())
