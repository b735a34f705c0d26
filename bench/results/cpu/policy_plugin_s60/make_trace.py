"""The synthetic arrival trace of this folder's README: 60 requests, Poisson arrivals at 8 per second,
prompts of 20-1,500 tokens and outputs of 5-300 (seeded), in bench/workload.py's arrival-trace format."""

import json
import random

random.seed(1)
t = 0.0
rows = []
for _ in range(60):
    t += random.expovariate(8.0)
    rows.append(
        {
            "t": round(t, 4),
            "input_len": random.randint(20, 1500),
            "output_len": random.randint(5, 300),
        }
    )
with open("trace.json", "w") as out:
    json.dump(rows, out)
