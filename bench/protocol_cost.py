"""The host time of the worker protocol's bytes, per step: what the controller spends encoding a decode step and
decoding its reply, and what a worker spends decoding and validating that step before it can launch it.

    PYTHONPATH=. python3 bench/protocol_cost.py [--rows 64,256,1024] [--calls 1000] [--repeats 5]

A decode step of R rows (context 1,000, a 64-block table row each, every per-sequence array present, as the
engine sends them) and its reply (a token per row). Each operation is checked once (the decoded step equals
the one encoded; the decoded reply's tokens are the sent ones), then timed: the best of --repeats runs of
--calls calls, in microseconds a call. No GPU; the best of several runs because a shared machine's noise only
ever adds. Before and after a change, run both trees in one session, alternating (PYTHONPATH=OLD_TREE).
Writes protocol_cost.json under bench/results/ (or $BENCH_OUT); prints a table last."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_info import RESULTS, git_commit, utc_now  # noqa: E402

from swiftllm.protocol import codec  # noqa: E402
from swiftllm.protocol.messages import PER_SEQ_DEFAULTS, CacheGeometry  # noqa: E402
from swiftllm.protocol.step import STEP_ARRAYS, StepCommand, StepResult, i32  # noqa: E402

CONTEXT = 1000
TABLE_WIDTH = 64  # blocks a row: 1,024 tokens at 16 a block
GEOMETRY = CacheGeometry(
    vocab_size=128256,
    block_size=16,
    num_blocks=50000,
    num_cpu_blocks=0,
    max_model_len=131072,
    max_num_seqs=4096,
    max_num_batched_tokens=131072,
)


def decode_step_command(rows: int) -> StepCommand:
    arrays = {
        "seq_ids": i32(np.arange(rows)),
        "query_lens": i32(np.ones(rows)),
        "context_lens": i32(np.full(rows, CONTEXT)),
        "token_ids": i32(np.arange(rows) % GEOMETRY.vocab_size),
        "block_table": i32(
            np.arange(rows * TABLE_WIDTH).reshape(rows, TABLE_WIDTH) % GEOMETRY.num_blocks
        ),
    }
    for name, default in PER_SEQ_DEFAULTS.items():
        arrays[name] = np.full(rows, default, STEP_ARRAYS[name].dtype)
    return StepCommand(**arrays)


def encode_step(cmd: StepCommand) -> bytes:
    """A step request's bytes, as the controller's WorkerClient.send_step makes them."""
    return codec.encode_request("step", 7, 1, **codec.pack_arrays(cmd, STEP_ARRAYS))


def best_us(call: object, calls: int, repeats: int) -> float:
    return min(timeit.repeat(call, number=calls, repeat=repeats)) / calls * 1e6


def measure(rows: int, calls: int, repeats: int) -> dict[str, float]:
    """Microseconds a call of each operation, for a decode step of `rows` rows."""
    cmd = decode_step_command(rows)
    step_bytes = encode_step(cmd)
    fields = codec.decode_request(step_bytes).fields
    decoded = codec.decode_step(fields, GEOMETRY)
    for name in STEP_ARRAYS:
        if not np.array_equal(getattr(decoded, name), getattr(cmd, name)):
            raise AssertionError(f"{name} did not survive the round trip")
    result = StepResult(seq_ids=cmd.seq_ids, tokens=cmd.token_ids)
    reply = codec.decode_reply(codec.encode_reply(7, **codec.result_fields(result)))
    if not np.array_equal(codec.decode_result(reply).tokens, result.tokens):
        raise AssertionError("the reply's tokens did not survive the round trip")
    return {
        "encode_step": best_us(lambda: encode_step(cmd), calls, repeats),
        "decode_step": best_us(lambda: codec.decode_step(fields, GEOMETRY), calls, repeats),
        "decode_result": best_us(lambda: codec.decode_result(reply), calls, repeats),
        "step_bytes": float(len(step_bytes)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", default="64,256,1024", help="decode steps of these many rows")
    ap.add_argument("--calls", type=int, default=1000, help="calls a timed run")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs; the best counts")
    args = ap.parse_args(argv)
    rows = [int(part) for part in args.rows.split(",")]
    table = {n: measure(n, args.calls, args.repeats) for n in rows}
    out = Path(os.environ.get("BENCH_OUT", RESULTS))
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "date": utc_now(),
        "commit": git_commit(),
        "cpu": platform.processor() or platform.machine(),
        "calls": args.calls,
        "repeats": args.repeats,
        "rows": {str(n): figures for n, figures in table.items()},
    }
    path = out / "protocol_cost.json"
    path.write_text(json.dumps(data, indent=1))
    print(f"results: {path}")
    print(
        f"{'rows':>6} {'encode_step':>12} {'decode_step':>12} {'decode_result':>14} {'step KB':>8}"
    )
    for n, figures in table.items():
        print(
            f"{n:>6} {figures['encode_step']:12.1f} {figures['decode_step']:12.1f} "
            f"{figures['decode_result']:14.1f} {figures['step_bytes'] / 1024:8.1f}"
        )
    print("microseconds a call, the best of the timed runs; decode_step includes validate_step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
