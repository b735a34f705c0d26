"""`swiftctl`: generate, pull, worker, launch, serve. Errors are one line on stderr and a non-zero exit.

`swiftctl serve MODEL [flags]` is `swiftctl launch --model MODEL [flags]` (vLLM's `vllm serve` habit)."""

import argparse
import sys
from collections.abc import Callable

import zmq

import swiftllm
from swiftllm.launch import launch_cmd, worker_cmd
from swiftllm.launch.args import ENGINE_OPTIONS, ShowDefaults, add_config_flags, options_from_args


def cmd_generate(args: argparse.Namespace) -> int:
    from swiftllm.llm import LLM
    from swiftllm.sampling_params import SamplingParams

    # generate's own flags (build_parser), named as SamplingParams' fields
    sampling = ("max_tokens", "temperature", "top_p", "top_k", "ignore_eos")
    params = SamplingParams(**options_from_args(args, sampling))
    llm = LLM(**options_from_args(args, ENGINE_OPTIONS))
    prompt = [{"role": "user", "content": args.prompt}] if args.chat else args.prompt
    sequence = llm.engine.add_request(llm.encode(prompt), params)
    shown = 0
    while not sequence.finished:  # stream each step's new text as it comes
        llm.engine.step()
        print(sequence.text[shown:], end="", flush=True)
        shown = len(sequence.text)
    sys.stdout.write("\n")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from swiftllm.models.gguf_import import ensure_default_model

    print(ensure_default_model())
    return 0


def add_command(
    commands: argparse._SubParsersAction, name: str, help_text: str, func: Callable[..., int]
) -> argparse.ArgumentParser:
    """A subcommand that `main` runs as `func(args)`; its --help shows the defaults."""
    command = commands.add_parser(name, help=help_text, formatter_class=ShowDefaults)
    command.set_defaults(func=func)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swiftctl",
        description="SwiftLLM: a tiny yet powerful LLM inference system",
        formatter_class=ShowDefaults,
    )
    parser.add_argument("--version", action="version", version=f"swiftctl {swiftllm.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    generate_help = "complete one prompt, streaming to stdout"
    generate = add_command(commands, "generate", generate_help, cmd_generate)
    add_config_flags(generate, ENGINE_OPTIONS)
    generate.add_argument("--prompt", required=True)
    generate.add_argument(
        "--chat", action="store_true", help="wrap the prompt in the model's chat template"
    )
    # generate's own sampling defaults (greedy, 64 tokens): a one-shot look at what the model says
    generate.add_argument("--max-tokens", type=int, default=64, help="tokens to generate at most")
    generate.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    generate.add_argument("--top-p", type=float, default=None, help="default: the model's")
    generate.add_argument("--top-k", type=int, default=None, help="default: the model's")
    generate.add_argument("--ignore-eos", action="store_true", help="go on past end-of-sequence")

    pull_help = "import the embedded SmolLM2-135M-Instruct model (done on first use anyway)"
    add_command(commands, "pull", pull_help, cmd_pull)
    worker_help = "start one worker process, for a controller of your own"
    worker_cmd.add_arguments(add_command(commands, "worker", worker_help, worker_cmd.run))
    launch_help = "start workers, the controller and the REST server"
    launch_cmd.add_arguments(add_command(commands, "launch", launch_help, launch_cmd.run))
    serve = add_command(commands, "serve", "serve MODEL: `launch --model MODEL`", launch_cmd.run)
    serve.add_argument("model", help="HF-style model directory")
    launch_cmd.add_arguments(serve, positional_model=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    # ModelError is a ValueError; a ZMQError an address ZeroMQ cannot take (--worker-addrs garbage)
    except (ValueError, OSError, RuntimeError, zmq.ZMQError) as e:
        print(f"swiftctl: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
