"""How many threads analytics uses for independent scopes and columns (numpy releases the GIL in their inner loops)."""

from __future__ import annotations

import os

WORKERS = min(8, os.cpu_count() or 1)
