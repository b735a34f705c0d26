"""Session 12 experiment: decode attention split rules in the real decode step (graphs re-captured per rule),
bare steps (time_pipelined) at context 1088. Rule (fs, fm, lim): pairs = sequences x KV heads; below lim x SMs
pairs at least 2 splits, want = cdiv(f x SMs, pairs) with f = fs below SMs pairs, fm above."""

import sys
import time

import numpy as np
import torch
import triton

sys.path.insert(0, "bench")
from common import LLAMA3_8B, config_dir  # noqa: E402
from forward import step_cmd, time_pipelined  # noqa: E402

from swiftllm.kernels import decode_attention as da  # noqa: E402
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig  # noqa: E402

RULES = {"base": (2, 2, 2), "s4": (4, 2, 2), "s1": (1, 2, 2), "m4": (2, 4, 2), "ext3": (2, 2, 3)}
shipped = da.decode_params


def rule(fs, fm, lim):
    def params(num_seqs, num_kv_heads, capacity, device):
        sms = torch.cuda.get_device_properties(device).multi_processor_count
        pairs = num_seqs * num_kv_heads
        if pairs >= lim * sms:
            return shipped(num_seqs, num_kv_heads, capacity, device)
        f = fs if pairs < sms else fm
        want = max(2, triton.cdiv(f * sms, pairs))
        return min(triton.next_power_of_2(want), da.MAX_SPLITS), da.MIN_CHUNK

    return params


batches = [int(b) for b in sys.argv[1].split(",")]
ctx = 1088
runner = ModelRunner(
    WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
)
per_seq = -(-ctx // 16) + 2
res = {r: {b: [] for b in batches} for r in RULES}
for rnd in range(2):
    for name in list(RULES) if rnd == 0 else list(reversed(RULES)):
        da.decode_params = rule(*RULES[name])
        t0 = time.perf_counter()
        runner.graphs = None
        torch.cuda.empty_cache()
        runner.init_cache(16, max(batches) * per_seq + 16, 1, 2048)
        for b in batches:
            cmd = step_cmd(
                [1] * b, [ctx] * b, [i * per_seq for i in range(b)], LLAMA3_8B["vocab_size"]
            )
            for _ in range(3):
                runner.step(cmd)
            res[name][b].append(float(np.median([time_pipelined(runner, cmd) for _ in range(3)])))
        print(
            f"round {rnd} {name:5s} init {time.perf_counter() - t0:5.1f} s "
            + " ".join(f"{b}:{res[name][b][-1]:.3f}" for b in batches),
            flush=True,
        )
print(
    "\nsplit rule (splits chosen at 1088 ctx / 2048 capacity), median ms per step (ratio to base)"
)
for name in RULES:
    da.decode_params = rule(*RULES[name])
    chosen = [da.decode_params(b, 8, 2048, torch.device("cuda"))[0] for b in batches]
    cells = " ".join(
        f"{b}:{np.median(res[name][b]):.3f}[s{c}]({np.median(res[name][b]) / np.median(res['base'][b]):.3f})"
        for b, c in zip(batches, chosen)
    )
    print(f"{name:5s} {cells}")
