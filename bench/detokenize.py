"""Streaming detokenization's host cost per token (swiftllm/controller/tokenizer.py's Detokenizer.add), with
and without the standalone-token path, in one process. No GPU, no torch.

    PYTHONPATH=. python3 bench/detokenize.py [--model-dir DIR] [--streams 256] [--tokens 300]

The engine detokenizes every sampled token of every stream at every step, on the controller's one thread
(which also schedules, encodes the step and, when serving, writes the SSE events), so at 256 streams a
microsecond a token is a quarter of a millisecond a step. Byte-level BPE tokens whose bytes are whole UTF-8
characters add exactly their own text (`Tokenizer.standalone_ids`), which a dictionary holds; every other
token decodes a window of ids with HF `tokenizers` (twice). This times both on the same tokens: "window" is
the detokenizer with no token taken as standalone (the algorithm before session 35). Token streams: random
ids over the vocabulary (cold: each id's first sighting computes its text; warm: a second pass), and real
text (English and CJK, byte-level merges across characters). The model directory's tokenizer.json: the
default model's (SmolLM2, 49,152 entries) unless --model-dir names another (make_dummy_model.py's for the
128,256-entry Llama-3 shape). Prints microseconds per token; writes results/detokenize.json."""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from run_info import RESULTS, git_commit, host_info, utc_now

from swiftllm.controller.tokenizer import Detokenizer, Tokenizer
from swiftllm.models.gguf_import import ensure_default_model

TEXT = "The quick brown fox jumps over the lazy dog; Héllo wörld — 你好世界, 🎉 café 42. " * 20


class NoStandalone(set):
    """A standalone_ids that never holds a token: every add takes the window decode."""

    def __contains__(self, token: object) -> bool:
        return False

    def add(self, token: object) -> None:
        pass


def stream_us(tokenizer: Tokenizer, streams: list[list[int]]) -> tuple[float, list[str]]:
    """Microseconds per token of Detokenizer.add over the streams, and each stream's text."""
    texts = []
    start = time.perf_counter()
    for ids in streams:
        detokenizer = Detokenizer(tokenizer, [1, 2, 3])
        texts.append("".join(detokenizer.add(token) for token in ids))
    seconds = time.perf_counter() - start
    return seconds / sum(map(len, streams)) * 1e6, texts


def measure(model_dir: str, num_streams: int, num_tokens: int, seed: int) -> dict:
    vocab_size = Tokenizer(model_dir).hf.get_vocab_size()
    rng = np.random.default_rng(seed)
    random_ids = [rng.integers(0, vocab_size, num_tokens).tolist() for _ in range(num_streams)]
    text_ids = Tokenizer(model_dir).encode(TEXT, add_special_tokens=False)
    cases = {"random ids": random_ids, "text": [text_ids] * max(1, num_streams // 4)}
    rows = []
    for name, streams in cases.items():
        for path in ("standalone", "window"):
            tokenizer = Tokenizer(model_dir)  # a cold cache for each
            if path == "window":
                tokenizer.standalone_ids = NoStandalone()
            cold_us, cold_texts = stream_us(tokenizer, streams)
            warm_us, warm_texts = stream_us(tokenizer, streams)
            assert warm_texts == cold_texts
            rows.append(
                {
                    "tokens": name,
                    "path": path,
                    "cold_us": cold_us,
                    "warm_us": warm_us,
                    "standalone_share": len(tokenizer.standalone_ids)
                    / max(1, len(tokenizer.token_texts)),
                    "texts": warm_texts,
                }
            )
        standalone, window = rows[-2:]
        # both paths give the same text: the window decode is the oracle the fast path must match
        assert standalone.pop("texts") == window.pop("texts"), name
    return {"vocab_size": vocab_size, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", help="a directory with tokenizer.json (default: SmolLM2's)")
    parser.add_argument("--streams", type=int, default=256)
    parser.add_argument("--tokens", type=int, default=300, help="tokens a stream")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model_dir = args.model_dir or str(ensure_default_model())
    data = {
        "date": utc_now(),
        "commit": git_commit(),
        "host": host_info(),
        "model_dir": model_dir,
        **measure(model_dir, args.streams, args.tokens, args.seed),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "detokenize.json").write_text(json.dumps(data, indent=1))
    print(f"\ndetokenization, {data['vocab_size']:,}-entry vocabulary, commit {data['commit']}")
    print(f"{'tokens':>10} {'path':>10} {'cold us':>8} {'warm us':>8} {'standalone':>10}")
    for row in data["rows"]:
        print(
            f"{row['tokens']:>10} {row['path']:>10} {row['cold_us']:8.2f} {row['warm_us']:8.2f}"
            f" {row['standalone_share']:10.2f}"
        )
    print(f"results: {RESULTS / 'detokenize.json'}")


if __name__ == "__main__":
    main()
