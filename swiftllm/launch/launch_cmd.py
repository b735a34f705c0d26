"""`swiftctl launch`: start the worker process, size and allocate the KV cache, then serve the REST API here.

Shutdown on SIGINT/SIGTERM is ordered: stop accepting connections (/health turns 503, new requests get a
503), give running requests up to `shutdown_timeout` seconds to finish, end the rest with an error (a stream
gets a final error event and [DONE]), stop HTTP and the engine thread, ask the worker to shut down (kill it if
it does not), remove the socket directory; exit 0.

A worker that dies, or is taken over by another controller, is noticed within WATCH_INTERVAL_S: /health turns
503, every open request ends with an error naming the cause, and the launcher exits 1 with one line on
stderr (docs/worker_faults.md). The worker gets a fresh session token in its environment (protocol/auth.py).

The options are EngineConfig's (swiftllm/config.py). The worker starts as `python -m swiftllm.launch.worker_cmd`
with the WORKER_OPTIONS among them as flags: torch loads there, never in this process."""

import argparse
import asyncio
import contextlib
import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from swiftllm.config import EngineConfig
from swiftllm.controller.async_engine import AsyncEngine
from swiftllm.controller.engine import Engine
from swiftllm.controller.scheduler import SchedulerConfig
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.controller.worker_client import WorkerClient
from swiftllm.launch.args import (
    ENGINE_OPTIONS,
    SERVER_OPTIONS,
    WORKER_OPTIONS,
    add_config_flags,
    flags_from_config,
    options_from_args,
)
from swiftllm.model_config import ModelConfig
from swiftllm.models.resolve import resolve_model
from swiftllm.protocol.auth import TOKEN_ENV, new_token

WATCH_INTERVAL_S = 0.1  # how often serve() checks the worker process and the engine thread
# after open requests were failed, how long their handlers get to send the error before HTTP stops
FAIL_GRACE_S = 1.0
# how long /health answers 503 before the port closes after a fault, so that probes see why
UNHEALTHY_LINGER_S = 0.5


class ServeOutcome(NamedTuple):
    """How serving ended."""

    exit_code: int  # 0 after a signal, 1 after a dead worker or engine
    engine_stopped: bool  # the engine thread ended, so the worker client is free to send a shutdown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flags(parser, ENGINE_OPTIONS + SERVER_OPTIONS)
    parser.set_defaults(api_key=os.environ.get("SWIFTLLM_API_KEY"))


def start_worker(config: EngineConfig, address: str, token: str) -> subprocess.Popen:
    """`python -m swiftllm.launch.worker_cmd` with the worker's options from `config`, bound to `address`;
    the session token goes in its environment, never on its command line (readable in /proc)."""
    command = [
        sys.executable,
        "-m",
        "swiftllm.launch.worker_cmd",
        *flags_from_config(config, WORKER_OPTIONS),
        "--bind",
        address,
    ]
    # The worker runs in its own session (a terminal's Ctrl-C reaches only us; we stop it) and, on Linux, gets
    # SIGTERM if we die, even by SIGKILL, so none is orphaned: PR_SET_PDEATHSIG, set in the child before exec
    # (prctl looked up here: no dlopen there).
    die_with_parent = None
    if sys.platform == "linux":
        die_with_parent = functools.partial(ctypes.CDLL(None).prctl, 1, signal.SIGTERM)
    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent,
        env={**os.environ, TOKEN_ENV: token},
    )


def connect(
    worker: subprocess.Popen, socket_path: str, token: str, timeout_s: float = 900.0
) -> WorkerClient:
    """Wait until the worker has loaded its model and bound its socket, then open our session."""
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(socket_path):
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with code {worker.returncode} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start within {timeout_s:g} s")
        time.sleep(0.1)
    client = WorkerClient(f"ipc://{socket_path}")
    client.hello(token)
    return client


def allocate_cache(
    config: EngineConfig, client: WorkerClient, model_config: ModelConfig
) -> SchedulerConfig:
    """Size the cache (profiled on a GPU, kv_cache_memory_gb on CPU, or num_gpu_blocks) and allocate it."""
    block_size = config.block_size
    profile = client.call("profile", block_size=block_size)
    num_gpu_blocks = profile["num_blocks"]
    if client.info["device"] == "cpu":  # profiling means nothing on CPU: the budget is ours to set
        num_gpu_blocks = config.kv_cache_memory_bytes // profile["block_bytes"]
    if config.num_gpu_blocks is not None:
        num_gpu_blocks = config.num_gpu_blocks
    cache = config.cache_geometry(model_config, num_gpu_blocks, profile["block_bytes"])
    client.init_cache(block_size, cache.num_gpu_blocks, cache.num_cpu_blocks, cache.max_model_len)
    return SchedulerConfig.from_engine(config, cache)


