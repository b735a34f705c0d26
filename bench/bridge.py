"""Two trees timed the same way on one machine, so that our figures can be read against vLLM's without the
machine's own speed in the ratio.

    PYTHONPATH=TREE python3 bench/bridge.py decode  --model DIR --out FILE [--batches 1,8,32,64,128,256]
    PYTHONPATH=TREE python3 bench/bridge.py offline --model DIR --out FILE [--workload FILE]
    python3 bench/bridge.py compare REFERENCE_JSON OURS_JSON [REFERENCE_JSON OURS_JSON ...]

Why: vLLM 0.24's figures (bench/README.md) were timed on one H200 on 2026-12-01, beside SwiftLLM at `74a2896`,
by one script in the same lease. The H200s lent since differ: all run at a 700 W cap, and some chips hold
lower clocks under it (1,500-1,700 MHz under long work), which moves offline runs and 64-256-row decode
steps by up to ~4 % (README, Performance). Our run today divided by vLLM's of 2026-12-01 carries that
difference. Timed on one machine, `74a2896` and this tree give their ratio free of it; chained to the
reference lease's vLLM / `74a2896` ratio, that ratio gives vLLM / ours as on the reference machine
("bridged"). The assumption: the two trees' ratio does not depend on the machine. Timing the pair in
both orders in one call, or on two machines, shows how far it holds.

What the tree must have: only `LLM(model, load_format=, dtype=, max_model_len=, max_num_batched_tokens=,
**--llm-options)`, `SamplingParams(max_tokens=, ignore_eos=, temperature=)` and `LLM.generate(token-id
prompts, params or one per prompt)` returning outputs with `token_ids`: `74a2896` and this tree have them
(each at its own defaults otherwise: `74a2896` admits 256 sequences and has no prefix caching or policies;
trees between them were not tried). The method is
bench/latency.py's and bench/throughput.py's, with nothing read from the engine for the figures (where the
tree keeps the worker's device times, `engine.worker_ms` as this tree does, each decode row also records the
device ms a step, (t(steps + 1) - t(1)) in those, as a diagnostic: kernels or wall time?):
- decode: N prompts of --prompt-tokens random ids, after one untimed run at each N; ms/step = (median
  t(steps + 1 tokens) - median t(1 token)) / steps over --repeats pairs (DESIGN.md's formula), beside the
  memory floor and issue 16's roofline at the copy bandwidth and matmul rate measured in the same run;
- offline: the workload file's [input_len, output_len] pairs as random-id prompts (seed --seed), one
  generate of them all (ignore_eos) after a warm-up of 256 prompts of another seed, so that a tree with prefix
  caching finds nothing cached; the seconds, output tokens/s and the compute floor's share.
Each run records the median SM clock and power of its timed part (bench/gpu_clocks.py).
`compare` prints both trees, ours / reference, and vLLM / ours bridged, for each pair of files given.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from gpu_clocks import ClockMonitor
from workload import DEFAULT_WORKLOAD, RequestLengths, load_workload, random_prompts

import swiftllm
from swiftllm.llm import LLM
from swiftllm.sampling_params import SamplingParams

# bench/common.py (and latency.py, which imports it) put this checkout first on sys.path: they are imported
# inside the functions, once `swiftllm` above has been found where PYTHONPATH puts the tree to time

# the reference lease (bench/README.md, "vLLM 0.24 on the H200"): 74a2896's decode ms/step beside vLLM's
# (common.VLLM_DECODE_MS), greedy, 1024-token prompts, token budget 16,384; offline seconds on the
# 1000-request file, ranges over the runs made that day
REFERENCE_DECODE_MS = {1: 4.37, 8: 5.07, 32: 6.13, 64: 7.04, 128: 9.65, 256: 16.30}
REFERENCE_OFFLINE_S = {0.0: (20.73, 21.21), 1.0: (21.58, 21.58)}
VLLM_OFFLINE_S = {0.0: (21.83, 22.48), 1.0: (21.15, 21.15)}


def weight_bytes(config: dict) -> int:
    """Bytes of the weights a decode step reads (every linear, the norms and the LM head; not the embedding,
    of which a step gathers a few rows), from a LLaMA config.json at 2 bytes a weight."""
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    kv_heads = config.get("num_key_value_heads", heads)
    qkv = hidden * (heads + 2 * kv_heads) * head_dim
    o_proj = heads * head_dim * hidden
    mlp = 3 * hidden * config["intermediate_size"]
    layer = qkv + o_proj + mlp + 2 * hidden
    head = config["vocab_size"] * hidden  # tied or not, the step reads it once
    return 2 * (config["num_hidden_layers"] * layer + hidden + head)


def kv_bytes_per_token(config: dict) -> int:
    """Bytes of K and V a token keeps in the cache over all layers, at 2 bytes an element."""
    heads = config["num_attention_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    kv_heads = config.get("num_key_value_heads", heads)
    return 2 * 2 * config["num_hidden_layers"] * kv_heads * head_dim


def timed_generate(llm: LLM, prompts: list[list[int]], params: Any) -> float:
    """Wall seconds of one generate, every request run to its max_tokens (ignore_eos)."""
    start = time.perf_counter()
    outputs = llm.generate(prompts, params)
    seconds = time.perf_counter() - start
    wanted = params if isinstance(params, list) else [params] * len(prompts)
    assert [len(out.token_ids) for out in outputs] == [p.max_tokens for p in wanted]
    return seconds


class Generated(NamedTuple):
    """One timed generate: its wall seconds, and the worker's device ms over it (NaN where not kept)."""

    seconds: float
    device_ms: float


