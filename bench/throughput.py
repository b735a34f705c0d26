"""Offline throughput the way the vLLM reference figure (bench/README.md) was taken: all requests at once, ignore_eos,
Llama-3-8B shape with dummy bf16 weights, random token-id prompts.

    PYTHONPATH=. python3 bench/throughput.py [--workload FILE] [--num-requests N] [--temperatures 0,1]
                                             [--max-batched-tokens 16384] [--max-num-seqs 512] [--detokenize]
                                             [--schedule-policy longest-first]
    PYTHONPATH=. python3 bench/throughput.py --requests 1000   # the synthetic set instead of a file

The workload is a file of [input_len, output_len] pairs (default bench/sharegpt_like_1000.json: 199,305 prompt
+ 198,953 output tokens), or with --requests N the former synthetic set: log-normal lengths (sigma 1) clipped
to [4, 1024] and rescaled to the file's totals (no peer ran those lengths: no vLLM column for them).

Measured in the same run, and printed with each temperature's seconds and tokens/s:
- the compute floor: 2 x parameters FLOPs per prompt or output token / the 8192^3 bf16 matmul rate
  (attention left out; the embedding and the prompt rows' LM head counted, as vLLM's figures count them);
- the longest request's serial-decode floor: its output length x the batch-1 decode step measured here
  ((t(129) - t(1)) / 128 for its prompt alone), and x the weight-read floor (streamed weight bytes / copy
  bandwidth), because its tokens come one step at a time however wide the batch;
- when that request was admitted: its first token, seconds after the run began (read off the engine's
  sequences), and that time plus its serial floor, before which the run cannot end.
--detokenize serves a dummy model dir with bench/make_dummy_model.py's 128,256-entry tokenizer, so outputs are
detokenized as for a real model (vLLM's LLM does so too); without it the engine returns token ids only.
Prefix caching is on (the default), so every timed run draws fresh random prompts of the workload's lengths:
nothing it computes was cached by the warm-up, the batch-1 probe or an earlier run (each run's cache hits are
recorded, and should read 0). Runs at 9f6056c and earlier timed the warm-up's own prompts, of which 256 had their
prefixes cached (about a quarter of the prompt tokens): their seconds are flattered.
Each run's steps are grouped by kind (prefill only, mixed, decode by rows) with their device time.
--schedule-policy longest-first runs the engine's offline policy (swiftllm/controller/scheduler.py,
`paced_budget`): longest requests first, each step's tokens paced to the longest one's remaining steps. vLLM's
figures ran first come first served, the engine's default.
Writes results/throughput[_synthetic][_detokenized][_longest-first][_worker_process][_t<temperatures>].json
(the temperatures named where they are not the default 0,1) and a .png beside it (each run's step kinds, device
ms a step by tenth of their steps); prints a table last.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from common import (
    LLAMA3_8B,
    ceilings,
    config_dir,
    device_info,
    kernel_times,
    print_kernel_table,
    write_results,
)
from gpu_clocks import ClockMonitor, mhz
from make_dummy_model import make_dummy_model
from run_info import host_info, host_line, none_if_nan
from shapes import parameter_count
from workload import DEFAULT_WORKLOAD, RequestLengths, load_workload, random_prompts

from swiftllm.config import EngineConfig
from swiftllm.controller.scheduler import SCHEDULE_POLICIES, Batch
from swiftllm.controller.sequence import Sequence
from swiftllm.llm import LLM
from swiftllm.protocol.step import StepResult
from swiftllm.sampling_params import SamplingParams

# the synthetic set's totals: those of the 1000-request file
PROMPT_TOKENS = 199_305
OUTPUT_TOKENS = 198_953
# vLLM 0.24 on the H200 (2026-12-01, bench/README.md) on the whole 1000-request file: its fastest run at each
# temperature; the "vLLM s / ours" column is printed only for that workload (and is meaningful on an H200)
VLLM_FILE_S = {0.0: 21.83, 1.0: 21.15}
DEFAULT_TEMPERATURES = "0,1"
RUN_SEED = 1000  # timed run i draws its prompts with seed RUN_SEED + i (the workload's own: seed 0)
# kernel_times reads CUDA events only; on a CPU the profiler needs some activity to run at all
PROFILED_ACTIVITY = torch.profiler.ProfilerActivity.CPU
if torch.cuda.is_available():
    PROFILED_ACTIVITY = torch.profiler.ProfilerActivity.CUDA
DECODE_PROBE_TOKENS = 129  # the batch-1 step is (t(129) - t(1)) / 128, as bench/latency.py takes it


@dataclass(frozen=True)
class Workload:
    name: str
    requests: list[RequestLengths]
    prompts: list[list[int]]


@dataclass(frozen=True)
class RunTrace:
    seconds: float
    output_tokens: int
    steps: int  # engine steps
    watched_first_token_s: float  # after the run began
    watched_first_token_step: int  # the engine step (from 1) that read it back
    # the device's idle share between back-to-back steps (the worker's CUDA events); NaN on a CPU
    gpu_idle_fraction: float = math.nan
    # one StepRecord per step read back, in order
    step_records: list[StepRecord] = field(default_factory=list)
    # prompt tokens the run took from the prefix cache instead of computing them (0 for fresh prompts)
    prefix_cache_hits: int = 0
    preemptions: int = 0


@dataclass(frozen=True)
class StepRecord:
    """One engine step as the worker ran it: what it held and its device time (NaN on a CPU)."""

    decode_rows: int  # rows computing one token
    prefill_tokens: int  # tokens of rows computing more than one (prompt chunks)
    context_tokens: int  # the sum of the rows' contexts after the step (KV read by attention)
    gpu_ms: float
    # the worker's time launching the step (forward_ms + sample_ms: host work, and any wait for the
    # staging buffer that the step before last still reads), and the device's idle time before it
    # (gpu_idle_ms; NaN without a step right before it)
    launch_ms: float
    idle_ms: float


STEP_KINDS = (
    ("prefill only", lambda r: r.decode_rows == 0),
    (
        "mixed, <= 512 tokens",
        lambda r: r.prefill_tokens > 0 and r.decode_rows + r.prefill_tokens <= 512,
    ),
    (
        "mixed, > 512 tokens",
        lambda r: r.prefill_tokens > 0 and r.decode_rows + r.prefill_tokens > 512,
    ),
    ("decode, < 64 rows", lambda r: r.prefill_tokens == 0 and 0 < r.decode_rows < 64),
    ("decode, 64-255 rows", lambda r: r.prefill_tokens == 0 and 64 <= r.decode_rows < 256),
    ("decode, >= 256 rows", lambda r: r.prefill_tokens == 0 and r.decode_rows >= 256),
)


def step_breakdown(records: list[StepRecord]) -> list[dict]:
    """The steps grouped by kind: how many, their device seconds, and their mean rows and tokens."""
    out = []
    for kind, belongs in STEP_KINDS:
        group = [r for r in records if belongs(r)]
        if not group:
            continue
        out.append(
            {
                "kind": kind,
                "steps": len(group),
                "gpu_s": sum(r.gpu_ms for r in group) / 1e3,
                # a step with no step right before it on the device has no idle time (NaN)
                "idle_s": float(np.nansum([r.idle_ms for r in group])) / 1e3,
                "mean_launch_ms": float(np.mean([r.launch_ms for r in group])),
                "mean_decode_rows": float(np.mean([r.decode_rows for r in group])),
                "mean_prefill_tokens": float(np.mean([r.prefill_tokens for r in group])),
                "mean_context_tokens": float(np.mean([r.context_tokens for r in group])),
                # in run order: a trend shows growing contexts, or clocks falling under the power cap
                "ms_by_tenth": [
                    float(np.mean(part))
                    for part in np.array_split([r.gpu_ms for r in group], 10)
                    if len(part)
                ],
            }
        )
    return out


def lengths(rng: np.random.Generator, n: int, total: int) -> np.ndarray:
    """n log-normal lengths in [4, 1024] summing to total."""
    x = np.clip(rng.lognormal(0.0, 1.0, n), 1e-3, None)
    out = np.clip(np.round(x / x.sum() * total), 4, 1024).astype(int)
    for _ in range(100):  # clipping moved the sum: spread the difference over the unclipped lengths
        diff = total - out.sum()
        free = np.nonzero((out > 4) & (out < 1024))[0]
        if diff == 0 or not len(free):
            break
        step = np.sign(diff) * max(1, abs(diff) // len(free))
        idx = free[: min(len(free), abs(diff))]
        out[idx] = np.clip(out[idx] + step, 4, 1024)
    return out


def synthetic_workload(num_requests: int) -> Workload:
    """The former default: log-normal lengths scaled to vLLM's ShareGPT totals (same draws as before)."""
    rng = np.random.default_rng(0)
    scale = num_requests / 1000
    input_lens = lengths(rng, num_requests, int(PROMPT_TOKENS * scale))
    output_lens = lengths(rng, num_requests, int(OUTPUT_TOKENS * scale))
    prompts = [rng.integers(0, LLAMA3_8B["vocab_size"], n).tolist() for n in input_lens]
    requests = [RequestLengths(int(i), int(o)) for i, o in zip(input_lens, output_lens)]
    return Workload(f"synthetic log-normal x{num_requests}", requests, prompts)


