"""The bundled sample estate: a seeded, reproducible VMware estate with realistic disk churn.

~60 VMs and ~180 disks, 14 days at 300 s plus the last day again at 20 s (whose 15-sample means are
exactly that day's 300 s samples, as vCenter's rollups would be). Churn follows a diurnal and weekly
rhythm with nightly backup and batch windows, log-disk bursts and a slow growth trend. Planted cases:
database VMs whose log/data disks need premium tiers, and VMs that must come out incompatible with ASR
(a 40 TB disk, 70 disks, a VM whose nightly ETL peaks above 54 MB/s).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from churnplan.core import store

SEED = 20261124
GENERATOR_VERSION = 1
VCENTER = "vcsa-sample.corp.example"
START = pd.Timestamp("2026-11-09 00:00", tz="UTC")  # a Monday
DAYS = 14
COARSE_S = 300
FINE_S = 20
SITE_TZ = "Europe/Amsterdam"  # the estate's business hours follow this zone
# The files ship as the churnplan.sample_data package: data/samples/ in a checkout (editable install), the
# package's folder in an installed wheel. A regular package, so its files are a real directory.
DEFAULT_DIR = Path(str(resources.files("churnplan.sample_data")))
FILES = ("vms.parquet", "disks.parquet", "samples_300s.parquet", "samples_20s.parquet")


@dataclass(frozen=True)
class DiskRole:
    """How a kind of disk writes: mean write KBps at a busy hour, I/O size, read/write ratio, bursts."""

    write_kbps: float
    io_kb: float
    read_ratio: float
    batch_kbps: float = 0.0     # extra writes in the nightly batch window (site time)
    batch_hours: tuple[float, float] = (2.0, 4.0)
    backup_read: bool = False   # heavy reads in the nightly backup window (22:00-01:00)
    bursty: bool = False        # log-style bursts at random times


ROLES = {
    "os": DiskRole(60, 8, 1.5, backup_read=True),
    "app": DiskRole(180, 16, 1.2, batch_kbps=400, backup_read=True),
    "web": DiskRole(40, 8, 3.0),
    "file": DiskRole(350, 32, 2.0, batch_kbps=200, backup_read=True),
    "db_data": DiskRole(1400, 8, 2.5, batch_kbps=2500, backup_read=True),
    "db_log": DiskRole(2200, 64, 0.05, batch_kbps=2800, bursty=True),
    "db_temp": DiskRole(900, 64, 1.0, batch_kbps=2500),
    "etl_data": DiskRole(1500, 64, 1.0, batch_kbps=14000, batch_hours=(23.0, 6.0)),
    "mail": DiskRole(45, 32, 1.5, backup_read=True),
    "archive": DiskRole(120, 64, 0.3),
}

# (name prefix, count, data disks as (role, capacity_gb) list, vCPU, memory GB, guest, firmware)
FLEET = [
    ("web", 14, [("web", 60)], 2, 4, "Ubuntu Linux (64-bit)", "bios"),
    ("app", 12, [("app", 300)], 4, 16, "Microsoft Windows Server 2019 (64-bit)", "efi"),
    ("file", 5, [("file", 1024), ("file", 2048)], 4, 8, "Microsoft Windows Server 2016 (64-bit)", "bios"),
    ("sql", 5, [("db_data", 500), ("db_log", 100), ("db_temp", 100)], 8, 64,
     "Microsoft Windows Server 2022 (64-bit)", "efi"),
    ("ora", 3, [("db_data", 1000), ("db_log", 200)], 8, 64, "Oracle Linux 8 (64-bit)", "bios"),
    ("util", 18, [], 2, 4, "Red Hat Enterprise Linux 8 (64-bit)", "bios"),
]
# VMs that must come out incompatible with ASR
PLANTED = [
    ("archive-fs01", [("archive", 40960)], 4, 16, "Microsoft Windows Server 2019 (64-bit)", "bios"),
    ("exch-mbx01", [("mail", 200)] * 69, 16, 128, "Microsoft Windows Server 2019 (64-bit)", "efi"),
    ("dw-etl01", [("etl_data", 2000), ("etl_data", 2000), ("etl_data", 1000)], 16, 128,
     "Microsoft Windows Server 2022 (64-bit)", "efi"),
]


def _inventory(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    vms, disks = [], []
    specs: list[tuple[str, list[tuple[str, int]], int, int, str, str]] = []
    for prefix, count, data, cpu, mem, guest, fw in FLEET:
        for i in range(1, count + 1):
            specs.append((f"{prefix}{i:02d}", list(data), cpu, mem, guest, fw))
    specs.extend((name, list(data), cpu, mem, guest, fw) for name, data, cpu, mem, guest, fw in PLANTED)
    hosts = [f"esx{i:02d}.corp.example" for i in range(1, 9)]
    for n, (name, data, cpu, mem, guest, fw) in enumerate(specs):
        vm_id = f"vm-{1001 + n}"
        host = hosts[n % len(hosts)]
        vms.append(dict(
            vcenter=VCENTER, vm_id=vm_id, uuid=f"4210{n:04x}-0000-4000-8000-{n:012x}", name=name,
            host=host, cluster="Prod-A" if n % len(hosts) < 4 else "Prod-B", guest_os=guest, firmware=fw,
            num_cpu=cpu, memory_mb=mem * 1024, num_nics=2 if name.startswith(("sql", "ora")) else 1,
            power_state="poweredOn"))
        os_gb = 127 if "Windows" in guest else 40
        layout = [("os", os_gb)] + data
        for k, (role, cap) in enumerate(layout):
            bus, unit = divmod(k, 15)  # 15 usable units per SCSI controller (unit 7 is the controller)
            unit = unit + 1 if unit >= 7 else unit
            used = cap * float(rng.uniform(0.35, 0.85))
            disks.append(dict(
                vcenter=VCENTER, vm_id=vm_id, instance=f"scsi{bus}:{unit}",
                label=f"Hard disk {k + 1}", capacity_gb=float(cap), provisioned_gb=float(cap),
                used_gb=round(used, 1), is_os_disk=k == 0, disk_mode="persistent",
                controller="pvscsi" if "Windows" not in guest or role.startswith("db") else "lsilogic-sas",
                role=role))
    return pd.DataFrame(vms), pd.DataFrame(disks)


def _local_clock(ts: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    local = ts.tz_convert(SITE_TZ)
    hours = (local.hour + local.minute / 60 + local.second / 3600).to_numpy(dtype=float)
    return hours, local.day_of_week.to_numpy()


def _window(hours: np.ndarray, start: float, end: float) -> np.ndarray:
    """1.0 inside [start, end) hours of the local day (wrapping midnight), else 0."""
    if start <= end:
        return ((hours >= start) & (hours < end)).astype(float)
    return ((hours >= start) | (hours < end)).astype(float)


def _shapes(ts: pd.DatetimeIndex, interval_s: int, disks: pd.DataFrame,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Write and read KBps, shape (disks, times), for samples ending at `ts`."""
    mid = ts - pd.Timedelta(seconds=interval_s / 2)
    hours, weekday = _local_clock(mid)
    elapsed_days = ((mid - START).total_seconds().to_numpy() / 86400.0)
    diurnal = 0.25 + 0.75 * np.clip(np.sin(np.pi * (hours - 7.0) / 12.0), 0, None) ** 1.5
    weekly = np.where(weekday >= 5, 0.35, 1.0)
    growth = 1.0 + 0.02 * elapsed_days / 7.0  # about 2 % a week
    backup = _window(hours, 22.0, 1.0)
    n_d, n_t = len(disks), len(ts)
    write = np.empty((n_d, n_t))
    read = np.empty((n_d, n_t))
    for i, role_name in enumerate(disks["role"].to_numpy()):
        role = ROLES[role_name]
        scale = rng.lognormal(0.0, 0.35)
        batch = _window(hours, *role.batch_hours)
        level = role.write_kbps * scale * diurnal * weekly * growth + role.batch_kbps * scale * batch
        if role.bursty:
            starts = rng.random(n_t) < (interval_s / 3600.0) * 0.6  # ~0.6 bursts an hour
            length = max(1, int(600 / interval_s))
            bursts = np.convolve(starts.astype(float), np.ones(length), mode="full")[:n_t].clip(0, 1)
            level = level + bursts * role.write_kbps * scale * 2.5
        noise = rng.gamma(4.0, 0.25, n_t)  # mean 1, cv 0.5
        write[i] = level * noise
        rd = write[i] * role.read_ratio * rng.gamma(4.0, 0.25, n_t)
        if role.backup_read:
            rd = rd + backup * 1500.0 * scale  # incremental (CBT) backup reads
        read[i] = rd
    return write, read


