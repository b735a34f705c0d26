"""A scheduling policy plugged in from outside the core: shortest prompt first.

    PYTHONPATH=examples swiftctl launch --scheduler-policy shortest_prompt_first:ShortestPromptFirst
    LLM(schedule_policy="shortest_prompt_first:ShortestPromptFirst")   # with examples/ on sys.path

`swiftllm.controller.scheduler.Scheduler` is the policy. A subclass named by `--scheduler-policy module:Class`
(the same option as `--schedule-policy`; the module must be importable by the controller process) replaces what
it overrides and keeps the rest: preemption, swap, prefix caching, and the contract of `schedule()` (its
docstring), which `Batch.command` enforces on every step. Inherited, it schedules as fcfs does (no pacing).

This one changes only the admission order: the waiting queue is kept sorted by prompt length, so short prompts
start first. Shortest-job-first by prompt lowers the mean time to first token under a backlog, at the risk of
starving long prompts while short ones keep coming; a sequence preempted to recompute still goes to the front
(Scheduler.preempt), ahead of this order."""

import bisect

from swiftllm.controller.scheduler import Scheduler
from swiftllm.controller.sequence import Sequence


def prompt_length(seq: Sequence) -> int:
    return len(seq.prompt_ids)


class ShortestPromptFirst(Scheduler):
    def add(self, seq: Sequence) -> None:
        super().add(seq)  # refuses what can never run; queues it last
        self.waiting.pop()
        # a tie goes behind the earlier ones: arrival order among prompts of one length
        bisect.insort_right(self.waiting, seq, key=prompt_length)
