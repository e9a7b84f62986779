"""A damaged store is refused by every command with one line naming the file and the fault, and is never written."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from churnplan.cli import app
from churnplan.core import store

from reliability_support import one_error_line, sha

runner = CliRunner()
DATA = Path(__file__).parents[1] / "importers" / "data"


def _truncate(path: Path) -> None:
    os.truncate(path, os.path.getsize(path) // 2)


def _bad_version(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = 'v2-beta' WHERE key = 'schema_version'")
    con.close()


def _no_samples_table(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE samples")
    con.close()


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(20_000))


DAMAGE = {
    "truncated": (_truncate, "cut short"),
    "non-integer version": (_bad_version, "schema_version 'v2-beta' is not an integer"),
    "no samples table": (_no_samples_table, "table samples is missing"),
    "random bytes": (_random_bytes, "not a DuckDB database"),
}


def _commands(db: Path, out: Path) -> list[list[str]]:
    return [
        ["init", "--db", str(db)],
        ["plan", "--db", str(db), "--out", str(out)],
        ["report", "--db", str(db), "--out", str(out)],
        ["import", "powercli", str(DATA / "getstat_en-US_type.csv"), "--db", str(db)],
        ["import", "rvtools", *map(str, (DATA / "rvtools_tabvInfo.csv", DATA / "rvtools_tabvDisk.csv")),
         "--db", str(db)],
        ["samples", "--db", str(db)],
        ["collect", "--server", "vc.invalid", "--user", "u", "--once", "--db", str(db)],
    ]


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_every_command_refuses_a_damaged_store_and_leaves_its_bytes(filled_store: Path, tmp_path: Path,
                                                                       damage: str) -> None:
    harm, fault = DAMAGE[damage]
    harm(filled_store)
    before = sha(filled_store)
    for args in _commands(filled_store, tmp_path / "out"):
        result = runner.invoke(app, args, env={"CHURNPLAN_VCENTER_PASSWORD": "p"})
        assert result.exit_code == 2, (args, result.output)
        line = one_error_line(result.output)
        assert str(filled_store) in line and fault in line, (args, line)
        assert sha(filled_store) == before, args
        assert not Path(str(filled_store) + ".wal").exists()
    assert not (tmp_path / "out").exists()


def test_init_reports_a_healthy_store_as_healthy(filled_store: Path) -> None:
    result = runner.invoke(app, ["init", "--db", str(filled_store)])
    assert result.exit_code == 0, result.output
    assert "2 VMs, 2 disks, 4,000 samples" in result.output


def test_a_folder_given_as_the_store_is_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--db", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a folder" in one_error_line(result.output)


def test_a_missing_column_is_named(filled_store: Path) -> None:
    con = duckdb.connect(str(filled_store))
    con.execute("ALTER TABLE disks DROP COLUMN capacity_gb")
    con.close()
    with pytest.raises(store.StoreDamaged, match="table disks lacks column capacity_gb"):
        store.connect(filled_store, read_only=True)


def test_the_length_check_passes_every_healthy_store_it_is_given(tmp_path: Path) -> None:
    """Fresh, small and reopened stores (free blocks at the end need not be on disk) all pass."""
    path = tmp_path / "s.duckdb"
    for _ in range(3):
        con = store.connect(path)
        con.execute("CHECKPOINT")
        con.close()
    store.connect(path, read_only=True).close()