def decode_rows(llm: LLM, args: argparse.Namespace, config: dict, ceil: dict | None) -> list[dict]:
    """One row per batch size: t(1), t(steps + 1), ms a step, and its floors where ceilings were measured."""
    from latency import roofline_ms

    rng = np.random.default_rng(0)
    out_tokens = args.steps + 1
    # a diagnostic only, never in a ratio: the worker's device ms (its CUDA events) where the tree keeps
    # them (engine.worker_ms, this tree's; 74a2896 has none), to tell a step's kernels from its wall time
    worker_ms = getattr(getattr(llm, "engine", None), "worker_ms", None)

    def device_ms() -> float:
        return float("nan") if worker_ms is None else worker_ms.get("gpu_ms", float("nan"))

    def run(n: int, max_tokens: int) -> Generated:
        prompts = [
            rng.integers(0, config["vocab_size"], args.prompt_tokens).tolist() for _ in range(n)
        ]
        params = SamplingParams(
            max_tokens=max_tokens, ignore_eos=True, temperature=args.temperature
        )
        before = device_ms()
        seconds = timed_generate(llm, prompts, params)
        return Generated(seconds, device_ms() - before)

    run(4, 8)  # kernels compiled, graphs replayed once
    rows = []
    for n in [int(b) for b in args.batches.split(",")]:
        run(n, out_tokens)  # first-use costs at this batch stay out, as in bench/latency.py
        with ClockMonitor() as clocks:
            pairs = [(run(n, 1), run(n, out_tokens)) for _ in range(args.repeats)]
        t1 = float(np.median([short.seconds for short, _ in pairs]))
        t_long = float(np.median([long.seconds for _, long in pairs]))
        ms = (t_long - t1) / args.steps * 1e3
        device_ms_spent = [long.device_ms - short.device_ms for short, long in pairs]
        device = float(np.median(device_ms_spent)) / args.steps
        row = {"batch": n, "t1_s": t1, "t_long_s": t_long, "ms_per_step": ms}
        # None where the tree keeps no device times (74a2896), or on a CPU
        row["device_ms_per_step"] = None if math.isnan(device) else device
        row["clocks"] = clocks.summary()
        if ceil is not None:
            kv_bytes = n * (args.prompt_tokens + out_tokens / 2) * kv_bytes_per_token(config)
            weights = weight_bytes(config)
            row["floor_ms"] = (weights + kv_bytes) / ceil["copy_bw_Bps"] * 1e3
            row["roofline_ms"] = roofline_ms(n, weights, kv_bytes, ceil)
        rows.append(row)
        print(
            f"N={n}: {ms:.3f} ms/step (t1 {t1:.3f} s, t{out_tokens} {t_long:.3f} s; "
            f"device {device:.3f} ms/step)",
            flush=True,
        )
    return rows


