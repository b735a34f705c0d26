"""A controller for a tensor-parallel group of workers that imports nothing from SwiftLLM: custom_controller.py's
generation loop, with a group in place of its one worker.

Start the ranks (one command each, here or on other hosts; the same --dist-init for all):

    swiftctl worker --model DIR --rank 0 --world-size 2 --dist-init tcp://127.0.0.1:29500 --bind tcp://127.0.0.1:5550
    swiftctl worker --model DIR --rank 1 --world-size 2 --dist-init tcp://127.0.0.1:29500 --bind tcp://127.0.0.1:5551
    .venv/bin/python examples/group_controller.py --worker tcp://127.0.0.1:5550 --worker tcp://127.0.0.1:5551

Ranks bound to other hosts' addresses need a session token (README, Two hosts): pass the same file with
--token-file to each `swiftctl worker` and to this script.

The group handshake (docs/protocol.md): every request goes to every rank, each over its own socket and with
the epoch that rank's hello gave; every rank answers every request, in order; rank 0's tokens are used (all
ranks sample the same ones from the same gathered logits)."""

import argparse
import sys
from pathlib import Path
from typing import Any

from custom_controller import Worker, generate
from tokenizers import Tokenizer


class WorkerGroup:
    """The ranks in rank order, driven as one Worker (the same send / recv / call / send_step)."""

    def __init__(self, addresses: list[str]) -> None:
        self.ranks = [Worker(address) for address in addresses]

    def hello(self, **token: str) -> dict[str, Any]:
        """`token`: {"token": secret} for ranks started with a session token (all share one)."""
        infos = [rank.call("hello", **token) for rank in self.ranks]
        for position, (rank, info) in enumerate(zip(self.ranks, infos)):
            if (info["rank"], info["world_size"]) != (position, len(self.ranks)):
                sys.exit(f"worker #{position} is rank {info['rank']} of {info['world_size']}")
            rank.epoch = info["epoch"]  # each rank has its own session
        return infos[0]

    def send(self, op: str, **fields: Any) -> None:
        for rank in self.ranks:
            rank.send(op, **fields)

    def recv(self) -> dict[str, Any]:
        replies = [
            rank.recv() for rank in self.ranks
        ]  # every rank answers; rank 0's tokens are the group's
        return replies[0]

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        self.send(op, **fields)
        return self.recv()

    def send_step(
        self, tokens: list[int], context_len: int, blocks: list[int], sample: int = 1
    ) -> None:
        for rank in self.ranks:
            rank.send_step(tokens, context_len, blocks, sample)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--worker", action="append", required=True, help="each rank's address, rank 0 first"
    )
    parser.add_argument("--prompt", default="The capital of France is")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--token-file",
        help="the ranks' session token, if they have one (the two-host recipe in the README gives one)",
    )
    args = parser.parse_args()
    group = WorkerGroup(args.worker)
    token = {} if args.token_file is None else {"token": Path(args.token_file).read_text().strip()}
    info = group.hello(**token)
    config = info["model_config"]
    tokenizer = Tokenizer.from_file(str(Path(info["model_dir"]) / "tokenizer.json"))
    prompt = tokenizer.encode(args.prompt).ids
    if not prompt or args.max_tokens < 1 or len(prompt) + args.max_tokens > config["max_context"]:
        sys.exit(f"need a prompt of >= 1 tokens and a total <= {config['max_context']}")
    # generate() is written against one Worker; the group has its methods
    print(tokenizer.decode(generate(group, prompt, args.max_tokens, set(config["eos_token_ids"]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
