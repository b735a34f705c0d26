"""A complete SwiftLLM controller that imports nothing from SwiftLLM: ZeroMQ, msgpack, numpy and tokenizers.

It drives one worker (`swiftctl worker` prints its address) through hello, init_cache, a prompt prefilled in
two chunks, and greedy decoding with one step always in flight ahead: a decode step sends token id -1, "the
token you last sampled for this sequence", so it can leave before the previous step's reply has been read.
Every field is documented in docs/protocol.md.

    .venv/bin/python examples/custom_controller.py --worker ipc:///tmp/swiftllm-xyz/worker0.sock --prompt "Hello"
(--token-file FILE: a worker that `swiftctl launch` started, or any bound to a network address, has a token.)
"""

import argparse
import itertools
import sys
from collections import deque
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq
from tokenizers import Tokenizer

BLOCK_SIZE = 16
SEQ_ID = 0  # our only sequence


def int32s(values: list[int]) -> bytes:
    # every array travels as packed little-endian bytes
    return np.asarray(values, dtype="<i4").tobytes()


class Worker:
    """Sends requests tagged with an id and our session's epoch; checks that replies come back in order."""

    def __init__(self, address: str) -> None:
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.connect(address)
        self.ids = itertools.count()
        self.in_flight: deque[int] = deque()
        self.epoch = 0

    def send(self, op: str, **fields: Any) -> None:
        request_id = next(self.ids)
        self.socket.send(msgpack.packb({"op": op, "id": request_id, "epoch": self.epoch, **fields}))
        self.in_flight.append(request_id)

    def recv(self) -> dict[str, Any]:
        if not self.socket.poll(60_000):
            sys.exit("the worker did not answer within 60 s")
        reply = msgpack.unpackb(self.socket.recv())
        assert reply["id"] == self.in_flight.popleft(), "replies come in request order"
        if "error" in reply:
            sys.exit(f"worker error {reply['error']['type']}: {reply['error']['message']}")
        return reply

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        self.send(op, **fields)
        return self.recv()

    def send_step(
        self, tokens: list[int], context_len: int, blocks: list[int], sample: int = 1
    ) -> None:
        """New tokens of our sequence; context_len counts every token in the cache once they are added."""
        self.send(
            "step",
            seq_ids=int32s([SEQ_ID]),
            query_lens=int32s([len(tokens)]),
            context_lens=int32s([context_len]),
            token_ids=int32s(tokens),
            block_table={"shape": [1, len(blocks)], "data": int32s(blocks)},
            sample=int32s([sample]),
        )
        # left out, so the worker's defaults apply: temperature 0 (greedy), top_p 1, top_k 0, seed 0, no penalties


def generate(worker: Worker, prompt: list[int], max_tokens: int, eos: set[int]) -> list[int]:
    max_len = len(prompt) + max_tokens
    # the whole cache is ours: our i-th block is block i
    blocks = list(range(-(-max_len // BLOCK_SIZE)))
    worker.call(
        "init_cache",
        block_size=BLOCK_SIZE,
        num_blocks=len(blocks),
        num_cpu_blocks=0,
        max_model_len=max_len,
    )
    # Chunked prefill: two steps, and only the one that completes the prompt samples a token.
    half = len(prompt) // 2
    if half:
        worker.send_step(prompt[:half], half, blocks, sample=0)
    worker.send_step(prompt[half:], len(prompt), blocks)
    if half:
        worker.recv()  # the first chunk's reply: no tokens
    out: list[int] = []
    context_len = len(prompt)
    in_flight = 1
    stopped = False
    while in_flight:
        # queue the next decode before reading this token
        if not stopped and len(out) + in_flight < max_tokens:
            context_len += 1
            worker.send_step([-1], context_len, blocks)
            in_flight += 1
        token = int(np.frombuffer(worker.recv()["tokens"], dtype="<i4")[0])
        in_flight -= 1
        if stopped:
            continue  # the step queued ahead of an end-of-sequence token: its token is not wanted
        if token in eos:
            stopped = True
        else:
            out.append(token)
    # Tell the worker it may forget the sequence: a step with no sequences, only `finished`.
    empty = int32s([])
    worker.call(
        "step",
        seq_ids=empty,
        query_lens=empty,
        context_lens=empty,
        token_ids=empty,
        block_table={"shape": [0, 0], "data": empty},
        finished=int32s([SEQ_ID]),
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", required=True, help="the address `swiftctl worker` printed")
    parser.add_argument("--prompt", default="The capital of France is")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--token-file",
        help="the worker's session token, if it has one (docs/protocol.md, Sessions)",
    )
    args = parser.parse_args()
    worker = Worker(args.worker)
    # hello takes the worker over: a new epoch that our later requests must carry
    token = {} if args.token_file is None else {"token": Path(args.token_file).read_text().strip()}
    info = worker.call("hello", **token)
    worker.epoch = info["epoch"]
    config = info["model_config"]
    tokenizer = Tokenizer.from_file(str(Path(info["model_dir"]) / "tokenizer.json"))
    prompt = tokenizer.encode(args.prompt).ids
    if not prompt or args.max_tokens < 1 or len(prompt) + args.max_tokens > config["max_context"]:
        sys.exit(
            f"need a prompt of >= 1 tokens (got {len(prompt)}), --max-tokens >= 1, and the two together "
            f"<= {config['max_context']}"
        )
    print(tokenizer.decode(generate(worker, prompt, args.max_tokens, set(config["eos_token_ids"]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
