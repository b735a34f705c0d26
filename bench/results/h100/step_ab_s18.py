"""Bare decode step (time_pipelined, graphs as the engine captures them) at several batches, context 1088:
the tree on sys.path (run from its root). Prints one line: label and ms per batch (median of 5)."""

import sys

import numpy as np

sys.path.insert(0, "bench")
from common import LLAMA3_8B, config_dir  # noqa: E402
from forward import step_cmd, time_pipelined  # noqa: E402

from swiftllm.worker.model_runner import ModelRunner, WorkerConfig  # noqa: E402

label = sys.argv[1]
batches = [int(b) for b in sys.argv[2].split(",")]
ctx = 1088
runner = ModelRunner(
    WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
)
per_seq = -(-ctx // 16) + 2
runner.init_cache(16, max(batches) * per_seq + 16, 1, 2048)
out = []
for b in batches:
    cmd = step_cmd([1] * b, [ctx] * b, [i * per_seq for i in range(b)], LLAMA3_8B["vocab_size"])
    for _ in range(3):
        runner.step(cmd)
    out.append(float(np.median([time_pipelined(runner, cmd) for _ in range(5)])))
print(f"AB {label:7s} " + " ".join(f"{b}:{ms:.3f}" for b, ms in zip(batches, out)), flush=True)
