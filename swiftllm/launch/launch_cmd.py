"""`swiftctl launch`: start the worker process, size and allocate the KV cache, then serve the REST API here.

Shutdown on SIGINT/SIGTERM is ordered: stop HTTP, stop the engine thread, ask the worker to shut down (kill
it if it does not), remove the socket directory. A worker that dies makes the server exit non-zero.

The options are EngineConfig's (swiftllm/config.py). The worker starts as `python -m swiftllm.launch.worker_cmd`
with the WORKER_OPTIONS among them as flags: torch loads there, never in this process."""

import argparse
import asyncio
import contextlib
import ctypes
import functools
import logging
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
from swiftllm.controller.server_log import ServedModel, StatusLine, startup_summary
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

log = logging.getLogger("swiftllm.status")


class ServeOutcome(NamedTuple):
    """How serving ended."""

    exit_code: int  # 0 after a signal, 1 after a dead worker or engine
    engine_stopped: bool  # the engine thread ended, so the worker client is free to send a shutdown


def add_arguments(parser: argparse.ArgumentParser, positional_model: bool = False) -> None:
    """launch's flags; `swiftctl serve` takes the model as its argument instead of `--model`."""
    names = ENGINE_OPTIONS + SERVER_OPTIONS
    if positional_model:
        names = tuple(name for name in names if name != "model")
    add_config_flags(parser, names)
    parser.set_defaults(api_key=os.environ.get("SWIFTLLM_API_KEY"))


def start_worker(config: EngineConfig, address: str) -> subprocess.Popen:
    """`python -m swiftllm.launch.worker_cmd` with the worker's options from `config`, bound to `address`."""
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
        command, stdout=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent
    )


def connect(worker: subprocess.Popen, socket_path: str, timeout_s: float = 900.0) -> WorkerClient:
    """Wait until the worker has loaded its model and bound its socket, then open our session."""
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(socket_path):
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with code {worker.returncode} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start within {timeout_s:g} s")
        time.sleep(0.1)
    client = WorkerClient(f"ipc://{socket_path}")
    client.hello()
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
    """Why serving must stop, or None: a worker that exited, or an engine thread that failed."""
    if worker.poll() is not None:
        return f"worker exited with code {worker.returncode}"
    if async_engine.error:
        return async_engine.health()
    return None


async def serve(
    config: EngineConfig, engine: Engine, worker: subprocess.Popen, served: ServedModel
) -> ServeOutcome:
    """Serve the REST API until a signal (exit 0) or a dead worker or engine (exit 1).

    Prints the start-up summary (stderr), then the line saying where it serves (stdout, alone there:
    tests and scripts wait for it); while busy, logs a status line every `stats_interval` seconds; on
    the way out, one line saying why."""
    from aiohttp import web

    from swiftllm.controller.rest import RestServer

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async_engine = AsyncEngine(engine, loop, config.health_timeout)  # its thread starts stepping
    rest = RestServer(async_engine, engine.tokenizer, served.name, config.model, config.api_key)
    access_log = None
    if config.log_requests:
        access_log = logging.getLogger("swiftllm.access")
    # handler_cancellation: a client that disconnects cancels its handler, which aborts its requests
    runner = web.AppRunner(
        rest.app,
        handler_cancellation=True,
        access_log=access_log,
        access_log_format='%a "%r" %s, %b bytes, %Tf s',
        shutdown_timeout=2.0,
    )
    status = StatusLine(async_engine)
    next_status_at = time.monotonic() + config.stats_interval
    exit_code = 0
    reason = "stopped by a signal"
    try:
        await runner.setup()
        await web.TCPSite(runner, config.host, config.port).start()
        url = f"http://{config.host}:{runner.addresses[0][1]}"
        # stdout carries only the serving line (scripts wait for it); the rest is for people: stderr
        print(startup_summary(served, url), file=sys.stderr, flush=True)
        print(f"SwiftLLM serving {served.name} on {url}", flush=True)
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            problem = worker_problem(worker, async_engine)
            if problem:
                rest.failure = problem
                print(f"swiftctl: error: {problem}; shutting down", file=sys.stderr, flush=True)
                exit_code = 1
                reason = problem
                break
            if config.stats_interval and time.monotonic() >= next_status_at:
                next_status_at = time.monotonic() + config.stats_interval
                line = status.line()
                if line is not None:
                    log.info(line)
    finally:
        await runner.cleanup()
        rest.pool.shutdown(wait=False)
    engine_stopped = async_engine.stop()
    served_count = sum(async_engine.finished.values())
    print(
        f"SwiftLLM shut down ({reason}) after {served_count} requests", file=sys.stderr, flush=True
    )
    return ServeOutcome(exit_code=exit_code, engine_stopped=engine_stopped)


def stop_worker(worker: subprocess.Popen, client: WorkerClient | None, polite: bool) -> None:
    """A shutdown request if the client is free to send one, else SIGTERM; SIGKILL if neither works."""
    stopped = False
    if client is not None:
        if polite and worker.poll() is None:
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
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
    )
    # the worker gets the resolved thread count: it cannot know how many workers share the cores
    config = replace(config, model=resolve_model(config.model), threads=config.cpu_threads)
    # read both before starting a worker, so a bad model directory fails at once
    model_config = ModelConfig.from_dir(config.model)
    tokenizer = Tokenizer(config.model, config.chat_template)
    runtime = tempfile.mkdtemp(prefix="swiftllm-")  # 0700: only we can reach the worker's socket
    socket_path = f"{runtime}/worker0.sock"
    # until the server handles signals, SIGTERM unwinds like Ctrl-C, through the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    worker = start_worker(config, f"ipc://{socket_path}")
    client = None
    polite = True  # the client is free to ask the worker to shut down (no engine thread uses it)
    try:
        client = connect(worker, socket_path)
        scheduler_config = allocate_cache(config, client, model_config)
        engine = Engine(client, model_config, tokenizer, scheduler_config, seed=config.seed)
        served = ServedModel(
            name=config.served_model_name or Path(config.model).name,
            path=config.model,
            dtype=client.info["dtype"],
            devices=[client.info["device"]],
            cache=scheduler_config,
        )
        outcome = uvloop.run(serve(config, engine, worker, served))
        polite = outcome.engine_stopped
        return outcome.exit_code
    finally:
        stop_worker(worker, client, polite)
        shutil.rmtree(runtime, ignore_errors=True)