def _frames(disks: pd.DataFrame, ts: pd.DatetimeIndex, interval_s: int, write: np.ndarray,
            read: np.ndarray) -> pd.DataFrame:
    n_d, n_t = write.shape
    io_kb = disks["role"].map(lambda r: ROLES[r].io_kb).to_numpy()[:, None]
    read_io_kb = np.where(io_kb >= 32, io_kb, 8.0)
    w = np.rint(write).astype(np.int32)
    r = np.rint(read).astype(np.int32)
    return pd.DataFrame({
        "vm_id": np.repeat(disks["vm_id"].to_numpy(), n_t),
        "instance": np.repeat(disks["instance"].to_numpy(), n_t),
        "ts": np.tile(ts.tz_convert("UTC").tz_localize(None).to_numpy(), n_d),
        "interval_s": np.int32(interval_s),
        "write_kbps": w.ravel(),
        "read_kbps": r.ravel(),
        "write_iops": np.rint(write / io_kb).astype(np.int32).ravel(),
        "read_iops": np.rint(read / read_io_kb).astype(np.int32).ravel(),
    })


def generate(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Build the estate in memory: vms, disks, samples_300s, samples_20s frames (sample ts naive UTC)."""
    rng = np.random.default_rng(seed)
    vms, disks = _inventory(rng)
    coarse_ts = pd.date_range(START + pd.Timedelta(seconds=COARSE_S), periods=DAYS * 86400 // COARSE_S,
                              freq=f"{COARSE_S}s")
    write, read = _shapes(coarse_ts, COARSE_S, disks, rng)
    # The last day at 20 s: finer noise around the 300 s level; then the 300 s samples of that day are
    # replaced by the means of their 15 fine samples so both resolutions agree.
    per = COARSE_S // FINE_S
    fine_n = 86400 // FINE_S
    fine_ts = pd.date_range(START + pd.Timedelta(days=DAYS - 1, seconds=FINE_S), periods=fine_n,
                            freq=f"{FINE_S}s")
    last = slice(len(coarse_ts) - 86400 // COARSE_S, len(coarse_ts))
    fine_w = np.repeat(write[:, last], per, axis=1) * rng.gamma(2.0, 0.5, (len(disks), fine_n))
    fine_r = np.repeat(read[:, last], per, axis=1) * rng.gamma(2.0, 0.5, (len(disks), fine_n))
    fine_w, fine_r = np.rint(fine_w), np.rint(fine_r)
    write[:, last] = fine_w.reshape(len(disks), -1, per).mean(axis=2)
    read[:, last] = fine_r.reshape(len(disks), -1, per).mean(axis=2)
    return {
        "vms": vms,
        "disks": disks.drop(columns="role"),
        "samples_300s": _frames(disks, coarse_ts, COARSE_S, write, read),
        "samples_20s": _frames(disks, fine_ts, FINE_S, fine_w, fine_r),
    }


def write(directory: Path = DEFAULT_DIR, seed: int = SEED) -> list[Path]:
    """Regenerate the estate's Parquet files (and a manifest) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    frames = generate(seed)
    paths = []
    for name, frame in frames.items():
        path = directory / f"{name}.parquet"
        frame.to_parquet(path, index=False, compression="zstd")
        paths.append(path)
    manifest = {
        "generator": "churnplan.ingest.sample_estate", "generator_version": GENERATOR_VERSION, "seed": seed,
        "vcenter": VCENTER, "start_utc": START.isoformat(), "days": DAYS, "site_timezone": SITE_TZ,
        "rows": {name: len(frame) for name, frame in frames.items()},
        "regenerate": "churnplan samples --regenerate",
    }
    manifest_path = directory / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return paths + [manifest_path]


def read(directory: Path = DEFAULT_DIR) -> dict[str, pd.DataFrame]:
    """The bundled estate's frames: from `directory` when its files are there, else generated afresh."""
    if all((directory / f).exists() for f in FILES):
        return {f.removesuffix(".parquet"): pd.read_parquet(directory / f) for f in FILES}
    return generate()


def load_into(con: duckdb.DuckDBPyConnection, directory: Path = DEFAULT_DIR) -> store.Counts:
    """Load the sample estate into a store, idempotently; returns what the store then holds.

    The load leaves a collection_runs row: 'ok', 'failed' (with the error) or 'interrupted'."""
    with store.run(con, "samples", str(directory)) as run:
        frames = read(directory)
        with store.transaction(con):
            store.upsert_vcenter(con, VCENTER, version="8.0.2", stats_level=2)
            store.upsert_vms(con, frames["vms"])
            store.upsert_disks(con, frames["disks"])
            added = 0
            for name in ("samples_300s", "samples_20s"):
                added += store.insert_samples(con, frames[name].assign(vcenter=VCENTER))
        total = sum(len(frames[n]) for n in ("samples_300s", "samples_20s"))
        run.vms, run.disks = len(frames["vms"]), len(frames["disks"])
        run.samples_added, run.samples_skipped = added, total - added
        run.window_start = START.to_pydatetime()
        run.window_end = (START + pd.Timedelta(days=DAYS)).to_pydatetime()
    return store.counts(con)
