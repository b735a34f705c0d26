"""`swiftctl worker`: load a model and serve it over the worker protocol until a shutdown request."""

import argparse
import signal
import sys

import zmq

from swiftllm.launch.cli import add_model_args
from swiftllm.model_config import ModelError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_args(parser, max_model_len=False)
    parser.add_argument(
        "--bind", help="ZMQ address, e.g. tcp://127.0.0.1:5555 (default: a private ipc:// path)"
    )
    parser.add_argument(
        "--load-format", default="auto", choices=("auto", "dummy"), help="dummy: random weights"
    )


def run(args: argparse.Namespace) -> int:
    from swiftllm.models.resolve import resolve_model  # torch loads only when a worker starts
    from swiftllm.worker.model_runner import ModelRunner, WorkerConfig
    from swiftllm.worker.server import WorkerServer

    try:
        runner = ModelRunner(
            WorkerConfig(
                model=resolve_model(args.model),
                device=args.device,
                dtype=args.dtype,
                load_format=args.load_format,
            )
        )
        server = WorkerServer(runner, bind=args.bind)
    except (ModelError, RuntimeError, OSError, zmq.ZMQError) as e:  # a clear line, not a traceback
        print(f"swiftllm worker: {e}", file=sys.stderr)
        return 2
    signal.signal(
        signal.SIGTERM, lambda *_: sys.exit(143)
    )  # a terminated worker still removes its socket dir
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