def file_workload(path: Path, num_requests: int | None) -> Workload:
    requests = load_workload(path, num_requests)
    prompts = random_prompts([r.input_len for r in requests], LLAMA3_8B["vocab_size"], seed=0)
    return Workload(f"{path.name} x{len(requests)}", requests, prompts)


def timed_generate(
    llm: LLM,
    prompts: list[list[int]],
    params: list[SamplingParams],
    watched: int,
    profiled: range | None = None,
) -> RunTrace:
    """LLM.generate's loop, also noting when request `watched` got its first token. `profiled`: engine
    steps (from 1) run under torch.profiler, whose kernels are printed after the run."""
    engine = llm.engine
    timings_before = engine.worker_ms.copy()
    counters_before = dict(engine.scheduler.counters)
    records: list[StepRecord] = []
    postprocess = engine.postprocess
    profiler = None
    window_contexts: list[
        int
    ] = []  # the decode rows' contexts of the steps read back while profiling

    def recorded_postprocess(batch: Batch, result: StepResult) -> list[Sequence]:
        query_lens = np.asarray(batch.query_lens)
        context = sum(seq.num_cached for seq in batch.seqs)  # mark_sent has moved num_cached on
        if profiler is not None:
            rows = zip(batch.seqs, batch.query_lens)
            window_contexts.extend(seq.num_cached for seq, length in rows if length == 1)
        records.append(
            StepRecord(
                decode_rows=int((query_lens == 1).sum()),
                prefill_tokens=int(query_lens[query_lens > 1].sum()),
                context_tokens=context,
                gpu_ms=result.timings.get("gpu_ms", math.nan),
                launch_ms=result.timings.get("forward_ms", math.nan)
                + result.timings.get("sample_ms", math.nan),
                idle_ms=result.timings.get("gpu_idle_ms", math.nan),
            )
        )
        return postprocess(batch, result)

    engine.postprocess = recorded_postprocess  # this engine's steps only, until the run ends
    try:
        start = time.perf_counter()
        seqs = [engine.add_request(prompt, p) for prompt, p in zip(prompts, params)]
        watched_seq = seqs[watched]
        first_token_at = None
        first_token_step = 0
        steps = 0
        while engine.has_work:
            if profiled is not None and steps + 1 == profiled.start:
                profiler = torch.profiler.profile(activities=[PROFILED_ACTIVITY])
                profiler.__enter__()
            stepped = engine.step()
            steps += 1
            if profiler is not None and steps + 1 == profiled.stop:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                profiler.__exit__(None, None, None)
                by_kernel = kernel_times(profiler, len(profiled))
                profiler = None
            if first_token_at is None and watched_seq in stepped:
                first_token_at = time.perf_counter()
                first_token_step = steps
        end = time.perf_counter()
    finally:
        del engine.postprocess  # the class's method again
    if profiled is not None:
        # the engine keeps one step in flight: the window's kernels are those of the steps it launched
        window = records[profiled.start - 1 : profiled.stop - 1]
        print(
            f"\nsteps {profiled.start}-{profiled.stop - 1} under torch.profiler (this run's seconds include "
            f"it): {np.mean([r.decode_rows for r in window]):.0f} decode rows, "
            f"{np.mean([r.prefill_tokens for r in window]):.0f} prefill tokens, "
            f"{np.mean([r.context_tokens for r in window]):.0f} context tokens, "
            f"{np.mean([r.gpu_ms for r in window]):.2f} ms a step on the device, kernels "
            f"{sum(us for us, _ in by_kernel.values()) / 1e3:.2f} ms"
        )
        print_kernel_table(by_kernel)
        if window_contexts:
            # bench/decode_sweep.py --context MEAN --spread SIGMA draws such a mix
            contexts = np.array(window_contexts)
            p10, p50, p90 = np.percentile(contexts, [10, 50, 90])
            print(
                f"decode rows' contexts: mean {contexts.mean():.0f}, p10 / p50 / p90 / max "
                f"{p10:.0f} / {p50:.0f} / {p90:.0f} / {contexts.max()}, log-normal sigma "
                f"{np.log(contexts).std():.2f}"
            )
    output_tokens = sum(len(seq.output_ids) for seq in seqs)
    busy_ms = engine.worker_ms["gpu_ms"] - timings_before["gpu_ms"]
    idle_ms = engine.worker_ms["gpu_idle_ms"] - timings_before["gpu_idle_ms"]
    idle_fraction = math.nan
    if busy_ms + idle_ms > 0:
        idle_fraction = idle_ms / (busy_ms + idle_ms)
    return RunTrace(
        end - start,
        output_tokens,
        steps,
        first_token_at - start,
        first_token_step,
        idle_fraction,
        records,
        engine.scheduler.counters["prefix_cache_hits"] - counters_before["prefix_cache_hits"],
        engine.scheduler.counters["preemptions"] - counters_before["preemptions"],
    )


