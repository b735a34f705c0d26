"""Turn a server log written under bench/trace_requests/sitecustomize.py (TRACE_REQUESTS=1) into an arrival
trace: when each request arrived and how long its prompt and its output were, for bench/serving.py and
bench/serving_sim.py to replay (--arrival-trace).

    TRACE_REQUESTS=1 PYTHONPATH=bench/trace_requests:. swiftctl launch ... 2> server.log   # record
    python3 bench/trace_requests/arrival_trace.py server.log trace.json                     # convert

The trace is a JSON list of {"t": ..., "input_len": ..., "output_len": ...}, one per request, sorted by t
(bench/workload.py's load_arrival_trace reads it):
- t: seconds from the first request's arrival to this one's. A request arrives when its REST handler began
  (`post`'s entered: before the server read, checked and tokenized the body, work the replayed server does
  again), or, in logs from before that field, when it was queued;
- input_len: its prompt's tokens in the recording server's tokenizer (a chat request's with its template);
- output_len: the tokens it generated (`finished`'s tokens), not its max_tokens. A replay sends random token
  ids with ignore_eos, which runs every request to its max_tokens, where the recorded one may have stopped
  early at an end-of-sequence token or a stop string: asking for what it generated runs each request as long
  as it ran.
Only requests that the server ended itself (finish reason stop or length) are written. Those aborted (the
client went away), refused, failed, or still running when the log ends are skipped and counted by why. Each
choice of an n > 1 request and each prompt of a batched one is a request of its own. The prompts' tokens are
not recorded, only their lengths: a replay sends fresh random prompts, so what the recorded requests shared
(a system prompt, a conversation's earlier turns) is not shared again, and the prefix cache finds nothing."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import breakdown  # noqa: E402
from workload import TracedRequest  # noqa: E402

# finish reasons of a request that ran as long as it meant to; the others ended it from outside
ENDED_BY_SERVER = ("stop", "length")
# still running when the log ended, or a log from before that event
UNFINISHED = "unfinished (no `finished` event)"


class TraceLogError(ValueError):
    """A log that holds no trace to write, with a message for the user."""


@dataclass(frozen=True)
class Conversion:
    requests: list[TracedRequest]  # sorted by t
    skipped: Counter[str] = field(default_factory=Counter)  # why -> requests left out
    # requests written that generated fewer tokens than their max_tokens (an EOS or a stop string)
    stopped_early: int = 0

    @property
    def span_s(self) -> float:
        return self.requests[-1].t


def convert(trace: breakdown.Trace) -> Conversion:
    """The arrival trace of one parsed log (see the module docstring); TraceLogError when there is none."""
    if not trace.posted:
        raise TraceLogError(
            "no `post` events: was the server started with TRACE_REQUESTS=1 and bench/trace_requests "
            "on its PYTHONPATH?"
        )
    arrivals: list[TracedRequest] = []  # t on the server's clock until the first arrival is known
    skipped: Counter[str] = Counter()
    stopped_early = 0
    for rid, (_, prompt_tokens) in sorted(trace.posted.items()):
        end = trace.finished.get(rid)
        if end is None:
            skipped[UNFINISHED] += 1
            continue
        if end.reason not in ENDED_BY_SERVER:
            skipped[f"ended by {end.reason}"] += 1
            continue
        if end.tokens < 1:  # a replayed request generates at least one
            skipped["no token generated"] += 1
            continue
        if end.tokens < trace.max_tokens.get(rid, end.tokens):
            stopped_early += 1
        arrivals.append(TracedRequest(trace.entered[rid], prompt_tokens, end.tokens))
    if not arrivals:
        raise TraceLogError(
            f"none of the {len(trace.posted)} requests posted was ended by the server: "
            + describe_skipped(skipped)
        )
    # by arrival: concurrent handlers may post in another order than they began
    arrivals.sort(key=lambda request: request.t)
    first = arrivals[0].t
    requests = [request._replace(t=round(request.t - first, 6)) for request in arrivals]
    return Conversion(requests, skipped, stopped_early)


def describe_skipped(skipped: Counter[str]) -> str:
    return ", ".join(f"{count} {why}" for why, count in sorted(skipped.items()))


def trace_json(requests: list[TracedRequest]) -> str:
    """One request a line: a long trace stays readable and diffable."""
    rows = [json.dumps(request._asdict()) for request in requests]
    return "[\n" + ",\n".join(rows) + "\n]\n"


def summary(conversion: Conversion, path: Path) -> str:
    count = len(conversion.requests)
    text = f"wrote {count} requests arriving over {conversion.span_s:.3f} s to {path}"
    if conversion.span_s > 0:
        text += f" (a mean {(count - 1) / conversion.span_s:.3g} requests/s)"
    text += f"; {conversion.stopped_early} stopped before their max_tokens"
    if conversion.skipped:
        skipped = describe_skipped(conversion.skipped)
        text += f"; skipped {conversion.skipped.total()}: {skipped}"
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("log", type=Path, help="the server's log (its stderr)")
    ap.add_argument("out", type=Path, help="the arrival trace to write (JSON)")
    args = ap.parse_args(argv)
    try:
        lines = args.log.read_text(errors="replace").splitlines()
    except OSError as e:
        print(f"arrival_trace.py: error: cannot read {args.log}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        trace = breakdown.parse(lines)
    except (KeyError, ValueError) as e:  # an event line cut short or edited: a field missing or bad
        print(f"arrival_trace.py: error: {args.log}: a malformed event ({e!r})", file=sys.stderr)
        return 1
    try:
        conversion = convert(trace)
    except TraceLogError as e:
        print(f"arrival_trace.py: error: {args.log}: {e}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(trace_json(conversion.requests))
    print(summary(conversion, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
