"""Generated bad input against every importer and every command's options: never a traceback, a refusal is one
line with exit 2, and the store keeps what it held (runs aside: a failed import records its failure)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churnplan.cli import app
from reliability_support import held, one_error_line, small_store

runner = CliRunner()
DATA = Path(__file__).parents[1] / "importers" / "data"
GOOD = {"powercli": DATA / "getstat_en-US_type.csv", "rvtools": DATA / "rvtools_tabvInfo.csv"}
FUZZ = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
IMPORTERS = st.sampled_from(["powercli", "rvtools", "bitbrains"])
ENCODINGS = st.sampled_from(["utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "cp500", "utf-8"])


def _store(tmp_path_factory) -> Path:
    """A private copy of one small filled store (built once per test function)."""
    base = tmp_path_factory.getbasetemp() / "fuzz-master.duckdb"
    if not base.exists():
        small_store(base, n=50)
    path = tmp_path_factory.mktemp("fuzz") / "store.duckdb"
    shutil.copy(base, path)
    return path


def _import(kind: str, path: Path, db: Path):
    return runner.invoke(app, ["import", kind, str(path), "--db", str(db)])


def _refused_cleanly(result, db: Path, before: tuple) -> str:
    assert result.exit_code == 2, result.output
    line = one_error_line(result.output)
    assert len(line) <= 420, line  # input is never echoed back at length
    assert held(db) == before
    return line


@FUZZ
@given(kind=IMPORTERS, data=st.binary(min_size=1, max_size=4000))
def test_random_bytes_are_refused_in_one_line(tmp_path_factory, kind, data) -> None:
    db = _store(tmp_path_factory)
    before = held(db)
    path = db.parent / ("input.csv" if kind != "rvtools" else "vInfo.csv")
    path.write_bytes(b"\xff\xfe\x00" + data if data[:1] == b"\n" else data)
    result = _import(kind, path, db)
    if result.exit_code == 0:  # bytes that happen to form a valid, plausible file may import
        return
    _refused_cleanly(result, db, before)


@FUZZ
@given(kind=st.sampled_from(["powercli", "rvtools"]), cut=st.floats(0.0, 0.999))
def test_truncated_files_import_whole_lines_or_are_refused(tmp_path_factory, kind, cut) -> None:
    db = _store(tmp_path_factory)
    before = held(db)
    data = GOOD[kind].read_bytes()
    path = db.parent / GOOD[kind].name
    path.write_bytes(data[: int(len(data) * cut)])
    result = _import(kind, path, db)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        _refused_cleanly(result, db, before)


@FUZZ
@given(kind=st.sampled_from(["powercli", "rvtools"]), encoding=ENCODINGS)
def test_other_encodings_are_read_or_named(tmp_path_factory, kind, encoding) -> None:
    db = _store(tmp_path_factory)
    before = held(db)
    path = db.parent / GOOD[kind].name
    path.write_bytes(GOOD[kind].read_text(encoding="utf-8").encode(encoding, errors="replace"))
    result = _import(kind, path, db)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        _refused_cleanly(result, db, before)
    elif encoding in ("utf-16-le", "utf-16-be", "utf-32", "cp500"):
        raise AssertionError(f"{encoding} without BOM was imported: {result.output}")


CELLS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=30),
                  st.integers(-10**30, 10**30).map(str), st.sampled_from(["300.5", "1e300", "-0", "NaN", "", "  "]))
DATES = st.one_of(st.datetimes().map(lambda d: d.isoformat() + "Z"), st.text(max_size=25),
                  st.sampled_from(["9999-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "0001-01-01", "2026-02-30"]))


@FUZZ
@given(value=CELLS, ts=DATES, interval=CELLS)
def test_getstat_rows_with_extreme_cells(tmp_path_factory, value, ts, interval) -> None:
    db = _store(tmp_path_factory)
    before = held(db)
    path = db.parent / "getstat.csv"
    def q(cell: str) -> str:
        return cell.replace('"', '""')
    path.write_text('"Value","Timestamp","MetricId","Unit","Entity","EntityId","IntervalSecs","Instance"\n'
                    f'"{q(value)}","{q(ts)}","virtualdisk.write.average","KBps","app01","VirtualMachine-vm-9",'
                    f'"{q(interval)}","scsi0:0"\n', encoding="utf-8")
    result = _import("powercli", path, db)
    if result.exit_code == 0:
        import duckdb

        con = duckdb.connect(str(db), read_only=True)
        row = con.execute("SELECT ts, interval_s, write_kbps FROM samples WHERE vm_id = 'vm-9'").fetchone()
        con.close()
        assert row is not None and math.isfinite(row[2]) and 0 <= row[2] <= 100 * 1024 * 1024
        assert float(interval.strip()) == row[1]  # stored as given: never rounded
        return
    line = _refused_cleanly(result, db, before)
    assert "getstat.csv" in line


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5).map(float),
                    st.sampled_from([0.0, -1.0, 1e308, float("inf"), float("nan")]))
PLAN_NUMBER_OPTIONS = ["--rpo", "--percentile", "--growth", "--bandwidth", "--compression", "--work-mbps",
                       "--offhours-mbps", "--interval"]


def _valid(option: str, text: str) -> bool:
    if option == "--interval" and not text.lstrip("-").isdigit():
        return False  # typer wants a whole number
    x = float(text)
    if not math.isfinite(x):
        return False
    if option == "--percentile":
        return 0 < x <= 100
    if option in ("--growth", "--work-mbps", "--offhours-mbps"):
        return x >= 0
    return x > 0


@FUZZ
@given(option=st.sampled_from(PLAN_NUMBER_OPTIONS), x=NUMBERS, command=st.sampled_from(["plan", "report"]))
def test_plan_options_refuse_bad_numbers_naming_the_option(tmp_path_factory, option, x, command) -> None:
    tmp = tmp_path_factory.mktemp("opts")
    db = tmp / "empty.duckdb"
    runner.invoke(app, ["init", "--db", str(db)])
    value = str(int(x)) if option == "--interval" and math.isfinite(x) and abs(x) < 1e15 else repr(x)
    result = runner.invoke(app, [command, "--db", str(db), "--out", str(tmp / "out"), option, value])
    assert result.exit_code == 2, result.output
    line = one_error_line(result.output)
    if not _valid(option, value):
        assert option in line or "Invalid value" in line, line
    else:  # the value passes; the empty store is what is refused
        assert "no samples to plan from" in line or "throttle" in line, line


@FUZZ
@given(start=st.datetimes(), end=st.datetimes())
def test_start_must_come_before_end(tmp_path_factory, start, end) -> None:
    tmp = tmp_path_factory.mktemp("window")
    db = tmp / "empty.duckdb"
    runner.invoke(app, ["init", "--db", str(db)])
    result = runner.invoke(app, ["plan", "--db", str(db), "--out", str(tmp / "out"),
                                 "--start", start.isoformat(), "--end", end.isoformat()])
    line = one_error_line(result.output)
    assert result.exit_code == 2
    if end <= start:
        assert "--start" in line and "is not before --end" in line
    else:
        assert "no samples to plan from" in line


@FUZZ
@given(port=st.integers(-10**6, 10**6), poll=st.text(max_size=12), duration=st.text(max_size=12))
def test_collect_options_are_refused_before_connecting(tmp_path_factory, port, poll, duration) -> None:
    tmp = tmp_path_factory.mktemp("collect")
    db = tmp / "never.duckdb"
    result = runner.invoke(app, ["collect", "--server", "vc.invalid", "--user", "u", "--db", str(db),
                                 "--port", str(port), "--poll", poll or "0", "--duration", duration or "x"],
                           env={"CHURNPLAN_VCENTER_PASSWORD": "p"})
    assert result.exit_code == 2, result.output
    line = one_error_line(result.output)
    assert any(name in line for name in ("--port", "--poll", "--duration", "vc.invalid")), line


@FUZZ
@given(ir_goal=st.one_of(st.text(max_size=10), st.sampled_from(["0", "0h", "0d", "-1h", "inf", "nan"])),
       out_is_file=st.booleans())
def test_ir_goal_and_out_are_checked(tmp_path_factory, ir_goal, out_is_file) -> None:
    tmp = tmp_path_factory.mktemp("goal")
    db = tmp / "empty.duckdb"
    runner.invoke(app, ["init", "--db", str(db)])
    out = tmp / "out"
    if out_is_file:
        out.write_text("keep me")
    result = runner.invoke(app, ["plan", "--db", str(db), "--out", str(out), "--ir-goal", ir_goal or "0"])
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert "--ir-goal" in line or "--out" in line or "no samples" in line, line
    if out_is_file:
        assert out.read_text() == "keep me"


def _workbook(tmp_path_factory) -> bytes:
    base = tmp_path_factory.getbasetemp() / "fuzz-export.xlsx"
    if not base.exists():
        import pandas as pd

        with pd.ExcelWriter(base) as writer:
            for name in ("vInfo", "vDisk"):
                pd.read_csv(DATA / f"rvtools_tab{name}.csv").to_excel(writer, sheet_name=name, index=False)
    return base.read_bytes()


@FUZZ
@given(cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(0, 255)), max_size=4),
       sheet_xml_cut=st.floats(0.05, 0.95))
def test_damaged_workbooks_are_refused_in_one_line(tmp_path_factory, cut, flips, sheet_xml_cut) -> None:
    import io
    import zipfile

    db = _store(tmp_path_factory)
    before = held(db)
    data = bytearray(_workbook(tmp_path_factory))
    if flips:  # damage the zip itself
        for where, byte in flips:
            data[int(len(data) * where)] = byte
        data = data[: max(1, int(len(data) * cut))]
    else:  # a well-formed zip whose sheet XML is cut short
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as zin, zipfile.ZipFile(out, "w") as zout:
            for item in zin.infolist():
                body = zin.read(item.filename)
                if item.filename.startswith("xl/worksheets/"):
                    body = body[: int(len(body) * sheet_xml_cut)]
                zout.writestr(item, body)
        data = bytearray(out.getvalue())
    path = db.parent / "export.xlsx"
    path.write_bytes(bytes(data))
    result = _import("rvtools", path, db)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        assert "export.xlsx" in _refused_cleanly(result, db, before)
