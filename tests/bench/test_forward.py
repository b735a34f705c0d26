"""bench/forward.py's time_pipelined against a fake device whose steps take a known time (the real one needs a
GPU): the figure is the step's time, not short by the step still running when the clock stops."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
from bench_scripts import load_script

forward = load_script("forward")

STEP_S = 0.02


@dataclass
class FakeStep:
    done_at: float


@dataclass
class FakeRunner:
    """Runs steps one after another, each STEP_S long from when the device is free; collect sleeps until the
    step is done. Like ModelRunner it keeps at most two steps in flight."""

    busy_until: float = 0.0
    in_flight: list[FakeStep] = field(default_factory=list)

    def launch(self, cmd: object) -> FakeStep:
        if len(self.in_flight) > 1:
            self.collect(self.in_flight[0])
        self.busy_until = max(time.perf_counter(), self.busy_until) + STEP_S
        step = FakeStep(self.busy_until)
        self.in_flight.append(step)
        return step

    def collect(self, step: FakeStep) -> None:
        time.sleep(max(0.0, step.done_at - time.perf_counter()))
        while self.in_flight and self.in_flight[0].done_at <= step.done_at:
            self.in_flight.pop(0)

    def step(self, cmd: object) -> None:
        self.collect(self.launch(cmd))


@pytest.mark.parametrize("iters", [3, 8])
def test_time_pipelined_times_every_step_it_launches(iters: int) -> None:
    cmd = forward.step_cmd([1, 1], [40, 40], [0, 3], 1000)
    ms = forward.time_pipelined(FakeRunner(), cmd, iters=iters)
    # the clock stopping with one step still running would read (iters - 1) / iters of it: 0.67 / 0.88
    assert ms == pytest.approx(STEP_S * 1e3, rel=0.05)