def first_run_counters() -> dict[str, int]:
    """What a run can pay for once, counted so that two runs' times can be told apart: Triton kernels compiled
    (entries in its cache folder) and the caching allocator's device allocations and retries (a retry frees
    every cached block, which synchronizes the device)."""
    from triton import knobs  # where this Triton writes its cache (TRITON_CACHE_DIR or its default)

    cache_dir = Path(knobs.cache.dir)
    counters = {"triton_cache_entries": len(list(cache_dir.glob("*"))) if cache_dir.is_dir() else 0}
    import torch

    if torch.cuda.is_available():
        stats = torch.cuda.memory_stats()
        counters["cuda_mallocs"] = stats.get("num_device_alloc", 0)
        counters["alloc_retries"] = stats.get("num_alloc_retries", 0)
    return counters


def batch1_step_ms(llm: LLM, prompt: list[int], repeats: int = 3) -> float:
    """The decode step of one request alone, after its prompt: (median t(129) - median t(1)) / 128."""

    def seconds(max_tokens: int) -> float:
        params = SamplingParams(max_tokens=max_tokens, ignore_eos=True, temperature=0.0)
        start = time.perf_counter()
        llm.generate([prompt], params)
        return time.perf_counter() - start

    seconds(DECODE_PROBE_TOKENS)  # warm-up at this length
    one = float(np.median([seconds(1) for _ in range(repeats)]))
    many = float(np.median([seconds(DECODE_PROBE_TOKENS) for _ in range(repeats)]))
    return (many - one) / (DECODE_PROBE_TOKENS - 1) * 1e3


