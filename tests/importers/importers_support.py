"""Paths of the hand-made importer fixtures and small readers of what a store holds."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
US_FILE = DATA / "getstat_en-US_type.csv"        # '#TYPE' line, en-US timestamps, KBps and MBps
DE_FILE = DATA / "getstat_de-DE_notype.csv"      # no '#TYPE', de-DE timestamps and decimal commas, 20 s
RVTOOLS_CSV = (DATA / "rvtools_tabvInfo.csv", DATA / "rvtools_tabvDisk.csv")


def samples_of(con) -> list[tuple]:
    """Stored samples as tuples (vm_id, instance, ts, interval_s, write_kbps, read_kbps, write_iops, read_iops)."""
    return con.execute(
        """SELECT vm_id, instance, strftime(ts, '%Y-%m-%d %H:%M:%S'), interval_s,
                  write_kbps, read_kbps, write_iops, read_iops
           FROM samples ORDER BY vm_id, instance, ts""").fetchall()


def runs_of(con) -> list[tuple]:
    return con.execute("SELECT source, status, detail FROM collection_runs ORDER BY started_at").fetchall()
