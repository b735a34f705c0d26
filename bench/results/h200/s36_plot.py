"""Session 36's plot (s36.png) and its numbers (s36.json), from the device calls' results in this folder:
call 2's bare decode step A/B (1ee07aa against decode attention launched without PDL at 8+ splits, and against
its grid's split axis bit-reversed; three rounds each), call 3's decode table (latency.py) against the roofline
and vLLM's figures, the serving scenarios of calls 1 and 3 against vLLM 0.24's (DESIGN.md), and call 5's
ablation (each kernel kind run twice in the decode step: the step's growth is that kind's marginal cost).
Run from the repository root: python3 bench/results/h200/s36_plot.py"""

import json
from pathlib import Path
from statistics import mean

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
# vLLM 0.24's `vllm serve` on the H200, 2026-12-01 (DESIGN.md), by request rate
VLLM_ONLINE = {
    "2": {"tpot_median_ms": 5.01, "ttft_p99_ms": 52.7},
    "4": {"tpot_median_ms": 5.12, "ttft_p99_ms": 40.8},
    "8": {"tpot_median_ms": 5.32, "ttft_p99_ms": 55.6},
    "16": {"tpot_median_ms": 5.73, "ttft_p99_ms": 45.2},
}
VLLM_ALL_AT_ONCE_TOK_S = 4499
# call 5: kernels of each kind in a Llama-3-8B decode step (32 layers; 65 norms with the final one)
KERNELS_A_STEP = {"norm": 65, "silu": 32, "reduce": 32, "attn": 32}
KV_BYTES_A_ROW_AND_LAYER = (
    1088 * 8 * 128 * 2 * 2
)  # context 1088, 8 KV heads of 128, K and V in bf16


def ab_rows(log: str) -> dict[str, list[dict[str, float]]]:
    """label -> one {cell: ms} per AB line (the warm-up lines left out)."""
    rows: dict[str, list[dict[str, float]]] = {}
    for line in (HERE / log).read_text().splitlines():
        if line.startswith("AB ") and not line.startswith("AB warmup"):
            label, *cells = line.split()[1:]
            rows.setdefault(label, []).append(
                {c.split(":")[0]: float(c.split(":")[1]) for c in cells}
            )
    return rows


def means(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: mean(r[k] for r in rows) for k in rows[0]}


def serving_rates(name: str) -> list[dict]:
    return json.loads((HERE / name).read_text())["rates"]


call2 = {k: means(v) for k, v in ab_rows("device_call_s36_call2.log").items()}
latency = json.loads((HERE / "latency_s36_1ee07aa.json").read_text())
decode = {
    r["batch"]: {
        "ms": r["ms_per_step"],
        "x_roofline": r["ms_per_step"] / r["roofline_ms"],
        "vllm_over_ours": r["vllm_ms"] / r["ms_per_step"],
    }
    for r in latency["rows"]
}
online = {}
for r in serving_rates("serving_s36_online2_fcfs.json") + serving_rates(
    "serving_s36_call3_fcfs.json"
):
    if r["rate"] in VLLM_ONLINE:
        online[r["rate"]] = {
            "tpot_median_ms": r["tpot_ms"]["median"],
            "ttft_p99_ms": r["ttft_ms"]["p99"],
        }
all_at_once = {}
for commit in ("1ee07aa", "e7b5651"):
    rates = serving_rates(f"serving_s36_inf_longest-first_{commit}.json")
    all_at_once[f"longest-first {commit}"] = [r["output_throughput"] for r in rates]
fcfs = [r for r in serving_rates("serving_s36_call3_fcfs.json") if r["rate"] == "inf"]
all_at_once["fcfs 1ee07aa"] = [r["output_throughput"] for r in fcfs]
call5 = ab_rows("device_call_s36_call5.log")
main5 = means(call5["main"])
copy_bw = latency["ceilings"]["copy_bw_Bps"]  # call 3's: call 5 measured no ceiling
twice = {}
for kind, count in KERNELS_A_STEP.items():
    grown = means(call5[kind])
    twice[kind] = {
        rows: {
            "step_growth_ms": grown[rows] - main5[rows],
            "us_a_kernel": (grown[rows] - main5[rows]) * 1000 / count,
        }
        for rows in main5
    }