def parse_steps(text: str) -> range:
    first, end = (int(part) for part in text.split(":"))
    if not 1 <= first < end:
        raise argparse.ArgumentTypeError(f"steps must be FIRST:END with 1 <= FIRST < END: {text!r}")
    return range(first, end)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    source = ap.add_mutually_exclusive_group()
    source.add_argument(
        "--workload",
        type=Path,
        default=None,
        help=f"file of [input_len, output_len] pairs (default {DEFAULT_WORKLOAD.name})",
    )
    source.add_argument(
        "--requests",
        type=int,
        default=None,
        help="the synthetic log-normal set of N requests instead of a file",
    )
    ap.add_argument("--num-requests", type=int, default=None, help="the file's first N pairs")
    ap.add_argument(
        "--temperatures", default=DEFAULT_TEMPERATURES, help="one timed run per temperature"
    )
    ap.add_argument("--max-batched-tokens", type=int, default=16384)
    ap.add_argument("--max-num-seqs", type=int, default=EngineConfig().max_num_seqs)
    ap.add_argument(
        "--schedule-policy",
        default=EngineConfig().schedule_policy,
        help=f"{', '.join(SCHEDULE_POLICIES)}, or module:Class (a Scheduler subclass on PYTHONPATH)",
    )
    ap.add_argument(
        "--detokenize", action="store_true", help="serve a dummy model dir with a tokenizer"
    )
    ap.add_argument(
        "--worker-process",
        action="store_true",
        help="the model in a worker process, as `swiftctl launch` runs it (LLM runs one device's "
        "model on a thread of this process, sharing the GIL with the engine)",
    )
    ap.add_argument(
        "--profile-steps",
        type=parse_steps,
        default=None,
        help="FIRST:END: the first timed run's engine steps FIRST..END-1 under torch.profiler, their "
        "kernels printed (that run's seconds then include the profiler)",
    )
    args = ap.parse_args()
    try:
        EngineConfig(schedule_policy=args.schedule_policy)  # imports a module:Class policy
    except ValueError as e:
        ap.error(str(e))
    if args.requests is not None and args.num_requests is not None:
        ap.error("--num-requests selects from a workload file; --requests is the synthetic set")
    return args


