"""`swiftctl launch`: start the worker processes (or attach to ones started by hand), size and allocate the
KV cache, then serve the REST API here.

Shutdown on SIGINT/SIGTERM is ordered: stop accepting connections (/health turns 503, new requests get a
503), give running requests up to `shutdown_timeout` seconds to finish, end the rest with an error (a stream
gets a final error event and [DONE]), stop HTTP and the engine thread, ask the workers to shut down (kill
them if they do not), remove the socket directory; exit 0. Workers attached with --worker-addrs are left
running.

A worker that dies, or is taken over by another controller, is noticed within WATCH_INTERVAL_S: /health turns
503, every open request ends with an error naming the cause, and the launcher exits 1 with one line on
stderr (docs/worker_faults.md). Spawned workers get a fresh session token in their environment
(protocol/auth.py); workers started by hand take theirs from --token-file, and so does the launcher.

The options are EngineConfig's (swiftllm/config.py). Each worker starts as `python -m swiftllm.launch.worker_cmd`
(launch/workers.py) with the WORKER_OPTIONS among them as flags: torch loads there, never in this process."""

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from swiftllm.config import EngineConfig, check_split
from swiftllm.controller.async_engine import AsyncEngine
from swiftllm.controller.engine import Engine
from swiftllm.controller.server_log import ServedModel, StatusLine, startup_summary
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.controller.worker_group import WorkerGroup, start_engine
from swiftllm.launch.args import ENGINE_OPTIONS, SERVER_OPTIONS, add_config_flags, options_from_args
from swiftllm.launch.workers import LocalWorkers
from swiftllm.model_config import ModelConfig
from swiftllm.models.resolve import resolve_model
from swiftllm.protocol.auth import session_token

if TYPE_CHECKING:  # aiohttp is imported only by `serve`
    from swiftllm.controller.rest import RestServer

WATCH_INTERVAL_S = 0.1  # how often serve() checks the worker process and the engine thread
# after open requests were failed, how long their handlers get to send the error before HTTP stops
FAIL_GRACE_S = 1.0
# how long /health answers 503 before the port closes after a fault, so that probes see why
UNHEALTHY_LINGER_S = 0.5


def add_arguments(parser: argparse.ArgumentParser, positional_model: bool = False) -> None:
    """launch's flags; `swiftctl serve` takes the model as its argument instead of `--model`."""
    names = ENGINE_OPTIONS + SERVER_OPTIONS
    if positional_model:
        names = tuple(name for name in names if name != "model")
    add_config_flags(parser, names)
    parser.set_defaults(api_key=os.environ.get("SWIFTLLM_API_KEY"))


async def watch(
    done: asyncio.Task, workers: LocalWorkers | None, async_engine: AsyncEngine, status: StatusLine
) -> str | None:
    """Wait until `done` is done (then None) or a problem shows (then why serving must stop: a worker
    that exited, or an engine thread that failed; a worker taken over by another controller shows
    there, as its steps get StaleEpoch); meanwhile log the status line every `status.interval_s`
    seconds. `done` is left as it is (neither cancelled nor awaited)."""
    while not done.done():
        if workers is not None and (problem := workers.problem()):
            return problem
        if async_engine.error:
            return async_engine.health()
        status.log_when_due()
        await asyncio.wait([done], timeout=WATCH_INTERVAL_S)
    return None