def offline_row(
    llm: LLM,
    requests: list[RequestLengths],
    args: argparse.Namespace,
    config: dict,
    ceil: dict | None,
) -> dict:
    """One timed generate of the whole workload (load_workload's requests)."""
    input_lens = [r.input_len for r in requests]
    warm = random_prompts(input_lens[:256], config["vocab_size"], (args.seed, 1))
    llm.generate(warm, SamplingParams(max_tokens=8, ignore_eos=True, temperature=1.0))
    prompts = random_prompts(input_lens, config["vocab_size"], (args.seed, 2))
    params = [
        SamplingParams(max_tokens=r.output_len, ignore_eos=True, temperature=args.temperature)
        for r in requests
    ]
    with ClockMonitor() as clocks:
        seconds = timed_generate(llm, prompts, params)
    output_tokens = sum(r.output_len for r in requests)
    tokens = sum(input_lens) + output_tokens
    row = {
        "requests": len(requests),
        "seconds": seconds,
        "output_tokens_per_s": output_tokens / seconds,
    }
    row["clocks"] = clocks.summary()
    if ceil is not None:  # 2 FLOPs a weight a token: the compute floor, attention left out
        floor_s = tokens * weight_bytes(config) / ceil["matmul_flops"]
        row["compute_floor_s"] = floor_s
    print(f"offline: {seconds:.2f} s, {output_tokens / seconds:,.0f} output tok/s", flush=True)
    return row


def measure(args: argparse.Namespace) -> None:
    from common import ceilings, device_info

    config = json.loads(Path(args.model, "config.json").read_text())
    on_gpu = torch.cuda.is_available()
    data: dict[str, Any] = {"mode": args.mode, "label": args.label, "temperature": args.temperature}
    if on_gpu:
        data.update(device_info())
    # the tree timed, as the caller names it (device_info's commit is this checkout's)
    data["tree"] = os.environ.get("SWIFTLLM_COMMIT", args.label)
    data["swiftllm"] = str(Path(swiftllm.__file__).parent)  # where the package timed came from
    ceil = ceilings() if on_gpu else None
    data["ceilings"] = ceil
    requests = []
    max_model_len = args.max_model_len or 2048  # decode: bench/latency.py's
    if args.mode == "offline":
        requests = load_workload(args.workload, args.num_requests)
        longest = max(r.input_len + r.output_len for r in requests)
        max_model_len = args.max_model_len or max(4096, longest)  # bench/throughput.py's
    options = {
        "load_format": "dummy",
        "dtype": "bfloat16",
        "max_num_batched_tokens": args.max_batched_tokens,
        "max_model_len": max_model_len,
        **json.loads(args.llm_options),
    }
    data["llm_options"] = options
    llm = LLM(args.model, **options)
    if args.mode == "decode":
        data["prompt_tokens"] = args.prompt_tokens
        data["rows"] = decode_rows(llm, args, config, ceil)
    else:
        data["offline"] = offline_row(llm, requests, args, config, ceil)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data, indent=1))


def bridged_ratio(
    vllm: float, reference_then: float, reference_now: float, ours_now: float
) -> float:
    """vLLM / ours as on the reference machine, for times (smaller is faster): vLLM / reference there, times
    reference / ours here."""
    return vllm / reference_then * (reference_now / ours_now)


def compare_decode(reference: dict, ours: dict) -> list[str]:
    from common import VLLM_DECODE_MS

    lines = [
        f"decode, {reference['tree']} (reference) and {ours['tree']} (ours), {ours.get('device', 'CPU')}",
        f"{'N':>4} {'ref ms':>7} {'ours ms':>7} {'ref/ours':>8} {'ours/roof':>9} {'vLLM/ours':>9} "
        f"{'bridged':>8}",
    ]
    ours_rows = {row["batch"]: row for row in ours["rows"]}
    for ref_row in reference["rows"]:
        n = ref_row["batch"]
        if n not in ours_rows:
            continue
        ours_row = ours_rows[n]
        ours_ms = ours_row["ms_per_step"]
        ref_ms = ref_row["ms_per_step"]
        roof = ours_ms / ours_row["roofline_ms"] if "roofline_ms" in ours_row else float("nan")
        direct = float("nan")
        bridged = float("nan")
        if n in VLLM_DECODE_MS:
            direct = VLLM_DECODE_MS[n] / ours_ms
            bridged = bridged_ratio(VLLM_DECODE_MS[n], REFERENCE_DECODE_MS[n], ref_ms, ours_ms)
        lines.append(
            f"{n:>4} {ref_ms:>7.2f} {ours_ms:>7.2f} {ref_ms / ours_ms:>8.3f} {roof:>9.3f} "
            f"{direct:>9.3f} {bridged:>8.3f}"
        )
    return lines


