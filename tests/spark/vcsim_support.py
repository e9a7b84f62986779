"""The collector tests' vCenter simulator and collect runner, loaded once under a name of their own so the
Spark tests share them rather than copy them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "churnplan_tests_collector_conftest"
_PATH = Path(__file__).resolve().parents[1] / "collector" / "conftest.py"

if _NAME in sys.modules:
    collector = sys.modules[_NAME]
else:
    _spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    collector = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = collector
    _spec.loader.exec_module(collector)

vcsim_binary = collector.vcsim_binary
vcsim = collector.vcsim
run_collect = collector.run_collect
