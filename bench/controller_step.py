"""The controller's host work per decode step, with the worker taken out: what the engine loop costs
the CPU at 256, 512 or 1,024 running sequences.

A stand-in worker answers every step at once (a random token per sampling row) after a real msgpack
round trip (the step encoded as `WorkerClient.send_step` encodes it, then the reply encoded and
decoded), so the figure is the engine's own per-step cost: schedule, build the StepCommand, encode it,
decode the reply, fill the sampled tokens, check stop conditions, detokenize. With the tokenizer of
`make_dummy_model.py` (128,256 entries, as the served 8B model has), prefix caching on (the default)
and off.

On the GPU box the engine overlaps this with the device (one step in flight), so it is hidden while it
stays under the GPU step time: compare the figure with `latency.py`'s ms/step at the same batch. No
torch, no GPU: it runs anywhere.

    PYTHONPATH=. python3 bench/controller_step.py [--batches 256,512,1024] [--steps 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from make_dummy_model import make_dummy_model  # noqa: E402
from run_info import RESULTS, git_commit, utc_now  # noqa: E402

from swiftllm.controller.engine import Engine  # noqa: E402
from swiftllm.controller.scheduler import SchedulerConfig  # noqa: E402
from swiftllm.controller.tokenizer import Tokenizer  # noqa: E402
from swiftllm.model_config import ModelConfig  # noqa: E402
from swiftllm.protocol import codec  # noqa: E402
from swiftllm.protocol.step import STEP_ARRAYS, StepCommand, StepResult, i32  # noqa: E402
from swiftllm.sampling_params import SamplingParams  # noqa: E402

PROMPT_LEN = 1024  # latency.py's prompts
TOKEN_BUDGET = 16384


class InstantWorker:
    """Answers each step at once, through the same codec calls the socket path makes."""

    def __init__(self, vocab_size: int, seed: int) -> None:
        self.sent: list[StepCommand] = []
        self.rng = np.random.default_rng(seed)
        self.vocab_size = vocab_size

    def send_step(self, cmd: StepCommand) -> None:
        codec.encode_request("step", 1, 1, **codec.pack_arrays(cmd, STEP_ARRAYS))
        self.sent.append(cmd)

    def recv_step(self) -> StepResult:
        cmd = self.sent.pop(0)
        rows = cmd.seq_ids[cmd.sample.astype(bool)]
        tokens = i32(self.rng.integers(256, self.vocab_size - 256, len(rows)))
        reply = codec.encode_reply(
            1, **codec.result_fields(StepResult(seq_ids=rows, tokens=tokens))
        )
        return codec.decode_result(codec.decode_reply(reply))


@dataclass
class Measured:
    batch: int
    prefix_caching: bool
    steps: int
    cpu_ms_per_step: float  # process CPU time / steps
    wall_ms_median: float  # median wall time of one step
    wall_ms_p90: float


def measure(model_dir: str, batch: int, prefix_caching: bool, steps: int, seed: int) -> Measured:
    model_config = ModelConfig.from_dir(model_dir)
    tokenizer = Tokenizer(model_dir)
    # the first sequences admitted decode while the last ones prefill (16,384 tokens a step): at 1,024
    # sequences that is 64 steps, so each may sample that many more tokens before the timed steps end
    prefill_steps = -(-batch * PROMPT_LEN // TOKEN_BUDGET)
    max_tokens = steps + 64 + prefill_steps
    blocks_per_seq = -(-(PROMPT_LEN + max_tokens) // 16)
    scheduler_config = SchedulerConfig(
        max_model_len=8192,
        num_gpu_blocks=batch * blocks_per_seq,
        num_cpu_blocks=0,
        block_size=16,
        max_num_seqs=batch,
        max_num_batched_tokens=TOKEN_BUDGET,
        enable_prefix_caching=prefix_caching,
        pipeline_stages=1,
        schedule_policy="fcfs",
    )
    worker = InstantWorker(model_config.vocab_size, seed)
    engine = Engine(worker, model_config, tokenizer, scheduler_config, seed=seed)
    rng = np.random.default_rng(seed)
    params = SamplingParams(max_tokens=max_tokens, temperature=0.0, ignore_eos=True)
    seqs = []
    for _ in range(batch):
        prompt = rng.integers(256, model_config.vocab_size - 256, PROMPT_LEN).tolist()
        seqs.append(engine.add_request(prompt, params))
    # every prompt prefilled: decode only from here
    while any(seq.num_outputs == 0 for seq in seqs):
        engine.step()
    for _ in range(8):
        engine.step()
    wall: list[float] = []
    cpu_start = time.process_time()
    for _ in range(steps):
        start = time.perf_counter()
        engine.step()
        wall.append((time.perf_counter() - start) * 1e3)
    cpu_ms = (time.process_time() - cpu_start) / steps * 1e3
    assert all(not seq.finished for seq in seqs), "a sequence ended inside the timed steps"
    wall.sort()
    return Measured(
        batch=batch,
        prefix_caching=prefix_caching,
        steps=steps,
        cpu_ms_per_step=cpu_ms,
        wall_ms_median=statistics.median(wall),
        wall_ms_p90=wall[int(0.9 * (len(wall) - 1))],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", default="256,512,1024")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", help="a make_dummy_model.py dir (default: build one)")
    args = parser.parse_args()
    model_dir = args.model_dir
    if model_dir is None:
        model_dir = tempfile.mkdtemp(prefix="swiftllm-controller-step-")
        print(f"building the 128,256-entry tokenizer in {model_dir} ...", flush=True)
        make_dummy_model(Path(model_dir), "llama3-8b")
    rows: list[Measured] = []
    for batch in [int(value) for value in args.batches.split(",")]:
        for prefix_caching in (True, False):
            print(f"batch {batch}, prefix caching {prefix_caching} ...", flush=True)
            rows.append(measure(model_dir, batch, prefix_caching, args.steps, args.seed))
    host = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "date": utc_now(),
        "commit": git_commit(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "controller_step.json"
    path.write_text(json.dumps({"host": host, "rows": [vars(row) for row in rows]}, indent=1))
    print(
        f"\ncontroller host work per decode step, commit {host['commit']}, {host['cpu_count']} CPUs"
    )
    print(
        f"{'batch':>6} {'prefix cache':>13} {'CPU ms/step':>12} {'wall median':>12} {'wall p90':>9}"
    )
    for row in rows:
        caching = "on" if row.prefix_caching else "off"
        print(
            f"{row.batch:>6} {caching:>13} {row.cpu_ms_per_step:>12.2f} "
            f"{row.wall_ms_median:>12.2f} {row.wall_ms_p90:>9.2f}"
        )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