def compare_offline(reference: dict, ours: dict) -> list[str]:
    ref_s = reference["offline"]["seconds"]
    ours_s = ours["offline"]["seconds"]
    temperature = float(ours["temperature"])
    lines = [
        f"offline, {reference['tree']} (reference) {ref_s:.2f} s and {ours['tree']} (ours) {ours_s:.2f} s "
        f"at temperature {temperature:g}: ref/ours {ref_s / ours_s:.3f}"
    ]
    if temperature in REFERENCE_OFFLINE_S and float(reference["temperature"]) == temperature:
        then_low, then_high = REFERENCE_OFFLINE_S[temperature]
        vllm_low, vllm_high = VLLM_OFFLINE_S[temperature]
        # ours as on the reference machine: ours here x (the reference there / the reference here)
        ours_then_low = ours_s * then_low / ref_s
        ours_then_high = ours_s * then_high / ref_s
        lines.append(
            f"  ours as on the reference machine {ours_then_low:.2f}-{ours_then_high:.2f} s; vLLM there "
            f"{vllm_low:.2f}-{vllm_high:.2f} s; vLLM / ours bridged "
            f"{vllm_low / ours_then_high:.3f}-{vllm_high / ours_then_low:.3f} (direct "
            f"{vllm_low / ours_s:.3f}-{vllm_high / ours_s:.3f})"
        )
    return lines


def compare(paths: list[str]) -> list[str]:
    if len(paths) % 2:
        raise SystemExit("compare takes files in pairs: REFERENCE_JSON OURS_JSON ...")
    lines: list[str] = []
    for ref_path, ours_path in zip(paths[::2], paths[1::2]):
        reference = json.loads(Path(ref_path).read_text())
        ours = json.loads(Path(ours_path).read_text())
        if reference["mode"] != ours["mode"]:
            raise SystemExit(f"{ref_path} is a {reference['mode']} run, {ours_path} {ours['mode']}")
        if reference["mode"] == "decode":
            lines += compare_decode(reference, ours)
        else:
            lines += compare_offline(reference, ours)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("decode", "offline", "compare"))
    ap.add_argument(
        "files", nargs="*", help="compare: the JSON files, reference then ours, in pairs"
    )
    ap.add_argument("--model", help="a model directory with config.json (weights: dummy)")
    ap.add_argument("--out", help="the JSON to write")
    ap.add_argument("--label", default="", help="the tree's name, unless $SWIFTLLM_COMMIT is set")
    ap.add_argument("--batches", default="1,8,32,64,128,256")
    ap.add_argument("--prompt-tokens", type=int, default=1024)
    ap.add_argument(
        "--steps", type=int, default=128, help="decode: the extra steps t(steps + 1) times"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--max-batched-tokens", type=int, default=16384)
    ap.add_argument(
        "--max-model-len",
        type=int,
        default=None,
        help="default: 2,048 for decode (bench/latency.py's), the workload's longest context and at least "
        "4,096 offline (bench/throughput.py's)",
    )
    ap.add_argument("--workload", default=str(DEFAULT_WORKLOAD))
    ap.add_argument("--num-requests", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--llm-options", default="{}", help="more LLM keywords, as JSON: '{\"max_num_seqs\": 512}'"
    )
    args = ap.parse_args()
    if args.mode == "compare":
        print("\n".join(compare(args.files)))
        return
    if not args.model or not args.out:
        ap.error(f"{args.mode} needs --model and --out")
    measure(args)


if __name__ == "__main__":
    main()