def result_name(args: argparse.Namespace) -> str:
    """The results file's name: one per kind of run, so that runs of different kinds in one output folder keep
    their own files (session 36's two runs, --temperatures 0 then 1, wrote one name, the second over the first)."""
    name = "throughput"
    if args.requests is not None:
        name += "_synthetic"
    if args.detokenize:
        name += "_detokenized"
    if args.schedule_policy != "fcfs":
        name += "_" + args.schedule_policy.replace(
            ":", "."
        )  # module:Class: no colon in a file name
    if args.worker_process:
        name += "_worker_process"
    if args.temperatures != DEFAULT_TEMPERATURES:
        name += "_t" + args.temperatures.replace(",", "_")
    return name


def main() -> None:
    args = parse_args()
    if args.requests is not None:
        workload = synthetic_workload(args.requests)
    else:
        workload = file_workload(args.workload or DEFAULT_WORKLOAD, args.num_requests)
    requests = workload.requests
    prompt_tokens = sum(r.input_len for r in requests)
    output_tokens = sum(r.output_len for r in requests)
    longest = max(range(len(requests)), key=lambda i: requests[i].output_len)
    longest_context = max(r.input_len + r.output_len for r in requests)
    temperatures = [float(t) for t in args.temperatures.split(",")]
    params_per_token = parameter_count(LLAMA3_8B)
    streamed_bytes = 2 * (params_per_token - LLAMA3_8B["vocab_size"] * LLAMA3_8B["hidden_size"])

    data = {
        **device_info(),
        "host": host_info(),
        "shape": "Llama-3-8B (dummy bf16)",
        "workload": workload.name,
        "requests": len(requests),
        "prompt_tokens": prompt_tokens,
        "output_tokens": output_tokens,
        "max_num_batched_tokens": args.max_batched_tokens,
        "max_num_seqs": args.max_num_seqs,
        "schedule_policy": args.schedule_policy,
        "worker_process": args.worker_process,
        "detokenize": args.detokenize,
        "parameters": params_per_token,
        "ceilings": ceilings(),
        "runs": [],
    }
    ceil = data["ceilings"]
    if args.worker_process:
        # LLM starts worker processes only for a split model; this starts one for one device too
        LLM.start_runner = LLM.start_workers
        import torch

        torch.cuda.empty_cache()  # the ceilings' buffers: the worker sizes its KV cache by free memory
    if args.detokenize:
        model_dir = str(make_dummy_model(Path(tempfile.mkdtemp(prefix="swiftllm-bench-"))))
    else:
        model_dir = config_dir(LLAMA3_8B)
    llm = LLM(
        model_dir,
        load_format="dummy",
        dtype="bfloat16",
        max_model_len=max(4096, longest_context),
        max_num_seqs=args.max_num_seqs,
        max_num_batched_tokens=args.max_batched_tokens,
        schedule_policy=args.schedule_policy,
    )
    # warm-up at full steps and batches too: the caching allocator grows and the sampling kernel compiles outside
    # the timed runs (with only 8 short requests, the first timed run paid for them: 23.4 s against 21.1)
    warmup = SamplingParams(max_tokens=8, ignore_eos=True, temperature=1.0)
    llm.generate(workload.prompts[:256], warmup)
    step_ms = batch1_step_ms(llm, workload.prompts[longest])
    weight_read_ms = streamed_bytes / ceil["copy_bw_Bps"] * 1e3
    longest_out = requests[longest].output_len
    data["compute_floor_s"] = (
        2 * params_per_token * (prompt_tokens + output_tokens) / ceil["matmul_flops"]
    )
    data["longest"] = {
        "index": longest,
        "input_len": requests[longest].input_len,
        "output_len": longest_out,
        "batch1_step_ms": step_ms,
        "weight_read_ms": weight_read_ms,
        "serial_floor_s": longest_out * step_ms / 1e3,
        "serial_weight_floor_s": longest_out * weight_read_ms / 1e3,
    }
    for run, temperature in enumerate(temperatures):
        params = [
            SamplingParams(
                max_tokens=r.output_len, ignore_eos=True, temperature=temperature, seed=i
            )
            for i, r in enumerate(requests)
        ]
        # fresh token ids for every timed run: prefix caching is on, and a run must find nothing cached
        # by the warm-up, the batch-1 probe (both on the workload's own prompts) or an earlier run
        prompts = random_prompts(
            [len(p) for p in workload.prompts], LLAMA3_8B["vocab_size"], seed=RUN_SEED + run
        )
        counters_before = first_run_counters()
        profiled = args.profile_steps if run == 0 else None
        with ClockMonitor() as clocks:
            trace = timed_generate(llm, prompts, params, longest, profiled)
        counters_after = first_run_counters()
        paid_once = {name: counters_after[name] - counters_before[name] for name in counters_after}
        assert trace.output_tokens == output_tokens, (trace.output_tokens, output_tokens)
        # its remaining tokens come one decode step at a time after its first
        bound = trace.watched_first_token_s + (longest_out - 1) * step_ms / 1e3
        data["runs"].append(
            {
                "temperature": temperature,
                "seconds": trace.seconds,
                "total_tokens_per_s": (prompt_tokens + output_tokens) / trace.seconds,
                "output_tokens_per_s": output_tokens / trace.seconds,
                "x_compute_floor": trace.seconds / data["compute_floor_s"],
                "steps": trace.steps,
                "longest_first_token_s": trace.watched_first_token_s,
                "longest_first_token_step": trace.watched_first_token_step,
                "longest_bound_s": bound,
                "gpu_idle_fraction": none_if_nan(trace.gpu_idle_fraction),
                "step_kinds": step_breakdown(trace.step_records),
                "prefix_cache_hit_tokens": trace.prefix_cache_hits,
                "preemptions": trace.preemptions,
                "paid_once": paid_once,
                "triton_cache_entries_before": counters_before["triton_cache_entries"],
                # the clocks the run ran at (the GPU's power cap lowers them: bench/gpu_clocks.py)
                "clocks": clocks.summary(),
            }
        )
        print(
            f"temperature {temperature}: {trace.seconds:.2f} s, {trace.prefix_cache_hits} prompt tokens "
            f"from the prefix cache, {trace.preemptions} preemptions, {paid_once}",
            flush=True,
        )
    path = write_results(result_name(args), data)
    plot(data, path.with_suffix(".png"))
    print_table(data, args, vllm_reference(args, len(requests), data["device"]))


