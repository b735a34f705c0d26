"""`swiftctl worker`: load a model and serve it over the worker protocol until a shutdown request.

`swiftctl launch` starts each worker as `python -m swiftllm.launch.worker_cmd`, a fresh process: torch and
the kernels load there, never in the controller. Importing this module loads neither (only `run` does)."""

import argparse
import os
import signal
import sys

import zmq

from swiftllm.launch.args import WORKER_OPTIONS, add_config_flags
from swiftllm.model_config import ModelError
from swiftllm.models.resolve import resolve_model
from swiftllm.protocol.auth import TOKEN_ENV, check_bind, read_token_file, token_from_env


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flags(parser, WORKER_OPTIONS)
    parser.add_argument(
        "--bind", help="ZMQ address, e.g. tcp://127.0.0.1:5555 (default: a private ipc:// path)"
    )
    parser.add_argument(
        "--token-file",
        help=f"file (mode 0600) holding the session token a hello must carry (default: ${TOKEN_ENV}; "
        "without either, only a local address may be bound)",
    )


def run(args: argparse.Namespace) -> int:
    from swiftllm.worker.model_runner import ModelRunner, WorkerConfig
    from swiftllm.worker.server import WorkerServer

    try:
        token = token_from_env()
        os.environ.pop(TOKEN_ENV, None)  # not inherited by anything this process starts
        if args.token_file:
            token = read_token_file(args.token_file)
        check_bind(args.bind, token)  # before loading the model
        runner = ModelRunner(
            WorkerConfig(
                model=resolve_model(args.model),
                device=args.device,
                dtype=args.dtype,
                load_format=args.load_format,
                cuda_graphs=args.cuda_graphs,
            )
        )
        server = WorkerServer(runner, bind=args.bind, token=token)
    except (
        ModelError,
        RuntimeError,
        OSError,
        ValueError,
        zmq.ZMQError,
    ) as e:  # a clear line, not a traceback
        print(f"swiftllm worker: {e}", file=sys.stderr)
        return 2
    # a terminated worker still removes its socket dir
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"swiftllm worker listening on {server.address}", flush=True)
    try:
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
