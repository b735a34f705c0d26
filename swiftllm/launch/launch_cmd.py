"""`swiftctl launch`: start the worker processes (or attach to ones started by hand), size and allocate the
KV cache, then serve the REST API here.

Shutdown on SIGINT/SIGTERM is ordered: stop HTTP, stop the engine thread, ask the workers to shut down (kill
them if they do not), remove the socket directory. A worker that dies makes the server exit non-zero, its
in-flight requests failed. Workers attached with --worker-addrs are left running.

The options are EngineConfig's (swiftllm/config.py). Each worker starts as `python -m swiftllm.launch.worker_cmd`
(launch/workers.py) with the WORKER_OPTIONS among them as flags: torch loads there, never in this process."""

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from swiftllm.config import EngineConfig, check_split
from swiftllm.controller.async_engine import AsyncEngine
from swiftllm.controller.engine import Engine
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.controller.worker_group import WorkerGroup, allocate_cache
from swiftllm.launch.args import (
    ENGINE_OPTIONS,
    SERVER_OPTIONS,
    add_config_flags,
    options_from_args,
)
from swiftllm.launch.workers import LocalWorkers
from swiftllm.model_config import ModelConfig
from swiftllm.models.resolve import resolve_model


class ServeOutcome(NamedTuple):
    """How serving ended."""

    exit_code: int  # 0 after a signal, 1 after a dead worker or engine
    engine_stopped: bool  # the engine thread ended, so the worker client is free to send a shutdown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flags(parser, ENGINE_OPTIONS + SERVER_OPTIONS)
    parser.set_defaults(api_key=os.environ.get("SWIFTLLM_API_KEY"))


def serving_problem(workers: LocalWorkers | None, async_engine: AsyncEngine) -> str | None:
    """Why serving must stop, or None: a worker that exited, or an engine thread that failed."""
    if workers is not None and workers.problem():
        return workers.problem()
    if async_engine.error:
        return async_engine.health()
    return None


async def serve(config: EngineConfig, engine: Engine, workers: LocalWorkers | None) -> ServeOutcome:
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
    exit_code = 0
    try:
        await runner.setup()
        await web.TCPSite(runner, config.host, config.port).start()
        port = runner.addresses[0][1]
        print(f"SwiftLLM serving {model_name} on http://{config.host}:{port}", flush=True)
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            problem = serving_problem(workers, async_engine)
            if problem:
                rest.failure = problem
                print(f"swiftctl: error: {problem}; shutting down", file=sys.stderr, flush=True)
                exit_code = 1
                break
    finally:
        await runner.cleanup()
        rest.pool.shutdown(wait=False)
    return ServeOutcome(exit_code=exit_code, engine_stopped=async_engine.stop())


def run(args: argparse.Namespace) -> int:
    import uvloop

    config = EngineConfig(**options_from_args(args, ENGINE_OPTIONS + SERVER_OPTIONS))
    config = replace(config, model=resolve_model(config.model))
    # read both before starting a worker, so a bad model directory (or split) fails at once
    model_config = ModelConfig.from_dir(config.model)
    check_split(model_config, config.world_size, config.pipeline_parallel_size)
    tokenizer = Tokenizer(config.model)
    runtime = tempfile.mkdtemp(prefix="swiftllm-")  # 0700: only we can reach the workers' sockets
    # until the server handles signals, SIGTERM unwinds like Ctrl-C, through the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workers = None
    group = None
    polite = True  # the group is free to ask the workers to shut down (no engine thread uses it)
    try:
        if config.worker_addrs is None:
            workers = LocalWorkers(config, runtime)
            group = workers.connect()
        else:
            group = WorkerGroup(config.worker_address_list)
            group.hello()
        scheduler_config = allocate_cache(config, group, model_config)
        engine = Engine(group, model_config, tokenizer, scheduler_config)
        outcome = uvloop.run(serve(config, engine, workers))
        polite = outcome.engine_stopped
        return outcome.exit_code
    finally:
        if workers is not None:
            workers.stop(polite)
        elif group is not None:
            group.close()  # attached workers serve on, for the next controller
        shutil.rmtree(runtime, ignore_errors=True)
