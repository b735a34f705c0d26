"""bench/ holds scripts, not a package: they import each other by bare name (`from workload import ...`), as
running one from bench/ allows. The tests put bench/ on sys.path the same way and load scripts from there."""

from __future__ import annotations

import importlib
import importlib.util
import shlex
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from swiftllm.models.gguf_import import ensure_default_model

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def cpu_server(log_path: Path, **env: str) -> Iterator[str]:
    """Our server on the CPU (the embedded SmolLM2, a 0.1 GB cache, 512-token contexts), started the way
    serving.py's --launch starts one, its output in log_path; yields its base URL. env: more variables for
    the server's environment."""
    ensure_default_model()
    serving = load_script("serving", "bench_serving")
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        sys.executable,
        "-m",
        "swiftllm.launch.cli",
        "launch",
        "--port",
        url.rsplit(":", 1)[1],
    ]
    command += ["--kv-cache-memory-gb", "0.1", "--max-model-len", "512"]
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SWIFTLLM_API_KEY", raising=False)
        # one torch thread: on a shared CPU, spinning OpenMP threads made steps 10x slower now and then
        patch.setenv("OMP_NUM_THREADS", "1")
        for name, value in env.items():
            patch.setenv(name, value)
        with serving.launched_server(shlex.join(command), url, log_path, timeout_s=240):
            yield url
