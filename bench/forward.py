"""Forward-pass latency at the Llama-3-8B shape (dummy bf16 weights), each figure beside its floor.

    PYTHONPATH=. python3 bench/forward.py [--quick] [--no-hf]

Measures in one run: copy bandwidth and bf16 matmul rate (the ceilings); decode steps through
ModelRunner (CUDA graphs on, and off for contrast), pipelined as the engine runs them (step N+1 launched
before step N is collected) and serially (launch, collect, launch...); prefill steps; a mixed step (decodes + a prefill
chunk, which runs eagerly); the attention kernels alone against torch SDPA (flash); cuBLAS at batch 1 (GEMV
bandwidth); and HF transformers on the same shape as the installed peer.
Floors: decode >= (weight bytes + KV bytes read) / copy bandwidth; prefill >= FLOPs / matmul rate.
Writes results/forward.json and results/forward.png; prints a table last.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import time

import numpy as np
import torch
from common import (
    LLAMA3_8B,
    VLLM_DECODE_MS,
    ceilings,
    config_dir,
    device_info,
    model_bytes,
    time_cuda,
    time_graph,
    write_results,
)

from swiftllm.kernels.decode_attention import decode_attention, decode_params
from swiftllm.kernels.prefill_attention import prefill_attention
from swiftllm.protocol.step import StepCommand, f32, i32, u64
from swiftllm.worker.metadata import AttentionMetadata
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

CFG = LLAMA3_8B
L, H, HKV, D, HID = (
    CFG["num_hidden_layers"],
    CFG["num_attention_heads"],
    CFG["num_key_value_heads"],
    128,
    CFG["hidden_size"],
)
BATCHES = (1, 8, 32, 64, 128, 256)
DEV = torch.device("cuda")


def step_cmd(
    query_lens: list[int], context_lens: list[int], first_block: list[int], vocab: int
) -> StepCommand:
    n = len(query_lens)
    need = [-(-c // 16) for c in context_lens]
    table = np.zeros((n, max(need)), np.int32)
    for i, (b, k) in enumerate(zip(first_block, need, strict=True)):
        table[i, :k] = np.arange(b, b + k)
    z = i32([0] * n)
    return StepCommand(
        seq_ids=i32(range(n)),
        query_lens=i32(query_lens),
        context_lens=i32(context_lens),
        token_ids=i32(np.random.default_rng(0).integers(0, vocab, sum(query_lens))),
        block_table=table,
        sample=i32([1] * n),
        temperature=f32([0] * n),
        top_p=f32([1] * n),
        top_k=z,
        seed=u64([0] * n),
        presence_penalty=f32([0] * n),
        frequency_penalty=f32([0] * n),
        repetition_penalty=f32([1] * n),
        min_p=f32([0] * n),
        penalty_lens=z,
        num_logprobs=i32([-1] * n),
    )


def time_steps(runner: ModelRunner, cmd: StepCommand, warmup: int = 3, iters: int = 15) -> float:
    """Median wall ms of ModelRunner.step (it ends in a device-to-host copy, so it is synchronous)."""
    for _ in range(warmup):
        runner.step(cmd)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        runner.step(cmd)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def time_pipelined(runner: ModelRunner, cmd: StepCommand, iters: int = 30) -> float:
    """Wall ms per decode step as the engine runs them: each step launched before the previous one is collected,
    its tokens the previous step's (-1, filled in on the device). The clock runs from an idle device until the
    last of the `iters` steps launched is collected. (Until session 21 it stopped with that last step still
    running, so it timed iters - 1 steps' work as iters: 1/iters low, 3.3 % at the default 30. Ratios between
    trees timed alike were unaffected.)"""
    ahead = dataclasses.replace(cmd, token_ids=np.full_like(cmd.token_ids, -1))
    runner.step(cmd)
    prev = runner.launch(ahead)
    runner.collect(prev)
    t0 = time.perf_counter()
    prev = runner.launch(ahead)
    for _ in range(iters - 1):
        nxt = runner.launch(ahead)
        runner.collect(prev)
        prev = nxt
    runner.collect(prev)
    return (time.perf_counter() - t0) / iters * 1e3


def prefill_flops(seq_lens: list[int], linear_params: int, vocab: int) -> float:
    attn = (
        sum(4 * H * D * n * (n + 1) / 2 for n in seq_lens) * L
    )  # QK^T and PV over the causal triangle
    return 2 * sum(seq_lens) * linear_params + 2 * len(seq_lens) * HID * vocab + attn


def bench_runner(ceil: dict, quick: bool) -> dict:
    runner = ModelRunner(WorkerConfig(model=config_dir(CFG), load_format="dummy", dtype="bfloat16"))
    w = runner.weights
    embed_bytes = w.embed.numel() * w.embed.element_size()
    weight_bytes = model_bytes(w) - embed_bytes  # the embedding is gathered (B rows), not streamed
    linear_params = sum(
        t.numel() for lw in w.layers for t in (lw.qkv, lw.o_proj, lw.gate_up, lw.down)
    )
    t0 = time.time()
    runner.init_cache(16, 256 * 64 + 16, 1, 8192)
    capture_s = time.time() - t0
    runner.cache.k.normal_()
    runner.cache.v.normal_()
    bw, rate, vocab = ceil["copy_bw_Bps"], ceil["matmul_flops"], CFG["vocab_size"]
    kv_token_bytes = L * HKV * D * 2 * 2
    res: dict = {
        "graph_capture_s": capture_s,
        "weight_bytes": weight_bytes,
        "decode": [],
        "prefill": [],
    }

    decode_cases = [(b, 1024) for b in BATCHES] + [(1, 8192)]
    for b, ctx in decode_cases:
        cmd = step_cmd(
            [1] * b, [ctx] * b, [i * 64 for i in range(b)] if ctx == 1024 else [0], vocab
        )
        ms = time_pipelined(runner, cmd)
        floor = (weight_bytes + b * ctx * kv_token_bytes) / bw * 1e3
        row = {
            "batch": b,
            "context": ctx,
            "ms": ms,
            "serial_ms": time_steps(runner, cmd),
            "floor_ms": floor,
            "vllm_ms": VLLM_DECODE_MS.get(b) if ctx == 1024 else None,
        }
        # the graph's GPU time alone (same inputs): the rest is the host's; contexts of at most LONG_CHUNK
        # tokens replay the narrowest table width's graphs
        key = (b, runner.graphs.table_widths[0])
        if key in runner.graphs.decode_graphs:
            row["graph_gpu_ms"] = time_cuda(runner.graphs.decode_graphs[key].graph.replay)
        if b in (1, 64) and ctx == 1024:
            graphs, runner.graphs = runner.graphs, None
            row["eager_ms"] = time_steps(runner, cmd, 2, 5)
            runner.graphs = graphs
        res["decode"].append(row)
    res["host_b1"] = host_breakdown(runner, step_cmd([1], [1024], [0], vocab))

    prefill_cases = [[512], [2048], [2048] * 4, [8192]]
    for lens in prefill_cases:
        cmd = step_cmd(lens, lens, [i * 128 for i in range(len(lens))], vocab)
        ms = time_steps(runner, cmd, 1, 3 if quick else 5)
        flops = prefill_flops(lens, linear_params, vocab)
        res["prefill"].append(
            {
                "seqs": len(lens),
                "tokens": sum(lens),
                "ms": ms,
                "floor_ms": flops / rate * 1e3,
                "tflops": flops / ms / 1e9,
            }
        )

    # mixed steps (decodes at context 1024 + one prefill chunk): mixed graphs vs eager, and the GPU time
    res["mixed"] = []
    for decodes, chunk in ((8, 64), (32, 256), (64, 512), (64, 1024)):
        cmd = step_cmd(
            [1] * decodes + [chunk],
            [1024] * decodes + [chunk],
            [i * 64 for i in range(decodes)] + [64 * decodes],
            vocab,
        )
        row = {
            "decodes": decodes,
            "chunk": chunk,
            "tokens": decodes + chunk,
            "ms": time_steps(runner, cmd, 2, 8),
        }
        graphs, runner.graphs = runner.graphs, None
        row["eager_ms"] = time_steps(runner, cmd, 2, 5)
        runner.graphs = graphs
        meta = AttentionMetadata.build(cmd.query_lens, cmd.context_lens, cmd.block_table, 16, DEV)
        tokens = torch.from_numpy(cmd.token_ids).to(DEV)
        with torch.inference_mode():  # the whole forward as one graph: its GPU time, no launch gaps
            row["gpu_ms"] = time_graph(
                lambda: runner.model.forward(
                    tokens,
                    meta,
                    runner.cache.k,
                    runner.cache.v,
                ),
                reps=1,
            )
        flops = prefill_flops([chunk], linear_params, vocab) + 2 * decodes * linear_params
        row["floor_ms"] = (
            max((weight_bytes + decodes * 1024 * kv_token_bytes) / bw, flops / rate) * 1e3
        )
        res["mixed"].append(row)

    return res


def host_breakdown(runner: ModelRunner, cmd: StepCommand, iters: int = 20) -> dict:
    """Where a batch-1 decode step's time goes (each phase synchronised; medians in ms)."""
    times: dict[str, list[float]] = {
        "stage_inputs": [],
        "replay": [],
        "sample": [],
        "whole_step": [],
    }
    sampled = np.arange(cmd.num_seqs)
    width = runner.graphs.table_widths[0]  # a 1,024-token context
    graph, logits = runner.graphs.decode_graphs[1, width]
    for _ in range(iters):
        with torch.inference_mode():
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            runner.graphs.stage_inputs(cmd.token_ids, cmd, sampled, 1, True, width)
            torch.cuda.synchronize()
            t1 = time.perf_counter()
            graph.replay()
            torch.cuda.synchronize()
            t2 = time.perf_counter()
            runner.sample_results(cmd, sampled, logits[:1])["tokens"].cpu()
            t3 = time.perf_counter()
            runner.step(cmd)
            t4 = time.perf_counter()
        for k, a, b in (
            ("stage_inputs", t0, t1),
            ("replay", t1, t2),
            ("sample", t2, t3),
            ("whole_step", t3, t4),
        ):
            times[k].append((b - a) * 1e3)
    return {k: float(np.median(v)) for k, v in times.items()}


