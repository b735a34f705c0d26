"""Split each request's server-side time to its first token into stages, from a server log written with
bench/trace_requests/sitecustomize.py (TRACE_REQUESTS=1; see its docstring for the events).

    python3 bench/trace_requests/breakdown.py SERVER_LOG [--slowest 5]

Stages of a request, each in ms:
- inbox: from the handler queueing it to the engine thread adding it (the engine thread drains its inbox
  between steps, so this is the rest of the step it was in);
- to_send: from being added to the step that finishes its prompt going to the worker (steps sent meanwhile
  carried earlier prompts, or the budget was full);
- on_device: from that step's send to its read-back: the steps queued ahead of it on the device, then its own;
- publish: from the read-back to the engine thread handing the token over (the step's postprocessing);
- deliver: from there to the event loop putting it on the handler's queue.
For the slowest, the worker's timings of their step are printed too (forward_ms: the host launching it; gpu_ms:
the device from its first event to its last, so a launch slower than the kernels shows there).
Their sum is the server's time to the first token; a client's TTFT adds the HTTP request, the SSE write and
the client's own reading. Prints the distribution of each stage (median, p90, p99, max) and the slowest
requests with the steps that were queued ahead of theirs."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# values are numbers, lists of them, or a word (`finished`'s reason)
LINE = re.compile(r"\[req (\w+) t=([0-9.]+)((?: \w+=[\w.,]*)*)\]")
STAGES = ("inbox", "to_send", "on_device", "publish", "deliver")


@dataclass(frozen=True)
class SentStep:
    step: int
    t: float
    rows: int
    tokens: int
    firsts: tuple[int, ...]


@dataclass(frozen=True)
class Finished:
    """A request's end: when, how many tokens it generated, and why (stop, length, abort, ...)."""

    t: float
    tokens: int
    reason: str


@dataclass
class Trace:
    """The events of one log, by what they name."""

    posted: dict[int, tuple[float, int]] = field(default_factory=dict)  # rid -> (t, prompt tokens)
    # rid -> its max_tokens (logs from before that field: none)
    max_tokens: dict[int, int] = field(default_factory=dict)
    # rid -> when its REST handler began (logs from before that field: the post's own time)
    entered: dict[int, float] = field(default_factory=dict)
    added: dict[int, tuple[float, int]] = field(default_factory=dict)  # rid -> (t, seq id)
    sent: list[SentStep] = field(default_factory=list)  # in send order
    read: dict[int, float] = field(default_factory=dict)  # step -> t
    timings: dict[int, dict[str, float]] = field(
        default_factory=dict
    )  # step -> the worker's timings, ms
    published: dict[int, float] = field(default_factory=dict)  # seq id -> t of its first token
    delivered: dict[int, float] = field(default_factory=dict)  # rid -> t
    finished: dict[int, Finished] = field(default_factory=dict)  # rid -> its end


@dataclass(frozen=True)
class Breakdown:
    rid: int
    prompt_tokens: int
    stages_ms: dict[str, float]
    ahead: tuple[SentStep, ...]  # steps sent before its own and not yet read back when it was sent
    step_timings: dict[str, float]  # its own step's, as the worker reported them (ms)

    @property
    def total_ms(self) -> float:
        return sum(self.stages_ms.values())


def numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part)


def parse(lines: list[str]) -> Trace:
    trace = Trace()
    # every event of a line: another thread's output (a log record) may share a line with one
    matches = (match for line in lines for match in LINE.finditer(line))
    for match in matches:
        event = match.group(1)
        t = float(match.group(2))
        fields = dict(pair.split("=", 1) for pair in match.group(3).split())
        if event == "post":
            rid = int(fields["rid"])
            trace.posted[rid] = (t, int(fields["prompt"]))
            trace.entered[rid] = float(fields.get("entered", t))
            if "max_tokens" in fields:
                trace.max_tokens[rid] = int(fields["max_tokens"])
        elif event == "added":
            trace.added[int(fields["rid"])] = (t, int(fields["seq"]))
        elif event == "sent":
            step = SentStep(
                step=int(fields["step"]),
                t=t,
                rows=int(fields["rows"]),
                tokens=int(fields["tokens"]),
                firsts=numbers(fields["firsts"]),
            )
            trace.sent.append(step)
        elif event == "read":
            index = int(fields.pop("step"))
            trace.read[index] = t
            trace.timings[index] = {name: float(value) for name, value in fields.items()}
        elif event == "published":
            for seq in numbers(fields["seqs"]):
                trace.published.setdefault(seq, t)
        elif event == "delivered":
            for rid in numbers(fields["rids"]):
                trace.delivered.setdefault(rid, t)
        elif event == "finished":
            finished = Finished(t, int(fields["tokens"]), fields["reason"])
            trace.finished.setdefault(int(fields["rid"]), finished)
    return trace


