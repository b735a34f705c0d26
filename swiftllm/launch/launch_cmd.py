"""`swiftctl launch`: start the worker process, size and allocate the KV cache, then serve the REST API here.

Shutdown on SIGINT/SIGTERM is ordered: stop HTTP, stop the engine thread, ask the worker to shut down (kill
it if it does not), remove the socket directory. A worker that dies makes the server exit non-zero."""

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
from pathlib import Path

from swiftllm.controller.engine import Engine
from swiftllm.controller.scheduler import SchedulerConfig
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.controller.worker_client import WorkerClient
from swiftllm.launch.cli import add_model_args
from swiftllm.llm import cache_geometry, resolve_model
from swiftllm.model_config import ModelConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    p.add_argument("--workers", type=int, default=1, help="worker processes, one per device")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed)")
    for flag, default in (
        ("--block-size", 16),
        ("--max-num-seqs", 256),
        ("--max-num-batched-tokens", 2048),
    ):
        p.add_argument(flag, type=int, default=default)
    p.add_argument(
        "--swap-space", type=float, default=4.0, help="CPU swap space for preempted sequences, GiB"
    )
    p.add_argument(
        "--num-gpu-blocks", type=int, default=None, help="device KV blocks (default: profiled)"
    )
    p.add_argument(
        "--kv-cache-memory-gb",
        type=float,
        default=1.0,
        help="KV cache size when the worker is on CPU",
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get("SWIFTLLM_API_KEY"),
        help="require 'Authorization: Bearer KEY' on /v1/ (default: $SWIFTLLM_API_KEY)",
    )
    p.add_argument(
        "--health-timeout",
        type=float,
        default=60.0,
        help="seconds without engine progress = unhealthy",
    )


def start_worker(args: argparse.Namespace, model: str, address: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "swiftllm.launch.worker_cmd",
        "--model",
        model,
        "--device",
        args.device,
        "--dtype",
        args.dtype,
        "--bind",
        address,
    ]
    # The worker runs in its own session (a terminal's Ctrl-C reaches only us; we stop it) and, on Linux, gets
    # SIGTERM if we die, even by SIGKILL, so none is orphaned: PR_SET_PDEATHSIG, set in the child before exec
    # (prctl looked up here: no dlopen there).
    die_with_parent = (
        functools.partial(ctypes.CDLL(None).prctl, 1, signal.SIGTERM)
        if sys.platform == "linux"
        else None
    )
    return subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent
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
    args: argparse.Namespace, client: WorkerClient, mc: ModelConfig
) -> SchedulerConfig:
    """Size the cache (profiled on a GPU, --kv-cache-memory-gb on CPU, or --num-gpu-blocks) and allocate it."""
    bs = args.block_size
    profile = client.call("profile", block_size=bs)
    if client.info["device"] == "cpu":  # profiling means nothing on CPU: the budget is ours to set
        profile["num_blocks"] = int(args.kv_cache_memory_gb * 2**30) // profile["block_bytes"]
    gpu_blocks, cpu_blocks, max_len = cache_geometry(
        mc,
        args.num_gpu_blocks or profile["num_blocks"],
        profile["block_bytes"],
        bs,
        args.max_model_len,
        args.swap_space,
    )
    client.init_cache(bs, gpu_blocks, cpu_blocks, max_len)
    return SchedulerConfig(
        max_model_len=max_len,
        num_gpu_blocks=gpu_blocks,
        num_cpu_blocks=cpu_blocks,
        block_size=bs,
        max_num_seqs=args.max_num_seqs,
        max_num_batched_tokens=args.max_num_batched_tokens,
    )


async def serve(
    args: argparse.Namespace, engine: Engine, model: str, worker: subprocess.Popen
) -> tuple[int, bool]:
    """Serve until a signal (exit 0) or a dead worker or engine (exit 1); returns (code, engine thread ended)."""
    from aiohttp import web

    from swiftllm.controller.async_engine import AsyncEngine
    from swiftllm.controller.rest import RestServer

    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async_engine = AsyncEngine(engine, loop, args.health_timeout)  # its thread starts stepping
    rest = RestServer(async_engine, engine.tokenizer, Path(model).name, model, args.api_key)
    # handler_cancellation: a client that disconnects cancels its handler, which aborts its requests
    runner = web.AppRunner(
        rest.app, handler_cancellation=True, access_log=None, shutdown_timeout=2.0
    )
    code = 0
    try:
        await runner.setup()
        await web.TCPSite(runner, args.host, args.port).start()
        print(
            f"SwiftLLM serving {Path(model).name} on http://{args.host}:{runner.addresses[0][1]}",
            flush=True,
        )
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            problem = (
                f"worker exited with code {worker.returncode}"
                if worker.poll() is not None
                else (async_engine.health() if async_engine.error else None)
            )
            if problem:
                rest.failure = problem
                print(f"swiftctl: error: {problem}; shutting down", file=sys.stderr, flush=True)
                code = 1
                break
    finally:
        await runner.cleanup()
        rest.pool.shutdown(wait=False)
    return code, async_engine.stop()


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

    if args.workers != 1:
        raise ValueError(
            f"--workers {args.workers}: only 1 worker is supported yet (parallel workers come later)"
        )
    model = resolve_model(args.model)
    model_config, tokenizer = (
        ModelConfig.from_dir(model),
        Tokenizer(model),
    )  # fail before starting a worker
    runtime = tempfile.mkdtemp(prefix="swiftllm-")  # 0700: only we can reach the worker's socket
    socket_path = f"{runtime}/worker0.sock"
    # until the server handles signals, SIGTERM unwinds like Ctrl-C, through the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    worker = start_worker(args, model, f"ipc://{socket_path}")
    client, polite = None, True
    try:
        client = connect(worker, socket_path)
        engine = Engine(client, model_config, tokenizer, allocate_cache(args, client, model_config))
        code, polite = uvloop.run(
            serve(args, engine, model, worker)
        )  # polite: no engine thread uses the client
        return code
    finally:
        stop_worker(worker, client, polite)
        shutil.rmtree(runtime, ignore_errors=True)
