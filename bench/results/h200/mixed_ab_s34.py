"""Session 34's A/B of mixed steps (run from the tree's root, one variant per process): the step as the engine
runs it (ModelRunner.step: the mixed CUDA graph at the padded token count; synchronous, median of 15), median of 3.
Steps: all-at-once's paced step (72 decode rows at context 364 + one 88-token prompt chunk = 160 tokens),
offline's (127 decode rows at 438 + one 129-token chunk = 256), and others at 192 / 224 / 320 / 384 tokens
(call 4 added 320 and 384).
Prints one line: label and ms per step."""

import sys

import numpy as np

sys.path.insert(0, "bench")
from common import LLAMA3_8B, config_dir  # noqa: E402
from forward import step_cmd, time_steps  # noqa: E402

from swiftllm.worker.model_runner import ModelRunner, WorkerConfig  # noqa: E402

label = sys.argv[1]
STEPS = {
    "160": (72, 364, 88),
    "192": (100, 400, 92),
    "224": (110, 420, 114),
    "256": (127, 438, 129),
    "320": (150, 450, 170),
    "384": (180, 450, 204),
}
runner = ModelRunner(
    WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
)
per_seq = -(-600 // 16) + 2
runner.init_cache(16, 200 * per_seq + 16, 1, 2048)
vocab = LLAMA3_8B["vocab_size"]
cells = []
for name, (decodes, ctx, chunk) in STEPS.items():
    cmd = step_cmd(
        [1] * decodes + [chunk],
        [ctx] * decodes + [chunk],
        [i * per_seq for i in range(decodes + 1)],
        vocab,
    )
    ms = float(np.median([time_steps(runner, cmd) for _ in range(3)]))
    cells.append(f"{name}:{ms:.3f}")
print(f"AB {label:7s} {' '.join(cells)}", flush=True)
