"""The one place units are defined: binary sizes, link rates and time spans, and the conversions between them.

Convention (README "Units and conventions"): churn rates are KiB/s or MiB/s and sizes KiB/MiB/GiB/TiB
(1024-based, as vCenter reports them); link rates are Mbps = 10^6 bit/s. Names carry their unit:
``write_kibps``, ``peak_churn_mibps``, ``churn_gib_day``, ``capacity_gib``, ``required_mbps``.

The helpers take a float or a numpy array (or pandas Series) and return the same kind; each keeps the
arithmetic in one fixed order so figures are reproducible bit for bit.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd

KIB = 1024                      # bytes in a KiB
MIB = 1024 ** 2                 # bytes in a MiB
GIB = 1024 ** 3                 # bytes in a GiB
TIB = 1024 ** 4                 # bytes in a TiB
KIB_PER_MIB = MIB // KIB        # 1,024
KIB_PER_GIB = GIB // KIB        # 1,048,576
MIB_PER_GIB = GIB // MIB        # 1,024
GIB_PER_TIB = TIB // GIB        # 1,024

BITS_PER_BYTE = 8
BYTES_PER_MBPS = 1e6 / BITS_PER_BYTE   # bytes/s carried by 1 Mbps (10^6 bit/s): 125,000

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400
HOURS_PER_WEEK = 168

# The store names columns by the old short units (capacity_gb, memory_mb, write_kbps); they are 1024-based.
# Frames leaving the store for planning or display are renamed to these names at that edge.
STORE_COLUMNS_IN_UNITS = {
    "capacity_gb": "capacity_gib", "provisioned_gb": "provisioned_gib", "used_gb": "used_gib",
    "memory_mb": "memory_mib", "write_kbps": "write_kibps", "read_kbps": "read_kibps",
}

Rate = TypeVar("Rate", float, np.ndarray, pd.Series)


def kibps_to_mibps(kibps: Rate) -> Rate:
    """KiB/s -> MiB/s."""
    return kibps / KIB_PER_MIB


def kibps_to_gib_day(kibps: Rate) -> Rate:
    """A steady KiB/s -> GiB written per day."""
    return kibps * SECONDS_PER_DAY / KIB_PER_GIB


def kibps_to_mbps(kibps: Rate) -> Rate:
    """KiB/s -> link Mbps (10^6 bit/s) needed to carry it."""
    return kibps * (KIB * BITS_PER_BYTE / 1e6)


def gib_day_to_mbps(gib_day: Rate) -> Rate:
    """GiB per day -> the steady link Mbps that carries it."""
    return gib_day * GIB / SECONDS_PER_DAY / BYTES_PER_MBPS


def bytes_to_mib(n_bytes: Rate) -> Rate:
    """Bytes -> MiB."""
    return n_bytes / MIB


def mib_to_gib(mib: Rate) -> Rate:
    """MiB -> GiB."""
    return mib / MIB_PER_GIB


def gib_to_tib(gib: Rate) -> Rate:
    """GiB -> TiB."""
    return gib / GIB_PER_TIB
