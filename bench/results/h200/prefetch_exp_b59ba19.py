"""Session 12 experiment: GEMV L2 prefetch before the PDL wait, and attention launching its successor early.
Variants alternate in one process (graphs re-captured per variant); decode step ms (time_pipelined) at context 1088.
It ran at b59ba19 with the kernel changes of prefetch_experiment_ef11845.diff applied (tried, then reverted;
the diff applies to ef11845 too); without them it sets attributes that nothing reads."""

import sys
import time

import numpy as np
import torch

sys.path.insert(0, "bench")
from common import LLAMA3_8B, ceilings, config_dir  # noqa: E402
from forward import step_cmd, time_pipelined  # noqa: E402

from swiftllm.kernels import decode_attention, gemv  # noqa: E402
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig  # noqa: E402

VARIANTS = {
    "base": (0, False),
    "p1k": (1024, False),
    "p4k": (4096, False),
    "p16k": (16384, False),
    "early": (0, True),
    "p4k+early": (4096, True),
}
batches = (
    [int(x) for x in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 8, 16, 32, 64, 128, 256]
)
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
ctx = 1088
ceil = ceilings()
print(
    f"copy {ceil['copy_bw_Bps'] / 1e12:.2f} TB/s, matmul {ceil['matmul_flops'] / 1e12:.0f} TFLOP/s",
    flush=True,
)
runner = ModelRunner(
    WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
)
per_seq = -(-ctx // 16) + 2
res: dict[str, dict[int, list[float]]] = {v: {b: [] for b in batches} for v in VARIANTS}
for r in range(rounds):
    order = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
    for name in order:
        gemv.PREFETCH_COLUMNS, decode_attention.LAUNCH_NEXT_EARLY = VARIANTS[name]
        t0 = time.perf_counter()
        runner.graphs = None
        torch.cuda.empty_cache()
        runner.init_cache(16, max(batches) * per_seq + 16, 1, 2048)
        t_init = time.perf_counter() - t0
        for b in batches:
            cmd = step_cmd(
                [1] * b, [ctx] * b, [i * per_seq for i in range(b)], LLAMA3_8B["vocab_size"]
            )
            for _ in range(3):
                runner.step(cmd)
            res[name][b].append(float(np.median([time_pipelined(runner, cmd) for _ in range(3)])))
        print(
            f"round {r} {name:10s} init {t_init:5.1f} s  "
            + " ".join(f"{b}:{res[name][b][-1]:.3f}" for b in batches),
            flush=True,
        )
print("\nmedian over rounds, ms/step (ratio to base)")
print(f"{'variant':10s} " + " ".join(f"{b:>14d}" for b in batches))
for name in VARIANTS:
    row = []
    for b in batches:
        ms = float(np.median(res[name][b]))
        row.append(f"{ms:7.3f} ({ms / float(np.median(res['base'][b])):.3f})")
    print(f"{name:10s} " + " ".join(row))
