"""bench/activation_formula.py against the bytes ModelRunner allocates in one eager step, on the CPU.

    TRITON_INTERPRET=1 PYTHONPATH=. .venv/bin/python -m pytest -q tests/bench/test_activation_formula.py

The Triton backend runs in Triton's interpreter, so the kernels' wrappers allocate on the CPU what they
allocate on a GPU (their torch.empty outputs, the split-K partial sums, the gated GEMV's lack of gate_up), and
torch.profiler's allocation events give the bytes alive at every point of the step. The formula runs with
gpu=False (the CPU's sort has no cub temporaries) and meta=False (the step's arrays wrap numpy memory here).
What only a GPU shows (cuBLAS workspaces, cub's temporaries, the metadata copies) is bench/activation_memory.py's.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable
from pathlib import Path

# the kernels below run in Triton's interpreter; tests/kernels/conftest.py sets this first in a whole run
os.environ["TRITON_INTERPRET"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from bench_scripts import load_script  # noqa: E402
from conftest import runner_for  # noqa: E402
from torch._C._profiler import _EventType  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402
from triton.runtime import interpreter  # noqa: E402

from swiftllm.protocol.step import StepCommand  # noqa: E402
from swiftllm.worker.model_runner import ModelRunner  # noqa: E402

formula = load_script("activation_formula")
activation_memory = load_script("activation_memory")

# GQA, float32; intermediate and vocab large enough that the MLP and the sort dominate their steps
CONFIG = dict(
    architectures=["LlamaForCausalLM"],
    hidden_size=64,
    intermediate_size=192,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=2048,
    max_position_embeddings=1024,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    tie_word_embeddings=False,
    torch_dtype="float32",
)
SHAPE = formula.Shape.from_config(CONFIG, b=4)
BLOCK = 16
NUM_BLOCKS = 64
# the formula against the measured peak: the bytes it leaves out (the sampled tokens, a few scalars) are far
# below this, a tensor it forgot or counted twice far above
TOLERANCE = 0.02


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> ModelRunner:
    """A runner that has run one small step (a chunk, a decode, top-p), so that what it initialises on first
    use is allocated before any step is measured. (The interpreter compiles nothing: one warm-up serves every
    shape; a warm-up of each measured step gave the same bytes.)"""
    path = tmp_path_factory.mktemp("activation-formula")
    Path(path, "config.json").write_text(json.dumps(CONFIG))
    runner = runner_for(
        path,
        num_blocks=NUM_BLOCKS,
        block_size=BLOCK,
        max_len=CONFIG["max_position_embeddings"],
        backend="triton",
        dtype="float32",
        load_format="dummy",
        threads=2,
    )
    runner.step(step_command([3, 1], [3, 20], top_p=0.9))
    runner.forget()
    return runner


@pytest.fixture(autouse=True)
def launches_collect_their_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The interpreter leaves each launch's argument tensors in reference cycles (a step's peak tripled with
    the collector off), where on a GPU a tensor dies when the code drops its last name: collect after every
    interpreted launch, so that the CPU's peak is the GPU's."""
    launch = interpreter.GridExecutor.__call__

    def launch_and_collect(self: object, *args: object, **kwargs: object) -> object:
        try:
            return launch(self, *args, **kwargs)
        finally:
            gc.collect()

    monkeypatch.setattr(interpreter.GridExecutor, "__call__", launch_and_collect)


def step_command(query_lens: list[int], context_lens: list[int], top_p: float = 1.0) -> StepCommand:
    """Every sequence reads the same blocks from 0 (what is checked is memory, not attention's values);
    every row sampled, greedy, or top_p at temperature 1."""
    n = len(query_lens)
    width = max(-(-c // BLOCK) for c in context_lens)
    table = np.tile(np.arange(width, dtype=np.int32), (n, 1))
    return activation_memory.sampled_step(query_lens, context_lens, table, SHAPE.vocab, top_p)


def peak_bytes(fn: Callable[[], object]) -> int:
    """The most bytes allocated above the start while fn runs, from torch.profiler's allocation events
    (each a size, negative for a free) in time order. The event tree is torch's private API (as of torch
    2.x): the public tables sum memory by operator and lose the order, and with it the peak."""
    gc.collect()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    sizes = []

    def walk(event: object) -> None:
        if event.tag == _EventType.Allocation:
            sizes.append((event.start_time_ns, event.extra_fields.alloc_size))
        for child in event.children:
            walk(child)

    for root in prof.profiler.kineto_results.experimental_event_tree():
        walk(root)
    live = peak = 0
    for _, size in sorted(sizes):
        live += size
        peak = max(peak, live)
    return peak


def measured_step(runner: ModelRunner, cmd: StepCommand) -> int:
    """The peak of one step (the runner's own first-use allocations made by the fixture's warm-up)."""
    peak = peak_bytes(lambda: runner.step(cmd))
    runner.forget()
    return peak


@pytest.mark.slow
def test_a_prefill_peaks_in_the_mlp_as_the_formula_says(runner: ModelRunner) -> None:
    T = 300  # above the split-K matmul's 256 rows: every projection a whole one
    got = measured_step(runner, step_command([T], [T]))
    want = formula.step_peak(SHAPE, T, 1, meta=False, gpu=False)
    assert want["where"] == "forward/mlp"
    assert abs(got - want["peak"]) / want["peak"] < TOLERANCE, (got, want)


@pytest.mark.slow
def test_a_split_k_prefill_counts_the_float32_partial_sums(runner: ModelRunner) -> None:
    T = 200  # o and down as split_k_matmul: [2, T, H] float32 each, which the formula must count
    got = measured_step(runner, step_command([T], [T]))
    want = formula.step_peak(SHAPE, T, 1, meta=False, gpu=False)
    whole = formula.linear_bytes(T, SHAPE.inter, SHAPE.hidden, False, SHAPE.b)
    assert formula.linear_bytes(T, SHAPE.inter, SHAPE.hidden, True, SHAPE.b) == 2 * whole
    assert abs(got - want["peak"]) / want["peak"] < TOLERANCE, (got, want)


@pytest.mark.slow
def test_a_top_p_decode_step_peaks_in_the_sort_as_the_formula_says(runner: ModelRunner) -> None:
    rows = 64
    got = measured_step(runner, step_command([1] * rows, [48] * rows, top_p=0.9))
    want = formula.step_peak(SHAPE, rows, rows, truncated=rows, meta=False, gpu=False)
    assert want["where"] == "sampling"
    assert abs(got - want["peak"]) / want["peak"] < TOLERANCE, (got, want)
