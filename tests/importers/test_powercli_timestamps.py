"""Which culture wrote a Get-Stat file is read from the file itself; ambiguous files are refused, not guessed."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from churnplan.core import store
from churnplan.ingest import powercli
from churnplan.ingest.errors import IngestError

from importers_support import US_FILE, samples_of

HEADER = '"Value","Timestamp","MetricId","Unit","Description","Entity","EntityId","IntervalSecs","Instance"'


def _file(tmp_path: Path, stamps: list[str], values: list[float] | None = None, name: str = "t.csv") -> Path:
    values = values or [10.0] * len(stamps)
    rows = [f'"{v}","{t}","virtualdisk.write.average","KBps","Rate","app01","VirtualMachine-vm-201","300","scsi0:0"'
            for t, v in zip(stamps, values, strict=True)]
    path = tmp_path / name
    path.write_text("\r\n".join([HEADER, *rows]) + "\r\n")
    return path


def _stamps(con) -> list[str]:
    return [s[2] for s in samples_of(con)]


def test_slash_dates_with_a_day_above_12_settle_the_order(con, tmp_path: Path):
    powercli.import_file(con, _file(tmp_path, ["11/10/2026 11:55:00 PM", "11/13/2026 12:00:00 AM"]))
    assert _stamps(con) == ["2026-11-10 23:55:00", "2026-11-13 00:00:00"]


def test_day_first_slash_dates_are_recognised_by_evidence(con, tmp_path: Path):
    powercli.import_file(con, _file(tmp_path, ["11/10/2026 23:55:00", "13/10/2026 00:00:00"]))
    assert _stamps(con) == ["2026-10-11 23:55:00", "2026-10-13 00:00:00"]


@pytest.mark.parametrize("stamps, dayfirst", [
    (["11/1/2026 11:55:00 PM", "11/2/2026 12:00:00 AM"], False),   # en-US, 1-2 November
    (["1/11/2026 23:55:00", "2/11/2026 00:00:00"], True),           # en-GB, the same two samples
])
def test_dates_all_below_13_are_told_apart_by_the_time_they_span(con, tmp_path: Path, stamps, dayfirst):
    """Read the wrong way, dates a day apart would sit a month apart: the file's span decides."""
    result = powercli.import_file(con, _file(tmp_path, stamps))
    assert _stamps(con) == ["2026-11-01 23:55:00", "2026-11-02 00:00:00"]
    assert result.timestamps == ("day/month/year" if dayfirst else "month/day/year") + " (told by the time span)"


def test_ambiguous_slash_dates_are_refused_with_the_way_out(con, tmp_path: Path):
    path = _file(tmp_path, ["11/10/2026 3:15:00 PM", "11/10/2026 3:20:00 PM"])
    with pytest.raises(IngestError) as caught:
        powercli.import_file(con, path)
    assert (caught.value.line, caught.value.field) == (2, "Timestamp")
    assert "ambiguous" in str(caught.value) and "--dayfirst" in str(caught.value)
    assert store.counts(con).samples == 0


@pytest.mark.parametrize("dayfirst, expected", [(True, "2026-10-11 15:15:00"), (False, "2026-11-10 15:15:00")])
def test_dayfirst_option_resolves_ambiguous_dates(con, tmp_path: Path, dayfirst: bool, expected: str):
    powercli.import_file(con, _file(tmp_path, ["11/10/2026 3:15:00 PM"]), dayfirst=dayfirst)
    assert _stamps(con) == [expected]


def test_contradicting_dates_name_both_lines(con, tmp_path: Path):
    path = _file(tmp_path, ["13/10/2026 10:00:00", "11/10/2026 10:05:00", "10/14/2026 10:10:00"])
    with pytest.raises(IngestError) as caught:
        powercli.import_file(con, path)
    assert caught.value.line == 4
    assert "contradicts line 2" in str(caught.value)


def test_mixed_date_styles_are_refused(con, tmp_path: Path):
    path = _file(tmp_path, ["24.11.2026 15:15:00", "2026-11-24T15:20:00Z"])
    with pytest.raises(IngestError, match=r"line 3, field Timestamp: .*written differently from line 2"):
        powercli.import_file(con, path)