async def requests_ended(async_engine: AsyncEngine, rest: "RestServer", timeout_s: float) -> None:
    """Wait until every open request has ended (its handler returned), or timeout_s."""
    deadline = time.monotonic() + timeout_s
    while (async_engine.open or rest.handling) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def serve(
    config: EngineConfig, engine: Engine, workers: LocalWorkers | None, served: ServedModel
) -> tuple[int, bool]:
    """Serve the REST API until a signal (exit 0) or a dead worker or engine (exit 1). Returns the exit
    code and whether the engine thread stopped (only then is the worker client free to send a shutdown).

    Prints the start-up summary (stderr), then the line saying where it serves (stdout, alone there:
    tests and scripts wait for it); while busy, logs a status line every `stats_interval` seconds; on
    the way out, one line saying why."""
    from aiohttp import web

    from swiftllm.controller.rest import RUNNER_OPTIONS, RestServer

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async_engine = AsyncEngine(engine, loop, config.health_timeout)  # its thread starts stepping
    rest = RestServer(async_engine, engine.tokenizer, served.name, config.model, config.api_key)
    runner = web.AppRunner(
        rest.app,
        **RUNNER_OPTIONS,
        access_log=logging.getLogger("swiftllm.access") if config.log_requests else None,
        access_log_format='%a "%r" %s, %b bytes, %Tf s',
        shutdown_timeout=2.0,
    )
    status = StatusLine(async_engine, config.stats_interval)
    try:
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        url = f"http://{config.host}:{runner.addresses[0][1]}"
        # stdout carries only the serving line (scripts wait for it); the rest is for people: stderr
        print(startup_summary(served, url), file=sys.stderr)
        print(f"SwiftLLM serving {served.name} on {url}", flush=True)
        problem = await watch(asyncio.ensure_future(stop.wait()), workers, async_engine, status)
        if problem is None:  # a signal: drain
            await site.stop()  # no new connections
            async_engine.failure = "the server is shutting down"  # no new requests; /health 503
            draining = asyncio.ensure_future(
                requests_ended(async_engine, rest, config.shutdown_timeout)
            )
            problem = await watch(draining, workers, async_engine, status)
            draining.cancel()
        if problem is not None:
            print(f"swiftctl: error: {problem}; shutting down", file=sys.stderr)
            async_engine.fail_open(problem)
            await asyncio.sleep(UNHEALTHY_LINGER_S)
        else:
            async_engine.fail_open("the server shut down before this request finished")
        await requests_ended(async_engine, rest, FAIL_GRACE_S)
    finally:
        await runner.cleanup()
        rest.close()
    reason = problem or "stopped by a signal"
    # a dead worker may hold the engine thread in a receive: do not wait long for it
    engine_stopped = async_engine.stop(timeout_s=1.0)
    served_count = sum(async_engine.finished.values())
    print(f"SwiftLLM shut down ({reason}); requests ended: {served_count}", file=sys.stderr)
    return (0 if problem is None else 1), engine_stopped


def run(args: argparse.Namespace) -> int:
    import uvloop

    config = EngineConfig(**options_from_args(args, ENGINE_OPTIONS + SERVER_OPTIONS))
    # to stderr (basicConfig's default): stdout carries only the serving line
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # the workers get the resolved thread count: they cannot know how many workers share the cores
    config = replace(config, model=resolve_model(config.model), threads=config.cpu_threads)
    sys.setswitchinterval(config.gil_switch_interval)
    # read both before starting a worker, so a bad model directory (or split) fails at once
    model_config = ModelConfig.from_dir(config.model)
    check_split(model_config, config.world_size, config.pipeline_parallel_size)
    tokenizer = Tokenizer(config.model, config.chat_template)
    # and the address to serve on: a host that does not resolve failed only once the workers had loaded
    # the model, with the resolver's words alone (session 59)
    try:
        socket.getaddrinfo(config.host, config.port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ValueError(f"--host {config.host!r}: {e.strerror}") from e
    # until the server handles signals, SIGTERM unwinds like Ctrl-C, through the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workers = None
    group = None
    polite = True  # the group is free to ask the workers to shut down (no engine thread uses it)
    try:
        if config.worker_addrs is None:
            workers = LocalWorkers(config)
            group = workers.connect()
        else:
            group = WorkerGroup(config.worker_address_list, token=session_token(config.token_file))
            # a worker not (yet) listening is waited for, up to its client's timeout: say so
            timeout_s = group.clients[0].timeout_s
            print(
                f"waiting up to {timeout_s:g} s for the workers at {config.worker_addrs}",
                file=sys.stderr,
            )
            group.hello()
        engine = start_engine(config, group, model_config, tokenizer)
        if config.warm_up and group.info["device"] != "cpu":
            print("warming up: one step of throwaway requests", file=sys.stderr)
            engine.warm_up()
        served = ServedModel(
            name=config.served_model_name or Path(config.model).name,
            path=config.model,
            dtype=group.info["dtype"],
            devices=group.devices,
            cache=engine.scheduler.cfg,
        )
        exit_code, polite = uvloop.run(serve(config, engine, workers, served))
        return exit_code
    finally:
        if workers is not None:
            workers.stop(polite)
        elif group is not None and polite:  # attached workers serve on, for the next controller
            # not while the engine thread may still wait on a socket (a worker stopped mid-step): closed
            # under it, that thread died in a ZMQError traceback after the shutdown line (session 57)
            group.close()