def breakdowns(trace: Trace) -> list[Breakdown]:
    """One Breakdown per request whose every event is in the log (a request whose prompt ended on a
    single-token chunk is not named by any step, and is left out)."""
    step_of_seq: dict[int, SentStep] = {}
    for step in trace.sent:
        for seq in step.firsts:
            step_of_seq.setdefault(seq, step)
    result = []
    for rid, (posted_t, prompt_tokens) in sorted(trace.posted.items()):
        if rid not in trace.added or rid not in trace.delivered:
            continue
        added_t, seq = trace.added[rid]
        step = step_of_seq.get(seq)
        if step is None or step.step not in trace.read or seq not in trace.published:
            continue
        read_t = trace.read[step.step]
        stages = {
            "inbox": added_t - posted_t,
            "to_send": step.t - added_t,
            "on_device": read_t - step.t,
            "publish": trace.published[seq] - read_t,
            "deliver": trace.delivered[rid] - trace.published[seq],
        }
        ahead = tuple(
            other
            for other in trace.sent
            if other.step < step.step and trace.read.get(other.step, float("inf")) > step.t
        )
        stages_ms = {name: seconds * 1e3 for name, seconds in stages.items()}
        timings = trace.timings.get(step.step, {})
        result.append(Breakdown(rid, prompt_tokens, stages_ms, ahead, timings))
    return result


def describe(step: SentStep) -> str:
    return f"step {step.step}: {step.rows} rows, {step.tokens} tokens"


def stage_columns(rows: list[Breakdown]) -> dict[str, list[float]]:
    """Each stage's times over the requests (ms), and their totals under "total"."""
    columns = {name: [row.stages_ms[name] for row in rows] for name in STAGES}
    columns["total"] = [row.total_ms for row in rows]
    return columns


def report(rows: list[Breakdown], slowest: int) -> str:
    if not rows:
        return "no request with every event in the log (was TRACE_REQUESTS=1 set for the server?)"
    lines = [f"{len(rows)} requests; server-side time to the first token, ms"]
    lines.append(f"{'stage':>10} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8}")
    for name, values in stage_columns(rows).items():
        p50, p90, p99 = np.percentile(values, [50, 90, 99])
        lines.append(f"{name:>10} {p50:8.2f} {p90:8.2f} {p99:8.2f} {max(values):8.2f}")
    lines.append(f"the {min(slowest, len(rows))} slowest:")
    for row in sorted(rows, key=lambda row: row.total_ms, reverse=True)[:slowest]:
        stages = ", ".join(f"{name} {row.stages_ms[name]:.1f}" for name in STAGES)
        ahead = "; ".join(describe(step) for step in row.ahead) or "none"
        timings = ", ".join(f"{name} {ms:.1f}" for name, ms in row.step_timings.items()) or "none"
        lines.append(
            f"  request {row.rid} ({row.prompt_tokens} prompt tokens): {row.total_ms:.1f} ms = "
            f"{stages}; queued ahead of its step: {ahead}; its step's worker timings: {timings}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("log", type=Path, help="the server's log (its stderr)")
    ap.add_argument("--slowest", type=int, default=5)
    args = ap.parse_args(argv)
    lines = args.log.read_text(errors="replace").splitlines()
    print(report(breakdowns(parse(lines)), args.slowest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
