"""Session 41 (CPU only): refit bench/schedule_sim.py's StepCostModel to the current tree's step kinds.

The defaults were fitted on 2026-12-01 (commit 0161745); the decode step has since become 8-10 % faster, and the
model's first come first served all at once ran ~6 % under the H200 (fcfs_pacing_s41.py). This fits it again to
session 39's bench/throughput.py runs of 3cc7228 (the current tree's kernels), greedy: first come first served
(call 1) and longest-first (call 3), each step kind's device seconds.

The simulated engine replays those runs step for step (the same step counts: an offline run's schedule does not
depend on step times), so every step's own rows, prefill tokens and contexts enter the fit, not a kind's mean.
Held at what the runs measured: the copy ceiling (4.21 TB/s) and so the weight read (every layer and the LM head,
7.5e9 bf16 parameters, 15.0 GB). Fitted: the matmul rate (a grid) and, by least squares on each kind's summed
seconds, the overlap loss, attention factor and fixed cost.

    PYTHONPATH=. python3 bench/results/cpu/cost_model_refit_s41.py
"""

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BENCH))

from schedule_sim import LLAMA3_8B, StepCostModel, simulated_engine  # noqa: E402
from workload import DEFAULT_WORKLOAD, load_workload, random_prompts  # noqa: E402

from swiftllm.protocol.step import StepCommand  # noqa: E402
from swiftllm.sampling_params import SamplingParams  # noqa: E402

COPY_BANDWIDTH = 4.21e12
PHYSICAL = {"copy_bandwidth": COPY_BANDWIDTH, "weight_read_ms": 15.01e9 / COPY_BANDWIDTH * 1e3}
RUNS = {
    "fcfs": "throughput_s39_call1_fcfs_3cc7228.json",
    "longest-first": "throughput_s39_call3_longest-first_t0_3cc7228.json",
}
# bench/throughput.py's STEP_KINDS, on (decode rows, prefill tokens)
STEP_KINDS: tuple[tuple[str, Callable[[int, int], bool]], ...] = (
    ("prefill only", lambda rows, prefill: rows == 0),
    ("mixed, <= 512 tokens", lambda rows, prefill: prefill > 0 and rows + prefill <= 512),
    ("mixed, > 512 tokens", lambda rows, prefill: prefill > 0 and rows + prefill > 512),
    ("decode, < 64 rows", lambda rows, prefill: prefill == 0 and 0 < rows < 64),
    ("decode, 64-255 rows", lambda rows, prefill: prefill == 0 and 64 <= rows < 256),
    ("decode, >= 256 rows", lambda rows, prefill: prefill == 0 and rows >= 256),
)


def kind_of(cmd: StepCommand) -> str:
    rows = int((cmd.query_lens == 1).sum())
    prefill = int(cmd.query_lens[cmd.query_lens > 1].sum())
    return next(name for name, belongs in STEP_KINDS if belongs(rows, prefill))


def replayed_steps(policy: str) -> list[StepCommand]:
    """Every step the engine sends for the 1000-request workload, all at once (as throughput.py runs it)."""
    engine, worker = simulated_engine(16384, 512, StepCostModel(), policy)
    requests = load_workload(DEFAULT_WORKLOAD, 1000)
    prompts = random_prompts([r.input_len for r in requests], LLAMA3_8B["vocab_size"], seed=0)
    for prompt, request in zip(prompts, requests):
        params = SamplingParams(max_tokens=request.output_len, ignore_eos=True, temperature=0.0)
        engine.add_request(prompt, params)
    sent: list[StepCommand] = []
    send = worker.send_step

    def recording_send(cmd: StepCommand) -> None:
        sent.append(cmd)
        send(cmd)

    worker.send_step = recording_send
    while engine.has_work:
        engine.step()
    return sent


def terms(model: StepCostModel, cmd: StepCommand) -> np.ndarray:
    """The step's time as [max(read, compute), min(read, compute), KV read at copy bandwidth, 1]: the model is
    the first plus the others weighted by overlap_loss, attention_factor and fixed_ms."""
    zero = replace(model, overlap_loss=0.0, attention_factor=0.0, fixed_ms=0.0)
    bigger = zero.step_ms(cmd)
    smaller = replace(zero, overlap_loss=1.0).step_ms(cmd) - bigger
    kv = replace(zero, attention_factor=1.0).step_ms(cmd) - bigger
    return np.array([bigger, smaller, kv, 1.0])


def main() -> None:
    measured: dict[tuple[str, str], tuple[int, float]] = {}  # (policy, kind) -> (steps, device s)
    steps_of: dict[str, list[StepCommand]] = {}
    for policy, name in RUNS.items():
        run = json.loads((BENCH / "results" / "h200" / name).read_text())["runs"][0]
        for kind in run["step_kinds"]:
            measured[policy, kind["kind"]] = (kind["steps"], kind["gpu_s"])
        steps_of[policy] = replayed_steps(policy)
        print(f"{policy}: H200 {run['steps']} steps, replayed {len(steps_of[policy])}")
    keys = sorted(measured)
    seconds = np.array([measured[key][1] for key in keys])
    best = None
    for rate in np.arange(560e12, 800e12, 1e12):
        model = replace(StepCostModel(), matmul_flops=float(rate), **PHYSICAL)
        sums = {key: np.zeros(4) for key in keys}
        for policy, cmds in steps_of.items():
            for cmd in cmds:
                sums[policy, kind_of(cmd)] += terms(model, cmd) / 1e3
        matrix = np.array([sums[key] for key in keys])
        coef, *_ = np.linalg.lstsq(matrix[:, 1:], seconds - matrix[:, 0], rcond=None)
        if (
            coef[0] < 0
        ):  # no overlap loss (the least squares asked for a small gain): fit the other two
            coef[0] = 0.0
            coef[1:], *_ = np.linalg.lstsq(matrix[:, 2:], seconds - matrix[:, 0], rcond=None)
        error = float(np.sum((matrix[:, 0] + matrix[:, 1:] @ coef - seconds) ** 2))
        if (coef >= 0).all() and (best is None or error < best[1]):
            overlap, attention, fixed = (float(value) for value in coef)
            fitted = replace(
                model, overlap_loss=overlap, attention_factor=attention, fixed_ms=fixed
            )
            best = (fitted, error)
    # the defaults fitted on 2026-12-01 (commit 0161745), which this refit replaced
    old = StepCostModel(3.63, 676e12, 4.15e12, 0.4, 1.2, 1.0)
    new = best[0]
    print(f"old: {old}\nnew: {new}")
    print(f"{'policy':<14} {'step kind':<22} {'steps':>6} {'H200 s':>7} {'old s':>7} {'new s':>7}")
    for key in keys:
        policy, kind = key
        cmds = [cmd for cmd in steps_of[policy] if kind_of(cmd) == kind]
        old_s = sum(old.step_ms(cmd) for cmd in cmds) / 1e3
        new_s = sum(new.step_ms(cmd) for cmd in cmds) / 1e3
        steps, gpu_s = measured[key]
        print(f"{policy:<14} {kind:<22} {steps:>6} {gpu_s:7.2f} {old_s:7.2f} {new_s:7.2f}")


if __name__ == "__main__":
    main()
