"""Published ASR and vCenter limits as versioned data, each table with its source.

Sources: Microsoft's Azure Site Recovery documentation (learn.microsoft.com/azure/site-recovery:
"Support matrix for disaster recovery of VMware VMs and physical servers to Azure", "Deployment Planner
for VMware disaster recovery", "Plan capacity and scaling for VMware disaster recovery"), Azure managed
disk types (learn.microsoft.com/azure/virtual-machines/disks-types) and the VMware vSphere documentation.
Units follow churnplan.core.units: the published "KB/MB/GB/TB" are 1024-based (KiB/MiB/GiB/TiB) and
named so here; Mbps are 10^6 bit/s.
"""

from __future__ import annotations

from dataclasses import dataclass

FACTS_VERSION = "2026-11-25"
SOURCE_ASR = "azure-docs articles/site-recovery (ASR Deployment Planner, support matrix, process server sizing)"
SOURCE_VSPHERE = "VMware vSphere documentation (performance counters, statistics levels)"

@dataclass(frozen=True)
class VCenterFacts:
    """vCenter performance-counter facts the collector relies on."""

    realtime_interval_s: int = 20
    realtime_retention_s: int = 3600
    historical_levels: tuple[tuple[int, int], ...] = (  # (interval s, retention s)
        (300, 86_400), (1800, 7 * 86_400), (7200, 30 * 86_400), (86_400, 365 * 86_400))
    max_query_metrics_default: int = 64
    max_query_metrics_newer: int = 256
    disk_counter_min_level: int = 2
    default_statistics_level: int = 1
    source: str = SOURCE_VSPHERE


VCENTER = VCenterFacts()


@dataclass(frozen=True)
class ChurnLimit:
    """Per source disk churn limit for one target tier and average write I/O size band."""

    target: str            # 'standard', 'p10_p15' or 'p20_p50'
    min_io_kib: float       # applies when average write I/O size >= this
    max_mibps: float       # average churn, MiB/s
    max_gib_day: float


# Ordered by target then ascending I/O size; the last row with min_io_kib <= size applies.
CHURN_LIMITS: tuple[ChurnLimit, ...] = (
    ChurnLimit("standard", 0, 2, 168),
    ChurnLimit("p10_p15", 0, 2, 168),
    ChurnLimit("p10_p15", 16, 4, 336),
    ChurnLimit("p10_p15", 32, 8, 672),
    ChurnLimit("p20_p50", 0, 5, 421),
    ChurnLimit("p20_p50", 16, 20, 1684),
)
CHURN_LIMITS_SOURCE = SOURCE_ASR + ": churn limits per source disk"


@dataclass(frozen=True)
class SizeBand:
    """Premium managed disk tier chosen by provisioned size (GiB)."""

    tier: str
    max_gib: float         # inclusive upper bound, as "512-1024 P30; 1025-2048 P40" reads (a 128 GB disk fits
                           # P10's 128 GiB, although the planner text says "<128 GB P10; 128-256 P15")
    iops: int
    mibps: int             # throughput MiB/s


# Size bands from the Deployment Planner; IOPS/throughput are the published premium SSD figures.
SIZE_BANDS: tuple[SizeBand, ...] = (
    SizeBand("P10", 128, 500, 100),
    SizeBand("P15", 256, 1100, 125),
    SizeBand("P20", 512, 2300, 150),
    SizeBand("P30", 1024, 5000, 200),
    SizeBand("P40", 2048, 7500, 250),
    SizeBand("P50", 4095, 7500, 250),
    SizeBand("P60", 8192, 16_000, 500),     # larger tiers: Azure premium SSD published limits
    SizeBand("P70", 16_384, 18_000, 750),
    SizeBand("P80", 32_767, 20_000, 900),
)
SIZE_BANDS_SOURCE = (SOURCE_ASR + ": Yes* size bands (<128 P10 ... 2049-4095 P50); IOPS, MB/s and P60-P80 from "
                     "azure-docs articles/virtual-machines disk-types (premium SSD)")

