"""Session 23: longest-first's floor (scheduler.PACED_MIN_TOKENS, patched per run) on schedule_sim.py's
fitted cost model, unpadded and with each step counted at the CUDA graph size the worker runs it at.
Run from the repository root:
    PYTHONPATH=. python3 bench/results/h200/paced_sim_s23.py 256,240,224,208,192
Printed on 2026-12-03 (CPU): unpadded 17.39 / 17.17 / 16.92 / 16.62 / 16.60 s; padded 17.40 / 17.72 / 16.92 / 17.25 /
17.33 s (1,934-1,940 steps). Not run on a GPU: session 16 measured the mixed steps linear at ~20 us a token from
128 to 256 tokens (README, "Pacing in whole quanta"), which this model does not reproduce."""

import dataclasses
import sys

sys.path.insert(0, "bench")
import numpy as np
import schedule_sim as sim
from shapes import LLAMA3_8B
from workload import DEFAULT_WORKLOAD, load_workload, random_prompts

import swiftllm.controller.scheduler as sched
from swiftllm.worker.cuda_graphs import BATCH_SIZES, TOKEN_SIZES

requests = load_workload(DEFAULT_WORKLOAD)
prompts = random_prompts([r.input_len for r in requests], LLAMA3_8B["vocab_size"], seed=0)
outs = [r.output_len for r in requests]


@dataclasses.dataclass(frozen=True)
class Padded(sim.StepCostModel):
    def step_ms(self, cmd):
        tokens = int(cmd.query_lens.sum())
        decode = tokens == len(cmd.query_lens)
        sizes = BATCH_SIZES if decode else TOKEN_SIZES
        padded = next((s for s in sizes if s >= tokens), tokens)
        extra = padded - tokens
        if extra:
            q = np.concatenate([cmd.query_lens, np.ones(extra, cmd.query_lens.dtype)])
            c = np.concatenate([cmd.context_lens, np.zeros(extra, cmd.context_lens.dtype)])
            s = np.concatenate([cmd.sample, np.zeros(extra, cmd.sample.dtype)])
            cmd = dataclasses.replace(cmd, query_lens=q, context_lens=c, sample=s)
        return super().step_ms(cmd)


for name, model in (("unpadded", sim.StepCostModel()), ("padded to graphs", Padded())):
    for m in [int(x) for x in sys.argv[1].split(",")]:
        sched.PACED_MIN_TOKENS = m
        r = sim.simulate(prompts, outs, 16384, 512, model, "longest-first")
        print(f"{name}: PACED_MIN_TOKENS {m}: {r.seconds:.2f} s, {r.steps} steps", flush=True)