def paged_kv(
    n_seqs: int, ctx: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    blocks = -(-ctx // 16)
    kc = torch.randn(n_seqs * blocks, HKV, 16, D, device=DEV, dtype=torch.bfloat16)
    vc = torch.randn_like(kc)
    table = torch.randperm(n_seqs * blocks, device=DEV, dtype=torch.int32).view(n_seqs, blocks)
    return kc, vc, table, torch.full((n_seqs,), ctx, device=DEV, dtype=torch.int32)


def bench_attention(bw: float) -> dict:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    sdpa = torch.nn.functional.scaled_dot_product_attention
    res: dict = {"prefill": [], "decode": []}
    for n in (2048, 8192):
        kc, vc, table, ctx = paged_kv(1, n)
        q = torch.randn(n, H, D, device=DEV, dtype=torch.bfloat16)
        qs = torch.tensor([0, n], device=DEV, dtype=torch.int32)
        ours = time_graph(lambda: prefill_attention(q, kc, vc, qs, ctx, table, n, D**-0.5), reps=3)
        qd = torch.randn(1, H, n, D, device=DEV, dtype=torch.bfloat16)
        kd, vd = torch.randn_like(qd), torch.randn_like(qd)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            ref = time_graph(lambda: sdpa(qd, kd, vd, is_causal=True), reps=3)
        flops = 4 * H * D * n * (n + 1) / 2
        res["prefill"].append(
            {
                "tokens": n,
                "ours_ms": ours,
                "sdpa_flash_ms": ref,
                "ours_tflops": flops / ours / 1e9,
                "sdpa_tflops": flops / ref / 1e9,
            }
        )
        if n == 8192:  # tile and pipelining knobs of our kernel
            res["prefill_sweep"] = {
                f"block_n={bn} stages={st}": flops
                / time_graph(
                    lambda: prefill_attention(q, kc, vc, qs, ctx, table, n, D**-0.5, None, bn, st),
                    reps=3,
                )
                / 1e9
                for bn, st in ((64, 3), (128, 3))
            }
    for b, n in ((1, 1024), (1, 8192), (8, 8192), (64, 1024), (256, 1024)):
        kc, vc, table, ctx = paged_kv(b, n)
        q = torch.randn(b, H, D, device=DEV, dtype=torch.bfloat16)
        splits, min_chunk = decode_params(b, HKV, table.shape[1] * 16, DEV)
        row = {
            "batch": b,
            "context": n,
            "floor_us": b * n * HKV * D * 4 / bw * 1e6,
            "default": [splits, min_chunk],
        }
        row["default_us"] = 1e3 * time_graph(
            lambda: decode_attention(q, kc, vc, table, ctx, D**-0.5)
        )
        for name, sp in (("v1_us", 1), ("v2_us", max(splits, 8))):
            row[name] = 1e3 * time_graph(
                lambda: decode_attention(q, kc, vc, table, ctx, D**-0.5, sp)
            )
        if b == 1:  # chunk size of the small-batch split
            row["min_chunk_us"] = {
                mc: 1e3
                * time_graph(lambda: decode_attention(q, kc, vc, table, ctx, D**-0.5, 64, None, mc))
                for mc in (64, 128, 256)
            }
        qd = torch.randn(b, H, 1, D, device=DEV, dtype=torch.bfloat16)
        kd = torch.randn(b, HKV, n, D, device=DEV, dtype=torch.bfloat16)
        vd = torch.randn_like(kd)
        try:  # SDPA on contiguous K/V with GQA (whatever backend takes it)
            row["sdpa_gqa_us"] = 1e3 * time_graph(lambda: sdpa(qd, kd, vd, enable_gqa=True))
        except RuntimeError:
            row["sdpa_gqa_us"] = None
        res["decode"].append(row)
    return res


def bench_gemv(bw: float) -> list[dict]:
    """cuBLAS against our GEMV kernel (its config chosen by shape) at 1-64 rows, on every projection."""
    from swiftllm.kernels.gemv import gemv

    out = []
    for name, (n, k) in {
        "qkv": (6144, 4096),
        "o": (4096, 4096),
        "gate_up": (28672, 4096),
        "down": (4096, 14336),
        "lm_head": (128256, 4096),
    }.items():
        ws = [
            torch.randn(n, k, device=DEV, dtype=torch.bfloat16) for _ in range(3)
        ]  # rotate: beat the L2
        for m in (1, 8, 16, 24, 32, 48, 64):
            x = torch.randn(m, k, device=DEV, dtype=torch.bfloat16)
            row = {"matrix": name, "shape": [n, k], "rows": m}
            row["cublas_us"] = (
                time_graph(lambda: [torch.nn.functional.linear(x, w) for w in ws]) / 3 * 1e3
            )
            row["ours_us"] = time_graph(lambda: [gemv(x, w) for w in ws]) / 3 * 1e3
            row["cublas_of_bw"] = n * k * 2 / (row["cublas_us"] / 1e6) / bw
            row["ours_of_bw"] = n * k * 2 / (row["ours_us"] / 1e6) / bw
            out.append(row)
    return out


def bench_sample() -> list[dict]:
    """The sampling kernel against the same inverse-CDF draw in torch ops (sampler.draw's CPU path), at
    temperature 1 over Llama-3's vocabulary."""
    from swiftllm.kernels.sample import inverse_cdf_sample

    out = []
    for m in (1, 32, 64, 256):
        logits = (torch.randn(m, 128256, device=DEV) * 4).to(torch.bfloat16)
        rows, temp = torch.arange(m, device=DEV), torch.ones(m, device=DEV)
        u = torch.rand(m, device=DEV, dtype=torch.float64)

        def torch_draw() -> torch.Tensor:
            probs = (logits[rows].float() / temp[:, None]).softmax(-1)
            cdf = probs.cumsum(-1)
            return torch.searchsorted(cdf, (u[:, None] * cdf[:, -1:].double()).float(), right=True)

        out.append(
            {
                "rows": m,
                "torch_us": time_graph(torch_draw) * 1e3,
                "ours_us": time_graph(lambda: inverse_cdf_sample(logits, rows, temp, u)) * 1e3,
            }
        )
    return out


def bench_hf(quick: bool) -> dict:
    import transformers
    from transformers import DynamicCache

    hf_cfg = {k: v for k, v in CFG.items() if k not in ("architectures", "torch_dtype")}
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(DEV):
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**hf_cfg)).eval()
    torch.set_default_dtype(torch.float32)
    res: dict = {
        "transformers": transformers.__version__,
        "attn": model.config._attn_implementation,
        "decode": [],
        "prefill": [],
    }
    with torch.inference_mode():
        for n in (2048, 8192):
            ids = torch.randint(0, 128256, (1, n), device=DEV)
            res["prefill"].append(
                {
                    "tokens": n,
                    "ms": time_cuda(
                        lambda: model(ids, logits_to_keep=1),
                        warmup=1,
                        iters=3,
                    ),
                }
            )
        for b in (1, 32) if quick else BATCHES:
            cache = DynamicCache(config=model.config)
            for layer in range(
                L
            ):  # a 1024-token context per sequence, written straight into HF's cache
                kv = torch.randn(b, HKV, 1024, D, device=DEV, dtype=torch.bfloat16)
                cache.update(kv, kv.clone(), layer)
            ids = torch.randint(0, 128256, (b, 1), device=DEV)
            times = []
            for i in range(6):
                pos = torch.full((b, 1), 1024 + i, device=DEV)
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                model(
                    ids, past_key_values=cache, position_ids=pos, use_cache=True, logits_to_keep=1
                )
                torch.cuda.synchronize()
                times.append((time.perf_counter() - t0) * 1e3)
            res["decode"].append({"batch": b, "context": 1024, "ms": float(np.median(times[1:]))})
            del cache
            torch.cuda.empty_cache()
    return res