for rows in main5:
    twice["attn"][rows]["kv_floor_us_a_layer"] = (
        int(rows) * KV_BYTES_A_ROW_AND_LAYER / copy_bw * 1e6
    )
out = {
    "device": latency["device"],
    "call2_step_ms": call2,
    "call3_decode": decode,
    "online_vs_vllm": {"ours": online, "vllm": VLLM_ONLINE},
    "all_at_once_out_tok_s": all_at_once,
    "vllm_all_at_once_out_tok_s": VLLM_ALL_AT_ONCE_TOK_S,
    "call5_main_ms": main5,
    "call5_twice": twice,
}
(HERE / "s36.json").write_text(json.dumps(out, indent=1))

fig, ax = plt.subplots(1, 4, figsize=(21, 4.5))
cells = list(call2["main"])
x = range(len(cells))
for label, name in (
    ("nopdl8", "no PDL from 8 splits (1-8 rows)"),
    ("bitrev", "split axis bit-reversed"),
):
    ax[0].plot(x, [call2[label][c] / call2["main"][c] for c in cells], "o-", label=name)
ax[0].axhline(1.0, color="gray", lw=0.8)
ax[0].set_xticks(list(x), cells)
ax[0].set_xlabel("decode rows (context 1088)")
ax[0].set_ylabel("step time / 1ee07aa's (mean of 3 rounds)")
ax[0].set_title("call 2: decode attention's launch (not kept)")
ax[0].legend(fontsize=8)
batches = list(decode)
xb = range(len(batches))
ax[1].plot(xb, [decode[b]["x_roofline"] for b in batches], "o-", label="ours / roofline")
ax[1].plot(xb, [decode[b]["vllm_over_ours"] for b in batches], "s-", label="vLLM ms / ours")
ax[1].axhline(1.15, color="C0", ls=":", lw=0.8)
ax[1].axhline(1.10, color="C1", ls=":", lw=0.8)
ax[1].set_xticks(list(xb), [str(b) for b in batches])
ax[1].set_xlabel("decode rows")
ax[1].set_title("call 3: latency.py (targets dotted)")
ax[1].legend(fontsize=8)
rates = list(VLLM_ONLINE)
xr = range(len(rates))
ax[2].plot(
    xr,
    [online[r]["tpot_median_ms"] / VLLM_ONLINE[r]["tpot_median_ms"] for r in rates],
    "o-",
    label="median TPOT",
)
ax[2].plot(
    xr,
    [online[r]["ttft_p99_ms"] / VLLM_ONLINE[r]["ttft_p99_ms"] for r in rates],
    "s-",
    label="p99 TTFT",
)
ax[2].axhline(1.0, color="gray", lw=0.8)
ax[2].set_xticks(list(xr), [f"{r}/s" for r in rates])
ax[2].set_ylabel("ours / vLLM's (below 1: ours lower)")
ax[2].set_title("calls 1 + 3: online, first come first served")
ax[2].legend(fontsize=8)
rows5 = list(main5)
width = 0.8 / (len(KERNELS_A_STEP) + 1)
for i, kind in enumerate(KERNELS_A_STEP):
    ax[3].bar(
        [j + i * width for j in range(len(rows5))],
        [twice[kind][r]["us_a_kernel"] for r in rows5],
        width,
        label=f"{kind} (x{KERNELS_A_STEP[kind]})",
    )
ax[3].bar(
    [j + len(KERNELS_A_STEP) * width for j in range(len(rows5))],
    [twice["attn"][r]["kv_floor_us_a_layer"] for r in rows5],
    width,
    label="attn's K/V floor",
    color="gray",
)
ax[3].set_xticks([j + 0.4 - width / 2 for j in range(len(rows5))], [f"{r} rows" for r in rows5])
ax[3].set_ylabel("us a kernel: the step's growth when each runs twice")
ax[3].set_title("call 5: marginal cost under PDL (attn = decode + reduce)")
ax[3].legend(fontsize=7)
fig.suptitle(f"Session 36, {latency['device']} (each panel from the calls named)")
fig.tight_layout()
fig.savefig(HERE / "s36.png", dpi=110)
print(json.dumps(out, indent=1))
