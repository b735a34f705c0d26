"""`swiftctl`: generate, pull, worker, launch. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import sys

from swiftllm.model_config import ModelError


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="HF-style model directory (default: the embedded SmolLM2-135M)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    p.add_argument("--max-model-len", type=int, default=None)


def cmd_generate(args: argparse.Namespace) -> int:
    from swiftllm.llm import LLM
    from swiftllm.sampling_params import SamplingParams

    params = SamplingParams(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
                            top_k=args.top_k, seed=args.seed, ignore_eos=args.ignore_eos)
    llm = LLM(args.model, device=args.device, dtype=args.dtype, max_model_len=args.max_model_len)
    prompt = [{"role": "user", "content": args.prompt}] if args.chat else args.prompt
    seq = llm.engine.add_request(llm.encode(prompt), params)
    shown = 0
    while not seq.finished:  # stream each step's new text as it comes
        llm.engine.step()
        sys.stdout.write(seq.text[shown:])
        sys.stdout.flush()
        shown = len(seq.text)
    sys.stdout.write("\n")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from swiftllm.worker.gguf_import import ensure_default_model

    print(ensure_default_model())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swiftctl", description="SwiftLLM: a tiny yet powerful LLM inference system")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="complete one prompt, streaming to stdout")
    add_model_args(g)
    g.add_argument("--prompt", required=True)
    g.add_argument("--chat", action="store_true", help="wrap the prompt in the model's chat template")
    g.add_argument("--max-tokens", type=int, default=64)
    g.add_argument("--temperature", type=float, default=0.0)
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--seed", type=int, default=None)
    g.add_argument("--ignore-eos", action="store_true")
    g.set_defaults(func=cmd_generate)

    p = sub.add_parser("pull", help="import the embedded SmolLM2-135M-Instruct model (done on first use anyway)")
    p.set_defaults(func=cmd_pull)

    from swiftllm.launch import launch_cmd, worker_cmd

    w = sub.add_parser("worker", help="start one worker process, for a controller of your own")
    worker_cmd.add_arguments(w)
    w.set_defaults(func=worker_cmd.run)
    la = sub.add_parser("launch", help="start workers, the controller and the REST server")
    launch_cmd.add_arguments(la)
    la.set_defaults(func=launch_cmd.run)
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