def plot(data: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    dec = [r for r in data["runner"]["decode"] if r["context"] == 1024]
    xs = [r["batch"] for r in dec]
    a.plot(xs, [r["ms"] for r in dec], "o-", label="SwiftLLM (ModelRunner.step, graphs)")
    a.plot(xs, [r["floor_ms"] for r in dec], "k--", label="floor (weights + KV) / copy BW")
    a.plot(
        list(VLLM_DECODE_MS),
        list(VLLM_DECODE_MS.values()),
        "s-",
        label="vLLM 0.24 (bench/README.md)",
    )
    if data.get("hf"):
        a.plot(
            [r["batch"] for r in data["hf"]["decode"]],
            [r["ms"] for r in data["hf"]["decode"]],
            "^-",
            label="HF transformers (eager)",
        )
    a.set(
        xscale="log",
        yscale="log",
        xlabel="batch (context 1024)",
        ylabel="ms / decode step",
        title=f"Llama-3-8B shape decode, {data['device']}",
    )
    a.legend(fontsize=8)
    pre = data["runner"]["prefill"]
    labels = [f"{r['seqs']}x{r['tokens'] // r['seqs']}" for r in pre]
    b.bar(labels, [r["tflops"] for r in pre], label="SwiftLLM prefill")
    b.axhline(
        data["ceilings"]["matmul_flops"] / 1e12, color="k", ls="--", label="bf16 matmul 8192^3"
    )
    b.set(ylabel="TFLOP/s", title="prefill throughput")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-hf", action="store_true")
    args = ap.parse_args()
    data = {**device_info(), "shape": "Llama-3-8B (dummy bf16)"}
    data["ceilings"] = ceil = ceilings()
    data["runner"] = bench_runner(ceil, args.quick)
    gc.collect()  # the runner (weights, cache, graphs) is garbage now
    torch.cuda.empty_cache()
    data["attention"] = bench_attention(ceil["copy_bw_Bps"])
    data["gemv"] = bench_gemv(ceil["copy_bw_Bps"])
    data["sample"] = bench_sample()
    data["hf"] = None if args.no_hf else bench_hf(args.quick)
    path = write_results("forward", data)
    plot(data, str(path.with_suffix(".png")))
    report(data)


def report(data: dict) -> None:
    c = data["ceilings"]
    print(
        f"\n{data['device']}  commit {data['commit']}  copy {c['copy_bw_Bps'] / 1e12:.2f} TB/s  "
        f"matmul {c['matmul_flops'] / 1e12:.0f} TFLOP/s  graph capture {data['runner']['graph_capture_s']:.1f} s"
    )
    print(
        "sampling at temperature 1, V=128256, torch ops / our kernel (us): "
        + ", ".join(
            f"{r['rows']} rows {r['torch_us']:.0f}/{r['ours_us']:.0f}" for r in data["sample"]
        )
    )
    for m in (1, 8, 16, 24, 32, 48, 64):
        print(
            f"GEMV {m:2d} rows, of copy BW, cuBLAS / ours: "
            + ", ".join(
                f"{g['matrix']} {g['cublas_of_bw']:.2f}/{g['ours_of_bw']:.2f}"
                for g in data["gemv"]
                if g["rows"] == m
            )
        )
    a = data["attention"]
    for r in a["prefill"]:
        print(
            f"prefill attn {r['tokens']:5d} tok: ours {r['ours_ms']:.3f} ms ({r['ours_tflops']:.0f} TFLOP/s)  "
            f"SDPA flash {r['sdpa_flash_ms']:.3f} ms ({r['sdpa_tflops']:.0f})"
        )
    print(
        "prefill attn 8192 sweep (TFLOP/s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in a["prefill_sweep"].items())
    )
    print(
        "host, batch-1 decode step (ms): "
        + ", ".join(f"{k} {v:.3f}" for k, v in data["runner"]["host_b1"].items())
    )
    for r in a["decode"]:
        sd = f"{r['sdpa_gqa_us']:.1f}" if r["sdpa_gqa_us"] else "n/a"
        mc = (
            "  min_chunk " + ", ".join(f"{k}: {v:.1f}" for k, v in r["min_chunk_us"].items())
            if "min_chunk_us" in r
            else ""
        )
        print(
            f"decode attn B={r['batch']:3d} ctx={r['context']:5d}: default {r['default_us']:.1f} us "
            f"(splits, min_chunk {r['default']})  v1 {r['v1_us']:.1f}  v2 {r['v2_us']:.1f}  floor {r['floor_us']:.1f}"
            f"  SDPA-gqa {sd}{mc}"
        )
    hf = {r["batch"]: r["ms"] for r in (data["hf"] or {}).get("decode", [])}
    print(
        f"\n{'decode step':>12} {'ctx':>5} {'ms':>7} {'floor':>7} {'x floor':>7} {'vLLM':>6} {'vs vLLM':>7} "
        f"{'serial':>7} {'eager':>7} {'HF':>7}"
    )
    for r in data["runner"]["decode"]:
        v = r["vllm_ms"]
        peer = hf.get(r["batch"], float("nan")) if r["context"] == 1024 else float("nan")
        print(
            f"{'B=' + str(r['batch']):>12} {r['context']:5d} {r['ms']:7.2f} {r['floor_ms']:7.2f} "
            f"{r['ms'] / r['floor_ms']:7.3f} {v or float('nan'):6.2f} {(v or float('nan')) / r['ms']:7.2f}x "
            f"{r['serial_ms']:7.2f} {r.get('eager_ms', float('nan')):7.2f} {peer:7.2f}"
        )
    for r in data["runner"]["prefill"]:
        print(
            f"{'prefill':>8} {r['seqs']}x{r['tokens'] // r['seqs']:<5} {r['ms']:8.2f} ms  floor {r['floor_ms']:7.2f}"
            f"  {r['tflops']:.0f} TFLOP/s = {r['tflops'] * 1e12 / c['matmul_flops']:.2f} of matmul rate"
        )
    for m in data["runner"]["mixed"]:
        how = "mixed graphs" if m["tokens"] <= 2048 else "eager: over 2,048 tokens"
        print(
            f"mixed {m['decodes']} decodes + {m['chunk']} chunk: step {m['ms']:.2f} ms ({how}), eager "
            f"{m['eager_ms']:.2f}, GPU {m['gpu_ms']:.2f}, floor {m['floor_ms']:.2f}"
        )
    print(
        "graph replay alone (GPU ms): "
        + ", ".join(
            f"B={r['batch']}/{r['context']} {r['graph_gpu_ms']:.2f}"
            for r in data["runner"]["decode"]
            if "graph_gpu_ms" in r
        )
    )


if __name__ == "__main__":
    main()
