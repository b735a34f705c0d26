"""Session 30: do the dummy weights' values move the power-capped figures? Our load_format="dummy" draws every
matrix from uniform(-0.02, 0.02) and sets the norms to 1; vLLM's (initialize_dummy_weights, which vLLM 0.24's
figures in bench/README.md ran on) draws every parameter, norms included, from uniform(-1e-3, 1e-3). The GPU
is capped at 700 W, and how much power a matmul draws depends on its operands' bits, so the same kernels may run
at other clocks. Same process, same kernels and graphs, the weights rewritten in place between rounds:

  - prefill: one 2,048-token prompt, eager (power-bound), 60 steps;
  - mixed: offline's mean mixed step (127 decode rows at context 438 and one 129-token chunk), 400 steps;
  - decode at 256 and at 8 rows (context 1,088), pipelined as the engine runs them, 260 / 600 steps.

Each cell: ms a step, SM clock median and power median over that cell (gpu_clocks.ClockMonitor), rounds
ours / vllm alternating. Run from the checkout's root, PYTHONPATH=.:<wheels>; writes $OUT/dummy_values.json."""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, "bench")
from common import LLAMA3_8B, config_dir  # noqa: E402
from forward import step_cmd, time_pipelined, time_steps  # noqa: E402
from gpu_clocks import ClockMonitor  # noqa: E402

from swiftllm.worker.model_runner import ModelRunner, WorkerConfig  # noqa: E402

runner = ModelRunner(
    WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
)
per_seq = -(-1088 // 16) + 2
runner.init_cache(16, 256 * per_seq + 600, 1, 2048)
vocab = LLAMA3_8B["vocab_size"]
w = runner.weights
gen = torch.Generator("cuda").manual_seed(1)


def fill(kind: str) -> None:
    """Rewrite every weight in place: "ours" as DummyCheckpoint draws them, "vllm" as initialize_dummy_weights."""
    named = [("embed", w.embed), ("norm", w.norm), ("lm_head", w.lm_head)]
    for layer in w.layers:
        named += [(name, t) for name, t in vars(layer).items() if t is not None]
    for name, t in named:
        if kind == "vllm":
            t.uniform_(-1e-3, 1e-3, generator=gen)
        elif "norm" in name:
            t.fill_(1.0)
        else:
            t.uniform_(-0.02, 0.02, generator=gen)
    torch.cuda.synchronize()


cells = {
    "prefill 2048": (step_cmd([2048], [2048], [256 * per_seq], vocab), "steps", 60),
    "mixed 127+129": (
        step_cmd([1] * 127 + [129], [438] * 127 + [129], [i * per_seq for i in range(128)], vocab),
        "steps",
        400,
    ),
    "decode 256": (
        step_cmd([1] * 256, [1088] * 256, [i * per_seq for i in range(256)], vocab),
        "pipe",
        260,
    ),
    "decode 8": (
        step_cmd([1] * 8, [1088] * 8, [i * per_seq for i in range(8)], vocab),
        "pipe",
        600,
    ),
}
for cmd, _how, _iters in cells.values():  # compile and capture outside the timed rounds
    for _ in range(2):
        runner.step(cmd)
rows = []
for round_ in range(2):
    for kind in ("ours", "vllm"):
        fill(kind)
        for name, (cmd, how, iters) in cells.items():
            with ClockMonitor() as clocks:
                if how == "steps":
                    ms = time_steps(runner, cmd, warmup=2, iters=iters)
                else:
                    ms = time_pipelined(runner, cmd, iters=iters)
            s = clocks.summary()
            rows.append({"round": round_, "weights": kind, "cell": name, "ms": ms, **s})
            print(
                f"DV r{round_} {kind:5s} {name:14s} {ms:8.3f} ms  SM {s['sm_mhz_median']} MHz"
                f"  {s['power_w_median']} W",
                flush=True,
            )
out = os.environ.get("OUT", ".")
with open(os.path.join(out, "dummy_values.json"), "w") as f:
    json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)
print("\ncell            ours ms (MHz, W)                      vllm ms (MHz, W)")
for name in cells:
    parts = []
    for kind in ("ours", "vllm"):
        mine = [r for r in rows if r["cell"] == name and r["weights"] == kind]
        parts.append(
            " / ".join(f"{r['ms']:.3f}" for r in mine)
            + f" ({np.median([r['sm_mhz_median'] or 0 for r in mine]):.0f}, "
            + f"{np.median([r['power_w_median'] or 0 for r in mine]):.0f})"
        )
    print(f"{name:14s}  {parts[0]:36s}  {parts[1]}")
