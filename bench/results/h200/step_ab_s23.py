"""Session 23's A/B of one tree (run from its root, the tree on sys.path): the bare decode step
(time_pipelined, graphs as the engine captures them, context 1088) at each batch, median of 5; then offline's
mean mixed step (127 decode rows at context 438 and one 129-token prompt chunk, a mixed graph; time_steps,
synchronous, median of 15), median of 3. Prints one line: label, ms per batch, and "mixed:ms".
step_ab_ef11845.py plus the mixed step and 128 rows."""

import sys

import numpy as np

sys.path.insert(0, "bench")
from common import LLAMA3_8B, config_dir  # noqa: E402
from forward import step_cmd, time_pipelined, time_steps  # noqa: E402

from swiftllm.worker.model_runner import ModelRunner, WorkerConfig  # noqa: E402

label = sys.argv[1]
batches = [int(b) for b in sys.argv[2].split(",")]
ctx = 1088
runner = ModelRunner(
    WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
)
per_seq = -(-ctx // 16) + 2
runner.init_cache(16, max(max(batches), 128) * per_seq + 16, 1, 2048)
vocab = LLAMA3_8B["vocab_size"]
out = []
for b in batches:
    cmd = step_cmd([1] * b, [ctx] * b, [i * per_seq for i in range(b)], vocab)
    for _ in range(3):
        runner.step(cmd)
    out.append(float(np.median([time_pipelined(runner, cmd) for _ in range(5)])))
mixed = step_cmd([1] * 127 + [129], [438] * 127 + [129], [i * per_seq for i in range(128)], vocab)
mixed_ms = float(np.median([time_steps(runner, mixed) for _ in range(3)]))
cells = " ".join(f"{b}:{ms:.3f}" for b, ms in zip(batches, out))
print(f"AB {label:7s} {cells} mixed:{mixed_ms:.3f}", flush=True)
