"""Session 46: how much of `paced`'s simulated gain all at once (bench/serving_sim.py: 5,853 against fcfs's
5,298 output tok/s) depends on the longest requests reaching the engine early. serving_sim.py adds the 200
requests in the file's order at t = 0; over HTTP they reach the engine in whatever order their handlers
finish. Here the same requests are added in the file's order and in shuffled orders, under fcfs, paced and
longest-first, on serving_sim's simulated engine and cost model (no GPU).

    PYTHONPATH=. python3 bench/results/cpu/paced_arrival_order_s46.py [--orders 8]"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from schedule_sim import StepCostModel  # noqa: E402
from serving_sim import serving, simulate_rate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=8, help="shuffled orders besides the file's")
    args = ap.parse_args()
    model = StepCostModel()
    config = serving.ServingConfig(base_url="", num_requests=200, seed=0)
    specs = serving.request_specs(config, 5)  # serving_sim's draw for the fifth rate (inf)
    longest = max(range(len(specs)), key=lambda i: specs[i].output_len)
    print(
        f"longest request: #{longest} of the file's order, {specs[longest].output_len} output tokens"
    )
    print(f"{'order':>8} {'longest at':>10} {'fcfs':>7} {'paced':>7} {'longest-first':>14}")
    for order in range(args.orders + 1):
        indices = list(range(len(specs)))
        if order:
            random.Random(order).shuffle(indices)
        shuffled = [specs[i] for i in indices]
        rates = []
        for policy in ("fcfs", "paced", "longest-first"):
            records, duration = simulate_rate(
                shuffled, [0.0] * len(specs), 16384, 512, model, True, policy
            )
            rates.append(serving.summarize(records, duration, math.inf).output_throughput)
        name = "file" if order == 0 else f"seed {order}"
        print(
            f"{name:>8} {indices.index(longest):>10} {rates[0]:7.0f} {rates[1]:7.0f} {rates[2]:14.0f}"
        )


if __name__ == "__main__":
    main()
