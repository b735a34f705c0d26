"""`swiftctl worker`: load a model and serve it over the worker protocol until a shutdown request.

`swiftctl launch` starts each worker as `python -m swiftllm.launch.worker_cmd`, a fresh process: torch and
the kernels load there, never in the controller. Importing this module loads neither (only `run` does)."""

import argparse
import os
import signal
import sys
import time

import zmq

from swiftllm.config import EngineConfig
from swiftllm.launch.args import WORKER_OPTIONS, add_config_flags, options_from_args
from swiftllm.models.resolve import resolve_model
from swiftllm.protocol.auth import TOKEN_ENV, check_bind, session_token


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flags(parser, (*WORKER_OPTIONS, "pipeline_parallel_size"))
    parser.add_argument(
        "--bind", help="ZMQ address, e.g. tcp://127.0.0.1:5555 (default: a private ipc:// path)"
    )
    parser.add_argument("--rank", type=int, default=0, help="this worker's rank in its group")
    parser.add_argument(
        "--world-size", type=int, default=1, help="workers in the group (every rank of every stage)"
    )
    parser.add_argument(
        "--dist-init",
        help="torch.distributed rendezvous tcp://HEAD:PORT, the same for every rank "
        "(unauthenticated: keep it on a private network)",
    )
    parser.add_argument(
        "--token-file",
        help=f"file (mode 0600) holding the session token a hello must carry (default: ${TOKEN_ENV}; "
        "without either, only a local address may be bound)",
    )


def report(line: str) -> None:
    """A status or error line for people: stderr (stdout carries only the listening line)."""
    print(f"swiftllm worker: {line}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from swiftllm.worker.model_runner import ModelRunner, WorkerConfig
    from swiftllm.worker.server import WorkerServer

    started = time.monotonic()
    try:
        if not 0 <= args.rank < args.world_size:
            raise ValueError(f"rank {args.rank} is not in [0, {args.world_size})")
        token = session_token(args.token_file)
        os.environ.pop(TOKEN_ENV, None)  # not inherited by anything this process starts
        check_bind(args.bind, token)  # before loading the model
        options = options_from_args(args, WORKER_OPTIONS)  # WorkerConfig's fields of the same names
        # the flags are EngineConfig's: checked by its rules, as `swiftctl launch` checks them
        EngineConfig(
            **options, workers=args.world_size, pipeline_parallel_size=args.pipeline_parallel_size
        )
        # ModelRunner would take torch's env:// rendezvous, which this command does not document
        if args.world_size > 1 and args.dist_init is None:
            raise ValueError(f"--world-size {args.world_size} needs --dist-init tcp://HEAD:PORT")
        # announced once every flag is checked: a refused flag is the only line
        report(f"loading {args.model or 'the embedded model'}")
        options["model"] = resolve_model(args.model)
        config = WorkerConfig(
            **options,
            rank=args.rank,
            world_size=args.world_size,
            pipeline_size=args.pipeline_parallel_size,
            dist_init=args.dist_init,
        )
        if args.world_size > 1:  # torch's rendezvous is silent until all ranks come (or 30 minutes)
            report(f"rank {args.rank}: waiting for {args.world_size} ranks at {args.dist_init}")
        # the rendezvous and the load block in C++, where Python's Ctrl-C handler waits: end at once
        interrupt = signal.signal(signal.SIGINT, signal.SIG_DFL)
        runner = ModelRunner(config)
        signal.signal(signal.SIGINT, interrupt)
        server = WorkerServer(runner, bind=args.bind, token=token)
    except (RuntimeError, OSError, ValueError, zmq.ZMQError) as e:  # ModelError is a ValueError
        report(str(e))  # a clear line, not a traceback
        return 2
    report(f"loaded on {runner.device} in {time.monotonic() - started:.1f} s")
    # a terminated worker still removes its socket dir (or file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        # inside the try: a SIGTERM sent as soon as this line is read still unwinds through close()
        print(f"swiftllm worker listening on {server.address}", flush=True)
        server.serve()
    except KeyboardInterrupt:
        return 130
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m swiftllm.launch.worker_cmd")
    add_arguments(cli)
    sys.exit(run(cli.parse_args()))