def worker_problem(worker: subprocess.Popen, async_engine: AsyncEngine) -> str | None:
    """Why serving must stop, or None: a worker that exited, or an engine thread that failed (a worker
    taken over by another controller shows here: its steps get StaleEpoch)."""
    if worker.poll() is not None:
        return f"worker exited with code {worker.returncode}"
    if async_engine.error:
        return async_engine.health()
    return None


async def watch(
    stop: asyncio.Event, worker: subprocess.Popen, async_engine: AsyncEngine
) -> str | None:
    """Wait until `stop` is set (then None) or a worker problem shows (then why)."""
    while not stop.is_set():
        problem = worker_problem(worker, async_engine)
        if problem:
            return problem
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), WATCH_INTERVAL_S)
    return None


async def requests_ended(async_engine: AsyncEngine, timeout_s: float) -> None:
    """Wait until every open request has ended (its handler returned), or timeout_s."""
    deadline = time.monotonic() + timeout_s
    while async_engine.open and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def serve(config: EngineConfig, engine: Engine, worker: subprocess.Popen) -> ServeOutcome:
    """Serve the REST API until a signal (exit 0) or a dead worker or engine (exit 1)."""
    from aiohttp import web

    from swiftllm.controller.rest import RestServer

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async_engine = AsyncEngine(engine, loop, config.health_timeout)  # its thread starts stepping
    model_name = Path(config.model).name
    rest = RestServer(async_engine, engine.tokenizer, model_name, config.model, config.api_key)
    # handler_cancellation: a client that disconnects cancels its handler, which aborts its requests
    runner = web.AppRunner(
        rest.app, handler_cancellation=True, access_log=None, shutdown_timeout=2.0
    )
    problem = None
    try:
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        port = runner.addresses[0][1]
        print(f"SwiftLLM serving {model_name} on http://{config.host}:{port}", flush=True)
        problem = await watch(stop, worker, async_engine)
        if problem is None:  # a signal: drain
            await site.stop()  # no new connections
            async_engine.failure = "the server is shutting down"  # no new requests; /health 503
            draining = asyncio.ensure_future(requests_ended(async_engine, config.shutdown_timeout))
            problem = await watch(draining_done(draining), worker, async_engine)
            draining.cancel()
        if problem is not None:
            print(f"swiftctl: error: {problem}; shutting down", file=sys.stderr, flush=True)
            async_engine.fail_open(problem)
            await asyncio.sleep(UNHEALTHY_LINGER_S)
        else:
            async_engine.fail_open("the server shut down before this request finished")
        await requests_ended(async_engine, FAIL_GRACE_S)
    finally:
        await runner.cleanup()
        rest.close()
    exit_code = 0
    if problem is not None:
        exit_code = 1
    # a dead worker may hold the engine thread in a receive: do not wait long for it
    return ServeOutcome(exit_code=exit_code, engine_stopped=async_engine.stop(timeout_s=1.0))


def draining_done(draining: asyncio.Future) -> asyncio.Event:
    """An Event set when `draining` ends (watch() waits on an Event)."""
    done = asyncio.Event()
    draining.add_done_callback(lambda _: done.set())
    return done


def stop_worker(worker: subprocess.Popen, client: WorkerClient | None, polite: bool) -> None:
    """A shutdown request if the client is free to send one, else SIGTERM; SIGKILL if neither works."""
    stopped = False
    if client is not None and polite:  # else the engine thread may still use it: left to exit
        if worker.poll() is None:
            with contextlib.suppress(RuntimeError):  # WorkerError, or a step still in flight
                client.timeout_s = 10.0
                client.shutdown()
                stopped = True
        client.close()
    if not stopped and worker.poll() is None:
        worker.terminate()
    try:
        worker.wait(15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def run(args: argparse.Namespace) -> int:
    import uvloop

    config = EngineConfig(**options_from_args(args, ENGINE_OPTIONS + SERVER_OPTIONS))
    if config.workers != 1:
        raise ValueError(
            f"--workers {config.workers}: only 1 worker is supported yet (parallel workers come later)"
        )
    config = replace(config, model=resolve_model(config.model))
    # read both before starting a worker, so a bad model directory fails at once
    model_config = ModelConfig.from_dir(config.model)
    tokenizer = Tokenizer(config.model)
    runtime = tempfile.mkdtemp(prefix="swiftllm-")  # 0700: only we can reach the worker's socket
    socket_path = f"{runtime}/worker0.sock"
    # until the server handles signals, SIGTERM unwinds like Ctrl-C, through the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    token = new_token()
    worker = start_worker(config, f"ipc://{socket_path}", token)
    client = None
    polite = True  # the client is free to ask the worker to shut down (no engine thread uses it)
    try:
        client = connect(worker, socket_path, token)
        scheduler_config = allocate_cache(config, client, model_config)
        engine = Engine(client, model_config, tokenizer, scheduler_config)
        outcome = uvloop.run(serve(config, engine, worker))
        polite = outcome.engine_stopped
        return outcome.exit_code
    finally:
        stop_worker(worker, client, polite)
        shutil.rmtree(runtime, ignore_errors=True)
