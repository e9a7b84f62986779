"""DuckDB's own memory bounded per connection: it caches scanned pages and keeps temporary tables in memory up
to its limit (default 80 % of RAM), so without a cap a large scan or import grows with the data; with one,
DuckDB spills temporary data to disk beside the store instead. The process's own allocator is told to reuse
freed memory for large arrays (`reuse_freed_memory`), which a block-wise plan allocates once per block."""

from __future__ import annotations

import ctypes
import functools

import duckdb
import numpy as np


def cap_memory(con: duckdb.DuckDBPyConnection, memory_limit: str = "256MB", threads: int | None = None) -> None:
    """Bound DuckDB's own buffer memory (and its threads) on this connection."""
    con.execute(f"SET memory_limit = '{checked_size(memory_limit)}'")  # SET takes no parameters: the size is checked
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")


def checked_size(text: str) -> str:
    """A memory size such as '1GB' or '512MB', checked (SET takes no parameters)."""
    num = text.rstrip("KMGTBkmgtib ")
    unit = text[len(num):].strip().upper()
    if not num.replace(".", "", 1).isdigit() or unit not in {"", "B", "KB", "MB", "GB", "TB", "KIB", "MIB", "GIB"}:
        raise ValueError(f"memory limit must look like 1GB or 512MB, got {text!r}")
    return f"{num}{unit}"


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc mallopt parameters (malloc.h)
_HEAP_REUSE_BYTES = 256 << 20


@functools.cache
def reuse_freed_memory() -> bool:
    """Let glibc's malloc serve large arrays (up to 256 MB) from memory freed earlier in the process instead of
    fresh mmaps: a block-wise plan allocates and frees the same few tens of MB of arrays for every block of
    samples, and each fresh mapping costs a page fault per 4 KiB (about a fifth of the plan's CPU time at
    5,000 VMs). The kept memory is reused, not grown: peak RSS stays that of the largest block's arrays.
    numpy's huge-page advice is switched off with it (_no_huge_page_advice). False where the C library has no
    mallopt (not glibc): nothing changes there. Once per process."""
    try:
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)   # the process's own C library
    except (OSError, TypeError):
        return False
    if mallopt is None:
        return False
    _no_huge_page_advice()
    heap = bool(mallopt(_M_MMAP_THRESHOLD, _HEAP_REUSE_BYTES))
    return heap and bool(mallopt(_M_TRIM_THRESHOLD, 2 * _HEAP_REUSE_BYTES))


def _no_huge_page_advice() -> None:
    """Stop numpy advising the kernel to back its large arrays with huge pages (numpy's
    NUMPY_MADVISE_HUGEPAGE=0, set at run time). Where transparent huge pages are `madvise` with `defrag` on
    madvise (a common default), each advised fault may stall while the kernel compacts memory for a 2 MiB page:
    a quarter of the plan's system time at 5,000 VMs, for arrays that are reused block after block anyway."""
    advise = getattr(getattr(np, "_core", np).multiarray, "_set_madvise_hugepage", None)   # numpy's own switch
    if advise is not None:
        advise(False)
