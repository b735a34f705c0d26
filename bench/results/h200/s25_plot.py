"""Session 25's figure: left, the gated GEMM experiment per layer against cuBLAS (+ silu_and_mul) by rows
(gated_gemm_exp_s25.json); right, vLLM / ours by N from latency.py at 4a2e9cf (call 1) and f9f885b (call 4).

    python3 bench/results/h200/s25_plot.py   (writes bench/results/h200/s25.png)"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

here = Path(__file__).parent
gated = json.loads((here / "gated_gemm_exp_s25.json").read_text())
before = json.loads((here / "latency_4a2e9cf_s25.json").read_text())
after = json.loads((here / "latency_f9f885b_s25.json").read_text())

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
rows = [c["rows"] for c in gated["cells"]]
left.plot(rows, [c["cublas_us"] for c in gated["cells"]], "o-", label="cuBLAS gate_up")
left.plot(rows, [c["cublas_silu_us"] for c in gated["cells"]], "s-", label="cuBLAS + silu_and_mul")
left.plot(rows, [c["tiles"][0]["us"] for c in gated["cells"]], "^-", label="gated GEMM (best tile)")
left.plot(rows, [c["roof_us"] for c in gated["cells"]], "k--", label="weights' read time")
left.set_xlabel("rows")
left.set_ylabel("us a layer (Llama-3-8B MLP, H200)")
left.set_title("gate_up + SiLU x mul")
left.legend()

for run, label in ((before, "4a2e9cf (call 1)"), (after, "f9f885b, gated MLP (call 4)")):
    ns = [r["batch"] for r in run["rows"]]
    right.plot(ns, [r["vllm_ms"] / r["ms_per_step"] for r in run["rows"]], "o-", label=label)
right.axhline(1.1, color="k", linestyle="--", label="issue 16's 1.1x")
right.set_xscale("log", base=2)
right.set_xlabel("sequences N")
right.set_ylabel("vLLM 0.24 ms / ours (latency.py, greedy)")
right.set_title("decode step against vLLM")
right.legend()
fig.tight_layout()
fig.savefig(here / "s25.png", dpi=110)
print("wrote", here / "s25.png")
