"""Session 35's A/B of one tree (run from its root, the tree on sys.path, one tree per process): the bare
decode step as the engine pipelines it (time_pipelined: CUDA graphs as captured, context 1088 as latency.py's,
median of 5) at each batch, then two mixed steps (ModelRunner.step, synchronous, median of 3): all-at-once's paced
160-token step (72 decode rows at 364 + an 88-token chunk) and offline's 256-token one (127 at 438 + 129).
Prints one line: label, ms per batch, mixed ms. step_ab_s23.py and mixed_ab_s34.py in one process.
A third argument "decode" skips the mixed steps (call 5)."""

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
cells = []
for b in batches:
    cmd = step_cmd([1] * b, [ctx] * b, [i * per_seq for i in range(b)], vocab)
    for _ in range(3):
        runner.step(cmd)
    ms = float(np.median([time_pipelined(runner, cmd) for _ in range(5)]))
    cells.append(f"{b}:{ms:.3f}")
mixed = {"m160": (72, 364, 88), "m256": (127, 438, 129)}
if sys.argv[3:] == ["decode"]:
    mixed = {}
for name, (decodes, context, chunk) in mixed.items():
    cmd = step_cmd(
        [1] * decodes + [chunk],
        [context] * decodes + [chunk],
        [i * per_seq for i in range(decodes + 1)],
        vocab,
    )
    ms = float(np.median([time_steps(runner, cmd) for _ in range(3)]))
    cells.append(f"{name}:{ms:.3f}")
print(f"AB {label:7s} {' '.join(cells)}", flush=True)