# Standard disks: per-disk limits the planner assumes (Standard HDD/SSD up to 500 IOPS, 60 MB/s).
STANDARD_DISK_IOPS = 500
STANDARD_DISK_MIBPS = 60
STANDARD_DISK_SOURCE = "azure-docs articles/virtual-machines disk-types (standard HDD: up to 500 IOPS, 60 MB/s)"


@dataclass(frozen=True)
class CompatibilityLimits:
    """Limits beyond which a VM cannot be replicated (or needs Yes*)."""

    disk_iops: float = 7_500
    vm_iops: float = 80_000
    disk_avg_churn_mibps: float = 20
    vm_peak_churn_mibps: float = 54
    disk_write_iops: float = 840
    snapshot_storage_tib: float = 10
    vm_total_size_tib: float = 35
    os_disk_gib_gen1: float = 2_048
    os_disk_gib_gen2: float = 4_095
    max_data_disks: int = 64
    data_disk_min_gib: float = 1
    data_disk_max_gib: float = 32 * 1024
    uefi_secure_boot_supported: bool = False
    process_server_tib_day: float = 2
    source: str = SOURCE_ASR + ": support matrix and planner incompatibility rules"


COMPATIBILITY = CompatibilityLimits()


@dataclass(frozen=True)
class ServerSize:
    """One row of a process-server sizing table."""

    vcpu: int
    ram_gib: int
    cache_gib: int
    max_churn_gib_day: float
    max_machines: int


CONFIG_SERVER_SIZES: tuple[ServerSize, ...] = (
    ServerSize(8, 16, 300, 500, 99),
    ServerSize(12, 18, 600, 1024, 150),
    ServerSize(16, 32, 1024, 2048, 200),
)
SCALE_OUT_PS_SIZES: tuple[ServerSize, ...] = (
    ServerSize(4, 8, 300, 250, 85),
    ServerSize(8, 12, 600, 1024, 150),
    ServerSize(12, 24, 1024, 2048, 225),
)
MODERNIZED_APPLIANCE_SIZES: tuple[ServerSize, ...] = (
    ServerSize(16, 32, 1024, 2048, 200),
)
PROCESS_SERVER_SOURCE = SOURCE_ASR + ": configuration / scale-out process server and replication appliance sizing"
CONFIG_SERVER_MACHINE_GUIDANCE = 650     # add a configuration server above this many VMs
RECOMMENDED_MIN_CACHE_GIB = 600
CACHE_FREE_WARNING_PCT = 30
CACHE_FREE_CRITICAL_PCT = 25
UPLOAD_BACKLOG_WARNING_MIN = 30
UPLOAD_BACKLOG_CRITICAL_MIN = 45

STORAGE_ACCOUNT_IOPS = 20_000
STORAGE_ACCOUNT_SOURCE = SOURCE_ASR + ": standard storage account ~20,000 requests/s"

THROTTLE_MIN_MBPS = 0.512
THROTTLE_MAX_MBPS = 1023.0
THROTTLE_SOURCE = "Set-OBMachineSetting WorkHourBandwidth range 512 Kbps - 1,023 Mbps"

PLANNER_DEFAULTS_SOURCE = SOURCE_ASR + ": Deployment Planner inputs and their defaults"


@dataclass(frozen=True)
class PlannerDefaults:
    """The Deployment Planner's inputs and their defaults."""

    rpo_min: float = 15.0
    growth_pct: float = 30.0
    percentile: float = 95.0
    ir_goal_hours: float = 72.0
    rpo_targets_min: tuple[float, ...] = (15.0, 30.0, 60.0)
    min_profiling_days: int = 7
    best_profiling_days: int = 31
    max_vms_per_planner: int = 1000


PLANNER_DEFAULTS = PlannerDefaults()

ZPLANNER_PERCENTILE = 98.0
ZPLANNER_SOURCE = "Zerto zPlanner: bandwidth = 98th percentile of write Mbps (x 1, 0.5 or 0.3 for compression)"

CRASH_CONSISTENT_INTERVAL_MIN = 5      # SOURCE_ASR: crash-consistent recovery points every 5 min
