"""Session 33: is a server's first all-at-once run slower because the client opens its connections then?
Runs serving.py's run_all with, first, 200 concurrent GET /health on the same session (so that the connector
holds ~200 open connections), against a fresh server; prints each rate's output tok/s and engine steps.

    PYTHONPATH=.:bench python3 first_run_probe.py BASE_URL [warm|cold]"""

import asyncio
import sys

import aiohttp
import serving

base_url = sys.argv[1]
mode = sys.argv[2]
original = aiohttp.ClientSession.__aenter__


async def warmed(self):  # noqa: ANN001, ANN201
    session = await original(self)
    if mode == "warm":

        async def health() -> None:
            async with session.get(f"{base_url}/health") as response:
                await response.read()
                await asyncio.sleep(0.2)  # hold it open while the others connect

        await asyncio.gather(*(health() for _ in range(200)))
        pooled = sum(len(connections) for connections in session.connector._conns.values())
        print("connections open:", pooled, flush=True)
    return session


aiohttp.ClientSession.__aenter__ = warmed
config = serving.ServingConfig(
    base_url=base_url, request_rates=(float("inf"),) * 3, num_requests=200, seed=11
)
model, results = serving.event_loop_run(serving.run_all(config))
for result in results:
    print(mode, round(result.output_throughput), getattr(result.server, "steps", None), flush=True)
