"""bench/throughput.py's CPU-checkable parts: the workloads it replays and its timed generate loop."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest
from bench_scripts import load_script

from swiftllm.llm import LLM
from swiftllm.sampling_params import SamplingParams

throughput = load_script("throughput")
DEFAULT_WORKLOAD = load_script("workload").DEFAULT_WORKLOAD


def test_file_workload_replays_the_first_pairs() -> None:
    workload = throughput.file_workload(DEFAULT_WORKLOAD, 10)
    assert len(workload.requests) == len(workload.prompts) == 10
    assert [len(p) for p in workload.prompts] == [r.input_len for r in workload.requests]
    assert workload.requests[7] == (748, 279)
    assert workload.prompts == throughput.file_workload(DEFAULT_WORKLOAD, 10).prompts  # seeded


def test_synthetic_workload_keeps_its_totals() -> None:
    workload = throughput.synthetic_workload(1000)
    assert sum(r.input_len for r in workload.requests) == throughput.PROMPT_TOKENS
    assert sum(r.output_len for r in workload.requests) == throughput.OUTPUT_TOKENS
    assert all(4 <= r.output_len <= 1024 for r in workload.requests)


def test_timed_generate_counts_tokens_and_sees_the_first_token(tiny_model_dir: Path) -> None:
    llm = LLM(str(tiny_model_dir), device="cpu", kv_cache_memory_gb=0.01, max_num_seqs=1)
    prompts = [[1, 2, 3], [4, 5, 6, 7], [8, 9], [10]]
    lengths = [3, 9, 2, 5]
    params = [SamplingParams(max_tokens=n, ignore_eos=True, temperature=0.0) for n in lengths]
    # one sequence at a time: the first's token comes a step in, the last's after the others' 14 tokens
    first = throughput.timed_generate(llm, prompts, params, watched=0)
    late = throughput.timed_generate(llm, prompts, params, watched=3)
    for trace in (first, late):
        assert trace.output_tokens == sum(lengths)
        assert 0 < trace.watched_first_token_s <= trace.seconds
        assert trace.steps >= sum(lengths)
        assert math.isnan(trace.gpu_idle_fraction)  # CUDA events only on a GPU
        assert trace.preemptions == 0
    # the same prompts again: all but each prompt's last token could come from the cache, but blocks are
    # 16 tokens and these prompts are shorter, so none does; a 40-token prompt run twice hits 32
    assert first.prefix_cache_hits == 0
    long_prompt = [list(range(1, 41))]
    once = [SamplingParams(max_tokens=1, ignore_eos=True, temperature=0.0)]
    assert throughput.timed_generate(llm, long_prompt, once, watched=0).prefix_cache_hits == 0
    assert throughput.timed_generate(llm, long_prompt, once, watched=0).prefix_cache_hits == 32
    assert first.watched_first_token_step <= 2  # a prefill step, then the step that reads its token
    assert late.watched_first_token_step > 3 + 9 + 2
    assert throughput.batch1_step_ms(llm, [1, 2, 3], repeats=1) > 0
    # one record per step computed: each prompt alone (the one-token prompt [10] is a decode row),
    # then one decode step per further token
    assert len(first.step_records) == sum(lengths)
    assert sum(r.prefill_tokens for r in first.step_records) == 3 + 4 + 2
    assert sum(r.decode_rows for r in first.step_records) == sum(lengths) - 4 + 1
    kinds = {k["kind"]: k for k in throughput.step_breakdown(first.step_records)}
    assert kinds["prefill only"]["steps"] == 3
    assert kinds["decode, < 64 rows"]["steps"] == sum(lengths) - 3


def test_profiled_steps_print_their_mean_composition(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    """On a CPU the profiler sees no CUDA kernels; the window's steps are still the ones named."""
    llm = LLM(str(tiny_model_dir), device="cpu", kv_cache_memory_gb=0.01, max_num_seqs=1)
    params = [SamplingParams(max_tokens=6, ignore_eos=True, temperature=0.0)]
    # step 1 prefills the 5-token prompt; steps 2-4 decode one row each
    throughput.timed_generate(llm, [[1, 2, 3, 4, 5]], params, watched=0, profiled=range(2, 5))
    out = capsys.readouterr().out
    assert "steps 2-4 under torch.profiler" in out
    assert "1 decode rows, 0 prefill tokens" in out
    # the one decode row's contexts over the window: the prompt's 5 tokens and the tokens since
    assert "decode rows' contexts: mean" in out
    line = next(text for text in out.splitlines() if text.startswith("decode rows' contexts"))
    assert 5 < float(line.split("mean ")[1].split(",")[0]) < 10
    with pytest.raises(argparse.ArgumentTypeError):
        throughput.parse_steps("5:5")
    assert throughput.parse_steps("3:7") == range(3, 7)


