"""bench/ holds scripts, not a package: they import each other by bare name (`from workload import ...`), as
running one from bench/ allows. The tests put bench/ on sys.path the same way and load scripts from there."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))


def load_script(name: str, module_name: str | None = None) -> ModuleType:
    """bench/<name>.py, imported by its bare name, or as `module_name` where the bare name is taken
    (tests/controller/serving.py is `serving` to the REST tests)."""
    if module_name is None:
        return importlib.import_module(name)
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, BENCH_DIR / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # before running it: its dataclasses look themselves up
        spec.loader.exec_module(module)
    return sys.modules[module_name]
