"""The one-page "What to buy" comes first in the HTML report and the workbook, with its units and assumptions
block; the HTML shows per-VM results under the given bandwidth, a per-disk target table, the throttle's needed
work-hours rates and its own compliance, and a backlog line unlike the RPO line (#9, findings 7 and 8)."""

from __future__ import annotations

import io
from datetime import time

import openpyxl
import pandas as pd

from churnplan.analytics.model import PlanConfig, ThrottleSchedule
from churnplan.export import buy, charts, excel, html

import tiny_estate


def test_what_to_buy_comes_first_in_the_html(tiny_plan) -> None:
    page = html.render_report(tiny_plan, tz="Europe/Amsterdam")
    headings = [h for h in ("What to buy", "Units and assumptions", "Summary", "Replication lag") if h in page]
    assert headings == ["What to buy", "Units and assumptions", "Summary", "Replication lag"]
    assert page.index("<h2>What to buy</h2>") < page.index("<h2>Summary</h2>") < page.index("<h2>Replication lag")
    for what in ("Link", "Replication appliances (modernized)", "Replica disks by tier", "Cache storage accounts",
                 "Initial replication", "VMs that will miss the RPO", "VMs that cannot be protected",
                 "Azure vCPUs per family", "Monthly cost", "Confidence"):
        assert f"<b>{what}" in page, what
    for unit in ("1024-based", "10^6 bit/s", "Europe/Amsterdam", "Compression", "Data window", "Percentile"):
        assert unit in page, unit
    # web01 is blocked by its 40 TiB data disk: named with the limit it hit
    assert "web01: scsi0:1: data disk 40,960 GiB &gt; 32,768 GiB" in page


def test_html_has_per_vm_results_per_disk_targets_and_a_distinct_backlog(tiny_plan) -> None:
    page = html.render_report(tiny_plan, tz="UTC")
    assert "<th>Fair share compliance (%)</th>" in page or "Fair share compliance" in page
    assert "<h2>Target disks</h2>" in page and "<th>Target tier</th>" in page
    lag = tiny_plan.lag_series[tiny_plan.lag_series["scope"] == "estate"]
    fig = charts.lag_over_time(lag, "UTC", 15.0)
    backlog = next(t for t in fig.data if t.name == "backlog (GiB)")
    assert backlog.fill == "tozeroy" and backlog.line.dash is None and "red" not in str(backlog.line.color)


def test_throttle_shows_needed_rates_and_its_own_compliance() -> None:
    from churnplan.analytics.plan import build_plan

    vms, disks, samples = tiny_estate.frames()
    th = ThrottleSchedule(work_start=time(8), work_end=time(17), work_mbps=1.0, offhours_mbps=5.0)
    p = build_plan(vms, disks, samples, PlanConfig(throttle=th))
    page = html.render_report(p, tz="UTC")
    assert "Work-hours rate needed per goal: 100 %:" in page
    assert f"The schedule itself meets the RPO {p.summary.compliance_pct:.1f} % of the time" in page
    link = buy.what_to_buy(p)[0]
    assert link.what == "Throttle schedule" and f"RPO met {p.summary.compliance_pct:.1f} %" in link.answer
    fig = charts.compliance_curve(p.compliance_curve, p.summary.planned_mbps,
                                  schedule=(p.summary.planned_mbps, p.summary.compliance_pct))
    point = next(t for t in fig.data if t.name == "throttle schedule")
    assert list(point.y) == [p.summary.compliance_pct]


def test_what_to_buy_is_the_first_sheet_of_the_workbook(tiny_plan) -> None:
    data = io.BytesIO()
    excel.write_workbook(tiny_plan, data, tz="UTC")
    book = openpyxl.load_workbook(io.BytesIO(data.getvalue()))
    assert book.sheetnames[0] == "What to buy"
    cells = [c for row in book["What to buy"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "Link" in cells and "Units and assumptions" in cells and "Replica disks by tier" in cells
    assert "Azure VM sizes" in book.sheetnames


def test_the_rows_are_one_frame_for_every_face(tiny_plan) -> None:
    rows = buy.frame(buy.what_to_buy(tiny_plan))
    assert list(rows.columns) == ["what", "answer", "detail"] and rows["what"].iloc[0] == "Link"
    assert isinstance(rows, pd.DataFrame) and rows["answer"].map(bool).all()
