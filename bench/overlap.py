"""What keeping one step in flight buys: worker idle time between steps, from the worker's own timings.

Starts one worker process (`swiftctl worker`), drives it through the controller's Engine with overlap on and
off on the same workload, and reports per step: wall time seen by the controller, the worker's busy time
(queuing the forward and sampling, then waiting for the device: forward_ms + sample_ms + wait_ms of
StepResult.timings) and the rest, the time the worker waited for the controller.

    python bench/overlap.py                              # embedded SmolLM2 on CPU
    python bench/overlap.py --device cuda --dummy smollm2  # SmolLM2 shape, random weights, GPU
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from swiftllm.config import EngineConfig  # noqa: E402
from swiftllm.controller.engine import Engine  # noqa: E402
from swiftllm.controller.scheduler import SchedulerConfig  # noqa: E402
from swiftllm.controller.worker_client import WorkerClient  # noqa: E402
from swiftllm.model_config import ModelConfig  # noqa: E402
from swiftllm.protocol.step import StepResult  # noqa: E402
from swiftllm.sampling_params import SamplingParams  # noqa: E402


class TimedClient(WorkerClient):
    """Keeps every step reply's worker timings."""

    timings: list[dict]

    def recv_step(self) -> StepResult:
        result = super().recv_step()
        self.timings.append(result.timings)
        return result


def run(
    client: TimedClient,
    mc: ModelConfig,
    sched: SchedulerConfig,
    overlap: bool,
    args: argparse.Namespace,
) -> dict:
    engine = Engine(client, mc, None, sched, overlap=overlap)
    client.timings = []
    for i in range(args.requests):
        engine.add_request(
            [(7 * i + j) % 1000 + 1 for j in range(args.prompt_len)],
            SamplingParams(max_tokens=args.max_tokens, temperature=0, ignore_eos=True),
        )
    t0 = time.perf_counter()
    while engine.has_work:
        engine.step()
    wall = time.perf_counter() - t0
    busy = (
        sum(
            t.get("forward_ms", 0) + t.get("sample_ms", 0) + t.get("wait_ms", 0)
            for t in client.timings
        )
        / 1e3
    )
    steps = len(client.timings)
    return {
        "overlap": overlap,
        "steps": steps,
        "wall_s": wall,
        "wall_ms_per_step": wall / steps * 1e3,
        "worker_busy_ms_per_step": busy / steps * 1e3,
        "worker_idle_fraction": 1 - busy / wall,
    }


def plot(out: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = out["runs"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    labels = [
        f"{'overlap' if r['overlap'] else 'no overlap'} #{i // 2 + 1}" for i, r in enumerate(runs)
    ]
    ax.bar(
        labels,
        [r["worker_busy_ms_per_step"] for r in runs],
        label="worker busy (launch, sample, device wait)",
    )
    ax.bar(
        labels,
        [r["wall_ms_per_step"] - r["worker_busy_ms_per_step"] for r in runs],
        bottom=[r["worker_busy_ms_per_step"] for r in runs],
        label="worker idle",
    )
    ax.set_ylabel("ms per step")
    ax.set_title(f"one step in flight: {out['model']}, {out['device']}, {out['date']}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--dummy", choices=["smollm2"], default=None, help="random weights at this shape"
    )
    p.add_argument("--requests", type=int, default=16)
    p.add_argument("--prompt-len", type=int, default=32)
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--plot", type=Path, default=None, help="only redraw the PNG of this JSON")
    args = p.parse_args()
    if args.plot:
        return plot(json.loads(args.plot.read_text()), args.plot.with_suffix(".png"))
    if args.dummy:
        from bench.common import SMOLLM2, config_dir

        model, extra = config_dir(SMOLLM2), ["--load-format", "dummy"]
    else:
        from swiftllm.models.gguf_import import ensure_default_model

        model, extra = str(ensure_default_model()), []
    runtime = tempfile.mkdtemp(prefix="swiftllm-bench-")
    address = f"ipc://{runtime}/worker.sock"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "swiftllm.launch.worker_cmd",
            "--model",
            model,
            "--device",
            args.device,
            "--bind",
            address,
            *extra,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        while not os.path.exists(address.removeprefix("ipc://")):
            time.sleep(0.1)
        client = TimedClient(address)
        client.hello()
        mc = ModelConfig.from_dir(model)
        blocks = 2048
        client.init_cache(block_size=16, num_blocks=blocks, num_cpu_blocks=0, max_model_len=1024)
        config = EngineConfig(max_model_len=1024, swap_space_gb=0.0)
        sched = config.scheduler_config(mc, blocks, 1)  # no swap: any block size
        run(client, mc, sched, True, args)  # warm up
        rows = [run(client, mc, sched, overlap, args) for overlap in (False, True, False, True)]
        client.shutdown()
    finally:
        worker.wait(30) if worker.poll() is None else None
    import torch

    name = (
        torch.cuda.get_device_name() if args.device == "cuda" else f"cpu ({os.cpu_count()} cores)"
    )
    model_name = "dummy " + args.dummy if args.dummy else "SmolLM2-135M-Instruct"
    out = {
        "device": args.device,
        "device_name": name,
        "model": model_name,
        "date": time.strftime("%Y-%m-%d"),
        "workload": vars(args),
        "runs": rows,
    }
    results = Path(os.environ.get("BENCH_OUT") or Path(__file__).parent / "results")
    results.mkdir(parents=True, exist_ok=True)
    (results / f"overlap_{args.device}.json").write_text(json.dumps(out, indent=1))
    plot(out, results / f"overlap_{args.device}.png")
    print(
        f"{'overlap':>8} {'steps':>6} {'wall ms/step':>13} {'worker busy ms/step':>20} {'worker idle':>12}"
    )
    for r in rows:
        print(
            f"{r['overlap']!s:>8} {r['steps']:>6} {r['wall_ms_per_step']:>13.2f} "
            f"{r['worker_busy_ms_per_step']:>20.2f} {r['worker_idle_fraction']:>11.1%}"
        )


if __name__ == "__main__":
    main()