def test_step_breakdown_groups_steps_by_kind() -> None:
    record = throughput.StepRecord
    records = [
        record(
            decode_rows=0,
            prefill_tokens=4096,
            context_tokens=4096,
            gpu_ms=30.0,
            launch_ms=2.0,
            idle_ms=0.5,
        ),
        record(
            decode_rows=100,
            prefill_tokens=300,
            context_tokens=9000,
            gpu_ms=8.0,
            launch_ms=2.0,
            idle_ms=0.5,
        ),
        record(
            decode_rows=300,
            prefill_tokens=900,
            context_tokens=9000,
            gpu_ms=20.0,
            launch_ms=2.0,
            idle_ms=0.5,
        ),
        record(
            decode_rows=300,
            prefill_tokens=0,
            context_tokens=90000,
            gpu_ms=15.0,
            launch_ms=2.0,
            idle_ms=0.5,
        ),
        record(
            decode_rows=500,
            prefill_tokens=0,
            context_tokens=90000,
            gpu_ms=25.0,
            launch_ms=2.0,
            idle_ms=0.5,
        ),
    ]
    kinds = {k["kind"]: k for k in throughput.step_breakdown(records)}
    assert list(kinds) == [
        "prefill only",
        "mixed, <= 512 tokens",
        "mixed, > 512 tokens",
        "decode, >= 256 rows",
    ]
    assert kinds["decode, >= 256 rows"]["steps"] == 2
    assert kinds["decode, >= 256 rows"]["gpu_s"] == pytest.approx(0.040)
    assert kinds["decode, >= 256 rows"]["mean_decode_rows"] == 400
    assert kinds["decode, >= 256 rows"]["idle_s"] == pytest.approx(0.001)
    assert kinds["decode, >= 256 rows"]["mean_launch_ms"] == pytest.approx(2.0)
    # fewer steps than tenths: one part a step, in run order
    assert kinds["decode, >= 256 rows"]["ms_by_tenth"] == [15.0, 25.0]


def test_no_vllm_column_for_other_workloads_or_gpus() -> None:
    h200 = "NVIDIA H200"
    whole = argparse.Namespace(requests=None, workload=None)
    assert throughput.vllm_reference(whole, 1000, h200) == {0.0: 21.83, 1.0: 21.15}
    assert throughput.vllm_reference(whole, 200, h200) == {}
    synthetic = argparse.Namespace(requests=1000, workload=None)
    assert throughput.vllm_reference(synthetic, 1000, h200) == {}
    # vLLM's figures are the H200's: an H100 (or the CPU) has none to compare with
    for device in ("NVIDIA H100 80GB HBM3", "cpu"):
        assert throughput.vllm_reference(whole, 1000, device) == {}
    relative = argparse.Namespace(requests=None, workload=Path("bench/sharegpt_like_1000.json"))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(DEFAULT_WORKLOAD.parents[1])
        assert throughput.vllm_reference(relative, 1000, h200) == {0.0: 21.83, 1.0: 21.15}


def test_first_run_counters_count_the_triton_cache(tmp_path: Path) -> None:
    from triton import knobs

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(knobs.cache, "dir", str(tmp_path))
        assert throughput.first_run_counters()["triton_cache_entries"] == 0
        (tmp_path / "a-compiled-kernel").mkdir()
        assert throughput.first_run_counters()["triton_cache_entries"] == 1


def test_result_name_keeps_runs_of_other_temperatures_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def name(*argv: str) -> str:
        monkeypatch.setattr("sys.argv", ["throughput.py", *argv])
        return throughput.result_name(throughput.parse_args())

    assert name() == "throughput"
    assert name("--schedule-policy", "longest-first") == "throughput_longest-first"
    greedy = name("--schedule-policy", "longest-first", "--temperatures", "0")
    sampled = name("--schedule-policy", "longest-first", "--temperatures", "1")
    assert greedy == "throughput_longest-first_t0"
    assert sampled == "throughput_longest-first_t1"
    assert name("--temperatures", "0,0.5") == "throughput_t0_0.5"
    policy = "swiftllm.controller.scheduler:Scheduler"  # module:Class, a Scheduler subclass
    assert name("--schedule-policy", policy) == "throughput_swiftllm.controller.scheduler.Scheduler"


def test_a_policy_that_does_not_import_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["throughput.py", "--schedule-policy", "nosuch:Policy"])
    with pytest.raises(SystemExit) as exit_info:
        throughput.parse_args()
    assert exit_info.value.code == 2
    assert "No module named 'nosuch'" in capsys.readouterr().err


def test_plot_draws_each_kind_of_each_run(tmp_path: Path) -> None:
    """The PNG beside the JSON (GPU results are recorded as JSON + PNG): one line a kind of step a run,
    each point a tenth of that kind's steps, and the floors as horizontal lines."""
    import matplotlib.pyplot as plt

    kinds = [
        {
            "kind": "mixed, <= 512 tokens",
            "steps": 20,
            "ms_by_tenth": [9.0 + i / 10 for i in range(10)],
        },
        {"kind": "decode, < 64 rows", "steps": 3, "ms_by_tenth": [5.5, 5.6, 5.7]},
    ]
    runs = [{"temperature": t, "seconds": 18.0 + t, "step_kinds": kinds} for t in (0.0, 1.0)]
    data = {
        "workload": "w.json x4",
        "schedule_policy": "longest-first",
        "device": "cpu",
        "compute_floor_s": 8.0,
        "longest": {"batch1_step_ms": 5.3, "weight_read_ms": 5.0, "serial_floor_s": 10.25},
        "runs": runs,
    }
    drawn = []
    original_savefig = plt.Figure.savefig

    def keep(figure: plt.Figure, path: Path, **kwargs: object) -> None:
        drawn.append(figure)
        original_savefig(figure, path, **kwargs)

    path = tmp_path / "throughput.png"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plt.Figure, "savefig", keep)
        throughput.plot(data, path)
    assert path.stat().st_size > 1000
    (ax,) = drawn[0].axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    mixed = lines["T=1: mixed, <= 512 tokens (20 steps)"]
    assert list(mixed.get_xdata()) == pytest.approx([5 + 10 * i for i in range(10)])
    assert list(mixed.get_ydata()) == kinds[0]["ms_by_tenth"]
    decode = lines["T=0: decode, < 64 rows (3 steps)"]
    assert list(decode.get_xdata()) == pytest.approx([100 / 6, 50, 500 / 6])
    assert list(lines["batch-1 step"].get_ydata()) == [5.3, 5.3]
    assert "T=0 18.00 s, T=1 19.00 s" in ax.get_title()
    assert len(lines) == 2 * len(kinds) + 2
