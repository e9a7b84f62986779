"""A running collector's status file: what `churnplan status` reads without touching the store's lock.

One JSON file per collector process in the spool's `_status` folder, rewritten atomically after every poll,
drain attempt and vCenter wait, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

from churnplan.ingest.spool import write_atomically

STATUS_FOLDER = "_status"
KEEP_ERRORS = 5


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StatusFile:
    """The status of this collector process, saved to `<spool>/_status/<id>.json` on every change."""

    def __init__(self, spool_root: Path, store: Path | None, vcenters: list[str]) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.path = Path(spool_root) / STATUS_FOLDER / f"collector-{self.id}.json"
        self.data: dict[str, Any] = {
            "id": self.id, "pid": os.getpid(), "host": socket.gethostname(), "started": _now(), "updated": _now(),
            "state": "running", "store": str(store) if store else None, "spool": str(spool_root),
            "store_state": "ok" if store else "no store (spool only)", "waiting_since": None, "pending_files": 0,
            "vcenters": {v: {"state": "starting", "run_id": None, "polls": 0, "last_poll": None,
                             "newest_sample": None, "samples_spooled": 0, "samples_stored": 0, "errors": []}
                         for v in vcenters},
        }

    def vcenter(self, name: str) -> dict[str, Any]:
        return self.data["vcenters"][name]

    def error(self, name: str, message: str) -> None:
        """Remember one of the last few errors of a vCenter, with its time."""
        errors = self.vcenter(name)["errors"]
        errors.append(f"{_now()} {message}")
        del errors[:-KEEP_ERRORS]

    def save(self) -> None:
        self.data["updated"] = _now()
        text = json.dumps(self.data, indent=1, default=str)
        write_atomically(self.path, lambda temp: temp.write_text(text, encoding="utf-8"))


def read_statuses(spool_root: Path) -> Iterator[dict[str, Any]]:
    """Every collector status file in a spool, newest update first; unreadable files are skipped."""
    found = []
    for path in (Path(spool_root) / STATUS_FOLDER).glob("collector-*.json"):
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    yield from sorted(found, key=lambda s: s.get("updated") or "", reverse=True)


def process_alive(status: dict[str, Any]) -> bool | None:
    """Whether the collector that wrote `status` still runs (None when it ran on another machine)."""
    if status.get("host") != socket.gethostname():
        return None
    try:
        os.kill(int(status["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
