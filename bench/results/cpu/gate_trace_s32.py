"""Session 32: `swiftctl launch` with Scheduler.backlogged traced, to see how an all-at-once burst reaches the
engine over HTTP. Each call that finds someone waiting (or paces) appends a line to $TRACE
(/tmp/gate_trace.log): monotonic time, call count, waiting sequences and their prompt tokens, running
sequences, the paced budget, and the most remaining outputs among the waiting and among the running.
Run on the CPU against bench/sim_worker.py (its docstring has the commands), with serving.py --launch:

    python3 bench/serving.py --request-rates inf,inf,inf --launch "python3 bench/results/cpu/gate_trace_s32.py \\
        launch --model /tmp/llama3-8b-dummy --worker-addrs tcp://127.0.0.1:5601 --max-num-batched-tokens 16384 \\
        --port 8000 --schedule-policy longest-first\""""

import os
import runpy
import sys
import time

import swiftllm.controller.scheduler as scheduler

LOG = open(os.environ.get("TRACE", "/tmp/gate_trace.log"), "a")  # noqa: SIM115
backlogged = scheduler.Scheduler.backlogged
calls = [0]


def traced(self: scheduler.Scheduler, budget: int) -> bool:
    calls[0] += 1
    paced = backlogged(self, budget)
    if self.waiting or paced:
        tokens = sum(seq.num_uncached for seq in self.waiting)
        wmax = max([scheduler.remaining_outputs(seq) for seq in self.waiting], default=0)
        rmax = max([scheduler.remaining_outputs(seq) for seq in self.running], default=0)
        LOG.write(
            f"{time.monotonic():.4f} call {calls[0]} waiting {len(self.waiting)} tokens {tokens} "
            f"running {len(self.running)} paced {self.paced_tokens} wmax {wmax} rmax {rmax}\n"
        )
        LOG.flush()
    return paced


scheduler.Scheduler.backlogged = traced
sys.argv = ["swiftctl", *sys.argv[1:]]
runpy.run_module("swiftllm.launch.cli", run_name="__main__")
