"""Session 41 (CPU only): would pacing a burst help first come first served reach issue 16's all-at-once target?

bench/serving_sim.py's engine over the fitted H200 cost model, serving.py's first 200 requests all at once, 256
sequences, budget 16,384. Rows: first come first served; the same arrival order with longest-first's pacing
(the `paced` policy, which this study led to; the pacing floor PACED_MIN_TOKENS is varied for this process
only); longest-first itself.

    PYTHONPATH=. python3 bench/results/cpu/fcfs_pacing_s41.py
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/

import serving_sim  # noqa: E402
from schedule_sim import StepCostModel  # noqa: E402

import swiftllm.controller.scheduler as scheduler  # noqa: E402

serving = serving_sim.serving


def run(policy: str, floor: int) -> tuple[float, float, float, float]:
    scheduler.PACED_MIN_TOKENS = floor
    config = serving.ServingConfig(base_url="", num_requests=200, seed=0, burstiness=1.0)
    specs = serving.request_specs(config, 1)
    send_times = serving.arrival_offsets(len(specs), math.inf, 1.0, 0)
    records, duration = serving_sim.simulate_rate(
        specs, send_times, 16384, 256, StepCostModel(), True, policy
    )
    result = serving.summarize(records, duration, math.inf)
    return duration, result.output_throughput, result.ttft_ms.median, result.ttft_ms.p99


def main() -> None:
    rows = [("first come first served", "fcfs", 160)]
    for floor in (160, 256, 384, 512, 1024):
        rows.append((f"arrival order, paced, floor {floor}", "paced", floor))
    rows.append(("longest-first (floor 160)", "longest-first", 160))
    print(f"{'policy':<36} {'run (s)':>8} {'out tok/s':>10} {'med TTFT':>9} {'p99 TTFT':>9}")
    for name, policy, floor in rows:
        duration, rate, median_ttft, p99_ttft = run(policy, floor)
        print(f"{name:<36} {duration:8.2f} {rate:10.0f} {median_ttft:9.0f} {p99_ttft:9.0f}")


if __name__ == "__main__":
    main()
