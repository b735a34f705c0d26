"""Session 46: where the all-at-once burst's longest request (the file's #27: prompt 62, 1,416 output tokens)
landed in the engine's queue, read from a server log written with bench/trace_requests (TRACE_REQUESTS=1).

    python3 bench/results/h100/paced_trace_s46.py SERVER_LOG [--workload bench/sharegpt_like_1000.json]

Prints the order the engine added the burst's requests in, as their prompt lengths against the file's order
(the 200 requests' prompt lengths are nearly unique), the places of the requests whose prompt is the longest
one's, and the step at which each of those got its first token."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

LINE = re.compile(r"\[req (\w+) t=([0-9.]+)((?: \w+=[0-9.,]*)*)\]")


def fields(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("server_log", type=Path)
    ap.add_argument("--workload", type=Path, default=Path("bench/sharegpt_like_1000.json"))
    ap.add_argument("--num-requests", type=int, default=200)
    args = ap.parse_args()
    pairs = json.loads(args.workload.read_text())[: args.num_requests]
    longest = max(range(len(pairs)), key=lambda i: pairs[i][1])
    prompt_of_rid: dict[str, int] = {}
    added: list[tuple[str, str]] = []  # (rid, seq) in the engine's order
    first_step_of_seq: dict[str, int] = {}
    for match in LINE.finditer(args.server_log.read_text()):
        event, values = match.group(1), fields(match.group(3))
        if event == "post":
            prompt_of_rid[values["rid"]] = int(values["prompt"])
        elif event == "added" and values["rid"] in prompt_of_rid:
            added.append((values["rid"], values["seq"]))
        elif event == "sent":
            for seq in filter(None, values.get("firsts", "").split(",")):
                first_step_of_seq.setdefault(seq, int(values["step"]))
    burst = added[-args.num_requests :]  # the last burst (a warm-up request comes first)
    lengths = [prompt_of_rid[rid] for rid, _ in burst]
    file_lengths = [pair[0] for pair in pairs]
    in_file_order = sum(a == b for a, b in zip(lengths, file_lengths))
    print(f"{len(burst)} requests added; {in_file_order} at the place they have in the file")
    print(
        f"longest: file #{longest}, prompt {pairs[longest][0]}, {pairs[longest][1]} output tokens"
    )
    burst_steps = [first_step_of_seq[seq] for _, seq in burst if seq in first_step_of_seq]
    first = min(burst_steps, default=0)
    for place, (rid, seq) in enumerate(burst):
        if prompt_of_rid[rid] == pairs[longest][0]:
            step = first_step_of_seq.get(seq)
            print(
                f"  a prompt of {pairs[longest][0]} added {place}th; first token at the burst's step "
                f"{None if step is None else step - first}"
            )


if __name__ == "__main__":
    main()