def test_date_format_option_reads_any_layout(con, tmp_path: Path):
    powercli.import_file(con, _file(tmp_path, ["2026/24/11 15h15"]), date_format="%Y/%d/%m %Hh%M")
    assert _stamps(con) == ["2026-11-24 15:15:00"]


def test_date_format_that_does_not_fit_names_the_line(con, tmp_path: Path):
    with pytest.raises(IngestError, match=r"line 3, field Timestamp: cannot read timestamp '24.11.2026"):
        powercli.import_file(con, _file(tmp_path, ["2026-11-24 15:15", "24.11.2026 15:20"]),
                             date_format="%Y-%m-%d %H:%M")


CULTURES = {
    "en-US": lambda t: f"{t.month}/{t.day}/{t.year} {(t.hour % 12) or 12}:{t:%M:%S} {'PM' if t.hour >= 12 else 'AM'}",
    "de-DE": lambda t: f"{t:%d.%m.%Y %H:%M:%S}",
    "en-GB": lambda t: f"{t:%d/%m/%Y %H:%M:%S}",
    "ISO": lambda t: t.isoformat(),
}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2025, 12, 1)).map(
           lambda d: d.replace(second=0, microsecond=0)),
       values=st.lists(st.integers(0, 10**7), min_size=1, max_size=8),
       zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]))
def test_every_culture_stores_the_same_samples(tmp_path_factory, start: datetime, values: list[int], zone: str):
    """Whatever culture wrote the file, the stored samples are identical (given the day order when ambiguous)."""
    from zoneinfo import ZoneInfo
    tmp = tmp_path_factory.mktemp("cultures")
    local = [start + timedelta(minutes=5 * i) for i in range(len(values))]
    zone_info = ZoneInfo(zone)
    # clocks never show the hour skipped when DST starts; such times have no single reading
    assume(all(t == t.replace(tzinfo=zone_info).astimezone(ZoneInfo("UTC")).astimezone(zone_info)
               .replace(tzinfo=None) for t in local))
    expected = None
    for culture, fmt in CULTURES.items():
        con = store.connect(":memory:")
        path = _file(tmp, [fmt(t) for t in local], [float(v) for v in values], name=f"{culture}.csv")
        powercli.import_file(con, path, timezone=zone, dayfirst=culture != "en-US")
        got = samples_of(con)
        con.close()
        if expected is None:
            expected = [("vm-201", "scsi0:0",
                         f"{t.replace(tzinfo=ZoneInfo(zone)).astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M:%S}",
                         300, float(v), None, None, None) for t, v in zip(local, values, strict=True)]
            expected.sort(key=lambda s: s[2])
        assert got == expected, culture


def test_the_en_us_fixture_needs_no_hints(con):
    assert powercli.import_file(con, US_FILE).timestamps == "month/day/year"


@pytest.mark.parametrize("newest_first", [False, True])
def test_the_repeated_hour_at_dst_fall_back_becomes_consecutive_utc_samples(con, tmp_path: Path, newest_first):
    """New York falls back at 2:00 EDT on 1 Nov 2026: local 1:00-1:55 AM happen twice, an hour apart."""
    utc = [datetime(2026, 11, 1, 4, 50) + timedelta(minutes=5 * i) for i in range(28)]  # 04:50Z .. 07:05Z
    local = [t - timedelta(hours=4 if t < datetime(2026, 11, 1, 6) else 5) for t in utc]
    stamps = [CULTURES["en-US"](t) for t in local]
    assert len(set(stamps)) == 28 - 12  # twelve local times repeat
    values = list(range(28))
    if newest_first:  # Get-Stat lists the newest sample first
        stamps, values = stamps[::-1], values[::-1]
    powercli.import_file(con, _file(tmp_path, stamps, [float(v) for v in values]), timezone="America/New_York",
                         dayfirst=False)
    assert [(s[2], s[4]) for s in samples_of(con)] == [
        (f"{t:%Y-%m-%d %H:%M:%S}", float(i)) for i, t in enumerate(utc)]


def test_a_third_sample_at_a_repeated_local_time_is_a_duplicate(con, tmp_path: Path):
    stamps = ["11/1/2026 1:30:00 AM"] * 3
    with pytest.raises(IngestError, match=r"line 4, field Timestamp: duplicate row"):
        powercli.import_file(con, _file(tmp_path, stamps), timezone="America/New_York", dayfirst=False)
