"""The controller process imports no torch, worker or kernel module: `swiftctl launch` maps no libtorch.

A fresh interpreter imports every controller-side module, builds the parser and the EngineConfig, resolves the
default model (the first-run GGUF import, if this machine has not done it yet) and reads it, as `swiftctl
launch` does before it starts a worker; then nothing of torch, triton or swiftllm's worker may be loaded.
Serving end to end is checked the same way in test_launch.py."""

from __future__ import annotations

import json
import subprocess
import sys

_CHILD = """
import json, pkgutil, sys
from importlib import import_module

import swiftllm
from swiftllm import controller, models, protocol
for package in (controller, models, protocol):
    for module in pkgutil.iter_modules(package.__path__):
        import_module(f"{package.__name__}.{module.name}")
from swiftllm.config import EngineConfig
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.launch import cli
from swiftllm.launch.args import ENGINE_OPTIONS, SERVER_OPTIONS, options_from_args
from swiftllm.model_config import ModelConfig
from swiftllm.models.resolve import resolve_model

args = cli.build_parser().parse_args(["launch", "--port", "0"])
config = EngineConfig(**options_from_args(args, ENGINE_OPTIONS + SERVER_OPTIONS))
model = resolve_model(config.model)
ModelConfig.from_dir(model)
Tokenizer(model)
swiftllm.SamplingParams()
def forbidden(name):
    top_level = name.split(".")[0] in ("torch", "triton")
    return top_level or name.startswith(("swiftllm.worker", "swiftllm.kernels", "swiftllm.llm"))
loaded = [name for name in sys.modules if forbidden(name)]
libtorch = [line.split()[-1] for line in open("/proc/self/maps") if "libtorch" in line]
print(json.dumps({"modules": sorted(loaded), "libtorch": sorted(set(libtorch))}))
"""


def test_controller_side_imports_no_torch() -> None:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=300
    )
    assert child.returncode == 0, child.stderr
    found = json.loads(child.stdout.strip().splitlines()[-1])
    assert found == {"modules": [], "libtorch": []}
