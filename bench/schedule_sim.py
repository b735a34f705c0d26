"""What the scheduler's limits do to offline throughput, without a GPU: the real controller (Engine, Scheduler,
BlockManager) drives a simulated worker whose step time comes from a cost model fitted to the H200.

    PYTHONPATH=. python3 bench/schedule_sim.py [--budgets 16384,8192,4096,2048,1024] [--seqs 512]
                                               [--policies fcfs,longest-first]
                                               [--num-requests N] [--ideal] [--what-if fixed_ms=0.5]

The workload is bench/throughput.py's (bench/sharegpt_like_1000.json, all at once, ignore_eos). For each
(schedule policy, token budget, max running sequences) it runs the whole workload through the engine and
sums the modelled device time of every step: the simulated seconds, the step count, when the longest
request got its first token, and the steps of each kind (prefill, mixed, decode-only by rows: which kernel
paths a change has to move to move the run). A research tool: it answers "which limits would shorten the
run" in seconds, and a GPU run of bench/throughput.py with those limits checks the answer.

The cost model (`StepCostModel`): a step reads every weight once and multiplies its tokens through the linears,
whichever is longer plus `overlap_loss` of the shorter (kernels do not overlap the two perfectly), reads each
row's KV context once (attention, `attention_factor` over copy bandwidth), and pays a fixed `fixed_ms`. Its
defaults were fitted in session 41 (bench/results/cpu/cost_model_refit_s41.py) to session 39's bench/throughput.py
runs of 3cc7228 on the H200, first come first served and longest-first: the engine replays both runs step for
step (2,004 / 1,933 steps against the H200's 2,005 / 1,934), and each step kind's summed device time fits within
3 % (19.33 s against 19.33, 16.09 against 16.03); the weight read and copy bandwidth are held at what those runs
measured, the matmul rate fitted (581 TFLOP/s: the power cap's clock, and the prefill attention the model
leaves out). Held out, through bench/serving_sim.py against the H200: median TPOT at 4 / 8 / 16 req/s 1 / 3 / 6 %
under (4.36 / 4.46 / 4.63 ms against 4.39 / 4.61 / 4.95, session 40), p99 TTFT 28.8 / 30.6 / 30.1 ms against
28.7 / 29.5 / 32.0; all 200 at once 5,297 tok/s first come first served against 5,150-5,164 (+3 %) and 5,965
longest-first against 5,523-5,620 (+6-8 %: its paced steps of ~160 tokens cost more than the model says). The
defaults before (fitted on 2026-12-01 to commit 0161745: 3.63 ms, 676 TFLOP/s, 4.15 TB/s, 0.4, 1.2, 1.0 ms) ran
the current tree's decode steps 7-10 % slow, its first come first served offline run 19.62 s against 19.14 and
its longest-first 17.40 against 16.22; figures in bench/README.md and the performance log from before session 41
were computed with them."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shapes import LLAMA3_8B, parameter_count  # noqa: E402
from workload import DEFAULT_WORKLOAD, WorkloadError, load_workload, random_prompts  # noqa: E402

from swiftllm.controller.engine import Engine  # noqa: E402
from swiftllm.controller.scheduler import (  # noqa: E402
    SCHEDULE_POLICIES,
    SchedulerConfig,
    scheduler_class,
)
from swiftllm.model_config import ModelConfig  # noqa: E402
from swiftllm.protocol.step import StepCommand, StepResult, i32  # noqa: E402
from swiftllm.sampling_params import SamplingParams  # noqa: E402

KV_CACHE_BLOCKS = (
    50_000  # about what the H200 holds for Llama-3-8B at 16 tokens a block (no preemption)
)


@dataclass(frozen=True)
class StepCostModel:
    # every streamed weight once (each layer and the LM head: 15.0 GB) at the copy bandwidth
    weight_read_ms: float = 3.565
    # bf16, sustained under the power cap, and what the model leaves out of a prefill (its attention)
    matmul_flops: float = 581e12
    copy_bandwidth: float = 4.21e12  # bytes per second: the ceiling the fitted runs measured
    overlap_loss: float = 0.0  # share of the shorter of weight read and compute that is not hidden
    attention_factor: float = 1.28  # decode attention's time over its KV bytes at copy bandwidth
    fixed_ms: float = 0.69  # per step: small kernels, launches, sampling

    def step_ms(self, cmd: StepCommand) -> float:
        shape = LLAMA3_8B
        embedding = shape["vocab_size"] * shape["hidden_size"]
        layer_params = parameter_count(shape) - 2 * embedding
        tokens = int(cmd.query_lens.sum())
        sampled = int(cmd.sample.sum())
        flops = 2 * layer_params * tokens + 2 * embedding * sampled
        compute_ms = flops / self.matmul_flops * 1e3
        linears_ms = max(self.weight_read_ms, compute_ms)
        linears_ms += self.overlap_loss * min(self.weight_read_ms, compute_ms)
        head_dim = shape["hidden_size"] // shape["num_attention_heads"]
        kv_heads = shape["num_key_value_heads"]
        kv_bytes_per_token = 2 * shape["num_hidden_layers"] * kv_heads * head_dim * 2
        kv_bytes = int(cmd.context_lens.sum()) * kv_bytes_per_token
        attention_ms = self.attention_factor * kv_bytes / self.copy_bandwidth * 1e3
        return linears_ms + attention_ms + self.fixed_ms


# decode-only steps are counted by rows in these bands (upper bounds): the kernels change path at some of them
# (decode attention's rotary fusion up to backend_triton.FUSED_ROTARY_MAX_ROWS = 128 rows, for one)
DECODE_ROW_BANDS = (1, 32, 128, 256)


def decode_kind_names() -> list[str]:
    """'decode 1-1 rows', 'decode 2-32 rows', ..., 'decode 257+ rows': one name per band, in order."""
    names = []
    low = 1
    for high in DECODE_ROW_BANDS:
        names.append(f"decode {low}-{high} rows")
        low = high + 1
    names.append(f"decode {low}+ rows")
    return names


DECODE_KINDS = decode_kind_names()
STEP_KINDS = ["prefill", "mixed", *DECODE_KINDS]


def step_kind(cmd: StepCommand) -> str:
    """'prefill' (no row decodes), 'mixed', or a decode band's name for a decode-only step (a row of one
    query token counts as decoding: a one-token prompt chunk too)."""
    decoding = int((cmd.query_lens == 1).sum())
    rows = len(cmd.query_lens)
    if decoding == 0:
        return "prefill"
    if decoding < rows:
        return "mixed"
    band = int(
        np.searchsorted(DECODE_ROW_BANDS, rows)
    )  # the first band whose upper bound holds rows
    return DECODE_KINDS[band]


@dataclass
class StepKindTotal:
    steps: int = 0
    ms: float = 0.0


class SimulatedWorker:
    """Answers each step with a token per sampling row; the device clock runs the steps back to back, each
    for its modelled time."""

    def __init__(self, model: StepCostModel) -> None:
        self.model = model
        self.in_flight: list[tuple[StepCommand, float]] = []  # each sent step and when it would end
        self.clock_ms = 0.0  # when the last step sent would end
        self.read_step_end_ms = 0.0  # when the step read back last ended
        self.kinds: dict[str, StepKindTotal] = {}  # steps and modelled time by step_kind

    def send_step(self, cmd: StepCommand) -> None:
        ms = self.model.step_ms(cmd)
        total = self.kinds.setdefault(step_kind(cmd), StepKindTotal())
        total.steps += 1
        total.ms += ms
        self.clock_ms += ms
        self.in_flight.append((cmd, self.clock_ms))

    def recv_step(self) -> StepResult:
        cmd, end_ms = self.in_flight.pop(0)
        self.read_step_end_ms = end_ms
        rows = cmd.seq_ids[cmd.sample.astype(bool)]
        return StepResult(seq_ids=rows, tokens=i32(np.full(len(rows), 1000)))


@dataclass(frozen=True)
class SimulatedRun:
    policy: str
    budget: int
    max_seqs: int
    seconds: float  # modelled device time
    steps: int
    longest_first_token_s: float  # modelled, from the start
    host_s: float  # how long the simulation itself took here
    kinds: dict[str, StepKindTotal]  # steps and modelled time by step_kind


def simulated_engine(
    budget: int, max_seqs: int, model: StepCostModel, policy: str = "fcfs"
) -> tuple[Engine, SimulatedWorker]:
    """Our engine (Llama-3-8B config, the H200's cache, prefix caching on) driving a simulated worker."""
    worker = SimulatedWorker(model)
    scheduler_config = SchedulerConfig(
        max_model_len=8192,
        num_gpu_blocks=KV_CACHE_BLOCKS,
        num_cpu_blocks=0,
        block_size=16,
        max_num_seqs=max_seqs,
        max_num_batched_tokens=budget,
        enable_prefix_caching=True,
        pipeline_stages=1,
        schedule_policy=policy,
    )
    engine = Engine(worker, ModelConfig.from_dict(LLAMA3_8B), None, scheduler_config, seed=0)
    return engine, worker


def positive_int(text: str) -> int:
    """An integer >= 1 (an argparse type): a step budget or a sequence limit of 0 lets no sequence run,
    and a simulation would step forever."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return value


def positive_ints(text: str) -> list[int]:
    """A comma-separated list of integers >= 1 (an argparse type)."""
    return [positive_int(value) for value in text.split(",")]


def add_what_if_flag(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--what-if",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change a StepCostModel field of the fitted model, e.g. fixed_ms=0.5 (repeatable)",
    )


def what_if_model(ap: argparse.ArgumentParser, changes: list[str]) -> StepCostModel:
    """The fitted cost model with --what-if's changes (an unknown field is a usage error)."""
    model = StepCostModel()
    for change in changes:
        name, _, value = change.partition("=")
        if name not in StepCostModel.__dataclass_fields__:
            ap.error(
                f"--what-if: {name!r} is not one of {', '.join(StepCostModel.__dataclass_fields__)}"
            )
        try:  # "fixed_ms" alone or "fixed_ms=fast" was float()'s traceback (session 57's probe)
            model = replace(model, **{name: float(value)})
        except ValueError:
            ap.error(f"--what-if: {change!r} is not FIELD=NUMBER, e.g. fixed_ms=0.5")
    return model


def simulate(
    prompts: list[list[int]],
    output_lens: list[int],
    budget: int,
    max_seqs: int,
    model: StepCostModel,
    policy: str = "fcfs",
) -> SimulatedRun:
    engine, worker = simulated_engine(budget, max_seqs, model, policy)
    longest = int(np.argmax(output_lens))
    seqs = []
    for prompt, output_len in zip(prompts, output_lens):
        params = SamplingParams(max_tokens=output_len, ignore_eos=True, temperature=0.0)
        seqs.append(engine.add_request(prompt, params))
    started = time.perf_counter()
    first_token_ms = None
    steps = 0
    while engine.has_work:
        engine.step()
        steps += 1
        if first_token_ms is None and seqs[longest].num_outputs > 0:
            first_token_ms = worker.read_step_end_ms
    return SimulatedRun(
        policy=policy,
        budget=budget,
        max_seqs=max_seqs,
        seconds=worker.clock_ms / 1e3,
        steps=steps,
        longest_first_token_s=(first_token_ms or 0.0) / 1e3,
        host_s=time.perf_counter() - started,
        kinds=worker.kinds,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--budgets", type=positive_ints, default="16384,8192,4096,2048,1024")
    ap.add_argument("--seqs", type=positive_ints, default="512")
    ap.add_argument(
        "--policies",
        default="fcfs",
        help=f"schedule policies, comma separated ({', '.join(SCHEDULE_POLICIES)}, or module:Class: a "
        "Scheduler subclass on PYTHONPATH, e.g. shortest_prompt_first:ShortestPromptFirst with "
        "examples/ on it)",
    )
    ap.add_argument("--num-requests", type=int, default=None, help="the workload file's first N")
    ap.add_argument(
        "--ideal",
        action="store_true",
        help="also run every pair under roofline kernels: no overlap loss, attention at copy bandwidth, no "
        "fixed cost per step (this workload's floor on this GPU, its serial chains included)",
    )
    add_what_if_flag(ap)
    args = ap.parse_args()
    fitted = what_if_model(ap, args.what_if)
    try:
        requests = load_workload(DEFAULT_WORKLOAD, args.num_requests)
    except WorkloadError as e:
        ap.error(str(e))
    prompts = random_prompts([r.input_len for r in requests], LLAMA3_8B["vocab_size"], seed=0)
    output_lens = [r.output_len for r in requests]
    models = {"fitted": fitted}
    if args.ideal:
        models["roofline"] = StepCostModel(overlap_loss=0.0, attention_factor=1.0, fixed_ms=0.0)
    policies = args.policies.split(",")
    for policy in policies:
        try:
            scheduler_class(policy)  # a built-in policy, or module:Class (a Scheduler subclass)
        except ValueError as e:
            ap.error(f"--policies: {e}")
    runs: list[tuple[str, SimulatedRun]] = []
    for policy in policies:
        for max_seqs in args.seqs:
            for budget in args.budgets:
                for name, model in models.items():
                    run = simulate(prompts, output_lens, budget, max_seqs, model, policy)
                    print(
                        f"{name} {policy} budget {budget}, {max_seqs} seqs: {run.seconds:.2f} s",
                        flush=True,
                    )
                    runs.append((name, run))
    print(f"\n{DEFAULT_WORKLOAD.name} x{len(requests)}, simulated H200 ({models['fitted']})")
    header = (
        f"{'model':>9} {'policy':>13} {'budget':>7} {'max seqs':>9} {'seconds':>8} {'steps':>6}"
    )
    print(f"{header} {'longest 1st tok s':>18}")
    for name, run in runs:
        print(
            f"{name:>9} {run.policy:>13} {run.budget:7d} {run.max_seqs:9d} {run.seconds:8.2f} {run.steps:6d} "
            f"{run.longest_first_token_s:18.2f}"
        )
    print("\nsteps by kind (count, modelled seconds)")
    for name, run in runs:
        kinds = ", ".join(
            f"{kind} {run.kinds[kind].steps} / {run.kinds[kind].ms / 1e3:.2f} s"
            for kind in STEP_KINDS
            if kind in run.kinds
        )
        print(f"{name} {run.policy} budget {run.budget}, {run.max_seqs} seqs: {kinds}")


if __name__ == "__main__":
    main()
