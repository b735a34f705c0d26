"""The GPU's SM clock and power draw while a benchmark runs, sampled by nvidia-smi in a child process.

The lent H100 and H200 are capped at 700 W and draw it through prefill and offline runs: their SM clock then
falls from 1,980 MHz to a median of ~1,500 MHz in bench/latency.py (the prefill of its prompts, most of each
run: its decode steps run at ~1,900-1,980 MHz, bench/power_soak.py) and ~1,600 in bench/throughput.py
(session 18, bench/results/h200/smi_5e749ee_s18_final.csv), with the memory clock at its maximum. How fast a
chip runs at its cap differs from chip to chip, so a figure that carries the clocks it ran at can be read
against another lease's.

    with ClockMonitor() as clocks:
        run()
    clocks.summary()  # {"sm_mhz_median": ..., "sm_mhz_p10": ..., "power_w_median": ..., "samples": n}

Without nvidia-smi (a CPU machine) nothing is sampled and the summary's figures are None."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from types import TracebackType
from typing import NamedTuple

import numpy as np

QUERY = "clocks.sm,power.draw"


class Sample(NamedTuple):
    sm_mhz: float
    power_w: float


def parse_samples(text: str) -> list[Sample]:
    """The samples of `nvidia-smi --query-gpu=clocks.sm,power.draw --format=csv,noheader,nounits` output, one
    per line; a line that is not two numbers (a header, "[N/A]", a half-written last line) is skipped."""
    samples = []
    for line in text.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 2:
            continue
        try:
            samples.append(Sample(float(fields[0]), float(fields[1])))
        except ValueError:
            continue
    return samples


def summarize(samples: list[Sample]) -> dict:
    """Median and 10th-percentile SM clock (MHz), median power (W), and the sample count; None without
    samples (JSON has no NaN)."""
    if not samples:
        return {"sm_mhz_median": None, "sm_mhz_p10": None, "power_w_median": None, "samples": 0}
    clocks = np.array([sample.sm_mhz for sample in samples])
    power = np.array([sample.power_w for sample in samples])
    return {
        "sm_mhz_median": float(np.median(clocks)),
        "sm_mhz_p10": float(np.percentile(clocks, 10)),
        "power_w_median": float(np.median(power)),
        "samples": len(samples),
    }


class ClockMonitor:
    """Samples GPU `gpu` (nvidia-smi's index) every `interval_ms` for as long as the `with` block runs."""

    def __init__(self, interval_ms: int = 250, gpu: int = 0) -> None:
        self.command = [
            "nvidia-smi",
            f"--id={gpu}",
            f"--query-gpu={QUERY}",
            "--format=csv,noheader,nounits",
            f"--loop-ms={interval_ms}",
        ]
        self.samples: list[Sample] = []

    def __enter__(self) -> ClockMonitor:
        self.output = tempfile.TemporaryFile(mode="w+")
        self.process = None
        if shutil.which(self.command[0]) is not None:
            self.process = subprocess.Popen(
                self.command, stdout=self.output, stderr=subprocess.DEVNULL
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.output.seek(0)
        self.samples = parse_samples(self.output.read())
        self.output.close()

    def summary(self) -> dict:
        return summarize(self.samples)


def mhz(summary: dict) -> str:
    """The median SM clock for a table cell ("-" when nothing was sampled)."""
    if summary["sm_mhz_median"] is None:
        return "-"
    return f"{summary['sm_mhz_median']:.0f}"
