"""bench/ is a folder of scripts, not a package: its modules import each other by bare name (`from workload
import ...`), so the tests put it on sys.path, as running a script there does. (bench/serving.py is loaded
under another name by its test: tests/controller/serving.py is `serving` to the REST tests.)"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))