def vllm_reference(args: argparse.Namespace, num_requests: int, device: str) -> dict[float, float]:
    """vLLM's seconds by temperature where it ran this very workload (the whole file) on this kind of
    GPU: the H200. On any other device there is no peer figure (session 49's H100 run printed vLLM's
    H200 seconds over its own)."""
    if args.requests is not None or "H200" not in device:  # no peer ran these lengths on this GPU
        return {}
    path = (args.workload or DEFAULT_WORKLOAD).resolve()
    if path == DEFAULT_WORKLOAD.resolve() and num_requests == 1000:
        return dict(VLLM_FILE_S)
    return {}


def print_table(data: dict, args: argparse.Namespace, vllm_s: dict[float, float]) -> None:
    ceil = data["ceilings"]
    longest = data["longest"]
    print(
        f"\n{data['device']}  commit {data['commit']}  {data['workload']}: {data['prompt_tokens']} prompt + "
        f"{data['output_tokens']} output tokens, token budget {args.max_batched_tokens}, "
        f"max {args.max_num_seqs} seqs, {args.schedule_policy}"
        f"{', worker process' if args.worker_process else ''}"
        f"{', detokenized' if args.detokenize else ''}"
    )
    print(host_line(data["host"]))
    print(
        f"compute floor {data['compute_floor_s']:.2f} s (2 x {data['parameters'] / 1e9:.2f} GFLOP a token "
        f"at {ceil['matmul_flops'] / 1e12:.0f} TFLOP/s); copy {ceil['copy_bw_Bps'] / 1e12:.2f} TB/s"
    )
    print(
        f"longest request #{longest['index']} ({longest['input_len']} in, {longest['output_len']} out): "
        f"serial floor {longest['serial_floor_s']:.2f} s at the measured batch-1 step "
        f"{longest['batch1_step_ms']:.2f} ms, {longest['serial_weight_floor_s']:.2f} s at the weight read "
        f"{longest['weight_read_ms']:.2f} ms"
    )
    for run in data["runs"]:
        print(
            f"steps of temperature {run['temperature']} by kind (device time and the idle time before "
            "each step: the worker's CUDA events; launch: the worker's host ms a step):"
        )
        print(
            f"{'kind':>22} {'steps':>6} {'GPU s':>7} {'ms/step':>8} {'idle s':>7} {'launch ms':>10} "
            f"{'decode rows':>12} {'prefill tok':>12} {'context tok':>12}"
        )
        for kind in run["step_kinds"]:
            print(
                f"{kind['kind']:>22} {kind['steps']:6d} {kind['gpu_s']:7.2f} "
                f"{kind['gpu_s'] * 1e3 / kind['steps']:8.2f} {kind['idle_s']:7.2f} "
                f"{kind['mean_launch_ms']:10.2f} {kind['mean_decode_rows']:12.0f} "
                f"{kind['mean_prefill_tokens']:12.0f} {kind['mean_context_tokens']:12.0f}"
            )
        for kind in run["step_kinds"]:
            if kind["steps"] >= 100:
                tenths = " ".join(f"{ms:.2f}" for ms in kind["ms_by_tenth"])
                print(f"{kind['kind']:>22}: ms/step by tenth of its steps, in order: {tenths}")
    header = (
        f"{'run':>16} {'s':>7} {'total tok/s':>12} {'output tok/s':>13} {'x floor':>8} "
        f"{'longest 1st tok s':>18} {'+ serial s':>11} {'GPU idle %':>10} {'vLLM s / ours':>14} "
        f"{'SM MHz':>6}"
    )
    print(header)
    for run in data["runs"]:
        reference = vllm_s.get(run["temperature"])
        ratio = f"{reference / run['seconds']:14.2f}" if reference else f"{'-':>14}"
        print(
            f"{'temperature ' + str(run['temperature']):>16} {run['seconds']:7.2f} "
            f"{run['total_tokens_per_s']:12.0f} {run['output_tokens_per_s']:13.0f} "
            f"{run['x_compute_floor']:8.2f} {run['longest_first_token_s']:18.2f} "
            f"{run['longest_bound_s']:11.2f} {idle_percent(run['gpu_idle_fraction'])} {ratio} "
            f"{mhz(run['clocks']):>6}"
        )


