"""The project as a user installs it: `python -m build` makes an sdist and a wheel (the wheel from the sdist, so
the sdist must be complete); the wheel goes into a fresh virtual environment, and from a folder outside the
checkout `churnplan demo --no-dashboard` and `churnplan plan` run on the sample estate that ships inside it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import churnplan

pytestmark = pytest.mark.wheel

REPO = Path(__file__).resolve().parents[2]
SAMPLE_FILES = ("vms.parquet", "disks.parquet", "samples_300s.parquet", "samples_20s.parquet", "manifest.json")
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                                    ".hypothesis", "*.duckdb", "*.duckdb.wal", "report")


def run(cmd: list[str], cwd: Path, timeout: float = 300, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run with the caller's environment less anything that would put the checkout on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | extra_env
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (f"{' '.join(cmd)} exited {done.returncode}:\n"
                                  f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sdist and wheel built from a copy of the checkout (so the build leaves nothing in it)."""
    root = tmp_path_factory.mktemp("build")
    src = root / "src"
    shutil.copytree(REPO, src, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "build", "--outdir", str(root / "dist"), str(src)], cwd=root)
    wheels = list((root / "dist").glob("churnplan-*.whl"))
    sdists = list((root / "dist").glob("churnplan-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    return {"wheel": wheels[0], "sdist": sdists[0]}


@pytest.fixture(scope="module")
def installed(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system site-packages) with the wheel and its dependencies; returns its bin/."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile"]
    run([*pip, str(dist["wheel"])], cwd=venv.parent, timeout=600)
    return venv / "bin"


def test_version_comes_from_one_place(dist: dict[str, Path], installed: Path, tmp_path: Path) -> None:
    assert dist["wheel"].name.startswith(f"churnplan-{churnplan.__version__}-")
    assert dist["sdist"].name == f"churnplan-{churnplan.__version__}.tar.gz"
    assert run([str(installed / "churnplan"), "--version"], cwd=tmp_path).stdout.strip() == churnplan.__version__


def test_shell_completion_is_on(installed: Path, tmp_path: Path) -> None:
    # the shell named, not detected from the parent processes (a test run detached from its shell has none)
    script = run([str(installed / "churnplan"), "--show-completion", "bash"], cwd=tmp_path,
                 _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1").stdout
    assert "_CHURNPLAN_COMPLETE=complete_bash" in script


def test_sample_estate_ships_in_both_archives(dist: dict[str, Path]) -> None:
    wheel_names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    assert {f"churnplan/sample_data/{f}" for f in SAMPLE_FILES} <= wheel_names
    assert {"churnplan/templates/report.html.j2", "churnplan/dashboard/app.py"} <= wheel_names
    with tarfile.open(dist["sdist"]) as sdist:
        sdist_names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {f"data/samples/{f}" for f in SAMPLE_FILES} <= sdist_names


def test_installed_wheel_reads_its_own_sample_files(installed: Path, tmp_path: Path) -> None:
    where = run([str(installed / "python"), "-c",
                 "from churnplan.ingest import sample_estate as s; print(s.DEFAULT_DIR)"], cwd=tmp_path).stdout
    sample_dir = Path(where.strip())
    assert sample_dir.is_relative_to(installed.parent) and not sample_dir.is_relative_to(REPO)
    assert all((sample_dir / f).is_file() for f in SAMPLE_FILES)


def test_demo_and_plan_run_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    """The demo's plan on the shipped estate, from a folder that is not the checkout."""
    manifest = json.loads((REPO / "data" / "samples" / "manifest.json").read_text())
    demo = run([str(installed / "churnplan"), "demo", "--no-dashboard", "--db", "demo.duckdb", "--out", "report",
                "--tz", "UTC"], cwd=tmp_path)
    assert "report/churnplan-report.html" in demo.stdout
    run([str(installed / "churnplan"), "plan", "--db", "demo.duckdb", "--out", "plan"], cwd=tmp_path)
    for out in ("report", "plan"):
        summary = json.loads((tmp_path / out / "summary.json").read_text())
        assert summary["vms"] == manifest["rows"]["vms"]
        assert summary["disks"] == manifest["rows"]["disks"]
        assert summary["days_profiled"] == manifest["days"]
    assert (tmp_path / "report" / "churnplan-report.xlsx").stat().st_size > 10_000