def plot(data: dict, path: Path) -> None:
    """Each run's steps by kind: mean device ms a step by tenth of that kind's steps, in order, beside the
    batch-1 step and the weight read (so the paced mixed steps read against the step the longest request
    could take alone); the title holds each run's seconds and the floors."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    longest = data["longest"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for run in data["runs"]:
        for kind in run["step_kinds"]:
            tenths = kind["ms_by_tenth"]
            xs = [100 * (i + 0.5) / len(tenths) for i in range(len(tenths))]
            label = f"T={run['temperature']:g}: {kind['kind']} ({kind['steps']} steps)"
            ax.plot(xs, tenths, "o-", label=label)
    ax.axhline(longest["batch1_step_ms"], color="k", ls="--", label="batch-1 step")
    ax.axhline(longest["weight_read_ms"], color="k", ls=":", label="weight read")
    seconds = ", ".join(f"T={run['temperature']:g} {run['seconds']:.2f} s" for run in data["runs"])
    ax.set(
        xlabel="% of that kind's steps, in order",
        ylabel="device ms / step",
        ylim=(0, None),
        title=f"{data['workload']}, {data['schedule_policy']}, {data['device']}\n"
        f"{seconds}; floors: compute {data['compute_floor_s']:.2f} s, "
        f"longest request serial {longest['serial_floor_s']:.2f} s",
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def idle_percent(fraction: float | None) -> str:
    if fraction is None:
        return f"{'-':>10}"
    return f"{fraction * 100:10.2f}"


if __name__ == "__main__":
    main()
