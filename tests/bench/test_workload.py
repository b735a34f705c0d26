"""bench/workload.py: reading [input_len, output_len] files, and the seeded random prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_scripts import load_script

workload = load_script("workload")
DEFAULT_WORKLOAD = workload.DEFAULT_WORKLOAD
RequestLengths = workload.RequestLengths
WorkloadError = workload.WorkloadError
load_workload = workload.load_workload
random_prompts = workload.random_prompts


def write(path: Path, content: object) -> Path:
    path.write_text(json.dumps(content))
    return path


def test_the_project_file_holds_the_design_workload() -> None:
    requests = load_workload(DEFAULT_WORKLOAD)
    assert len(requests) == 1000
    assert sum(r.input_len for r in requests) == 199_305
    assert sum(r.output_len for r in requests) == 198_953
    assert max(r.output_len for r in requests) == 1933
    assert requests[0] == RequestLengths(116, 125)


def test_num_requests_takes_the_first_pairs(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", [[3, 4], [5, 6], [7, 8]])
    assert load_workload(path, 2) == [RequestLengths(3, 4), RequestLengths(5, 6)]
    assert load_workload(path) == load_workload(path, 3)


@pytest.mark.parametrize(
    "content",
    [
        {"a": 1},
        [],
        [[1, 2], [3]],
        [[1, 2, 3]],
        [[0, 5]],
        [[5, -1]],
        [[1.5, 2]],
        [[True, 2]],
        [["10", 2]],
        [None],
    ],
)
def test_malformed_files_are_refused_with_the_entry(tmp_path: Path, content: object) -> None:
    path = write(tmp_path / "w.json", content)
    with pytest.raises(WorkloadError, match=str(path.name)):
        load_workload(path)


def test_unreadable_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="cannot read"):
        load_workload(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[[1, 2],")
    with pytest.raises(WorkloadError, match="not JSON"):
        load_workload(tmp_path / "bad.json")


@pytest.mark.parametrize("count", [0, -1, 4])
def test_num_requests_out_of_range(tmp_path: Path, count: int) -> None:
    path = write(tmp_path / "w.json", [[3, 4], [5, 6], [7, 8]])
    with pytest.raises(WorkloadError, match="holds 3 requests"):
        load_workload(path, count)


def test_random_prompts_have_the_lengths_and_repeat_by_seed() -> None:
    prompts = random_prompts([3, 1, 50], vocab_size=7, seed=5)
    assert [len(p) for p in prompts] == [3, 1, 50]
    assert all(0 <= t < 7 for p in prompts for t in p)
    assert all(isinstance(t, int) for p in prompts for t in p)
    assert random_prompts([3, 1, 50], vocab_size=7, seed=5) == prompts
    assert random_prompts([3, 1, 50], vocab_size=7, seed=6) != prompts


TracedRequest = workload.TracedRequest
load_arrival_trace = workload.load_arrival_trace


def trace_rows(*rows: tuple[float, int, int]) -> list[dict]:
    return [{"t": t, "input_len": n, "output_len": m} for t, n, m in rows]


def test_an_arrival_trace_is_read_in_order_of_arrival_from_its_first(tmp_path: Path) -> None:
    # out of order, a later start, an extra key (ignored), two requests at one time (kept in file order)
    rows = trace_rows((2.5, 10, 3), (1.0, 20, 4), (4.0, 5, 1), (2.5, 7, 2))
    rows[0]["model"] = "m"
    path = write(tmp_path / "trace.json", rows)
    assert load_arrival_trace(path) == [
        TracedRequest(0.0, 20, 4),
        TracedRequest(1.5, 10, 3),
        TracedRequest(1.5, 7, 2),
        TracedRequest(3.0, 5, 1),
    ]
    # the first two arrivals; an integer time reads as seconds too
    path = write(tmp_path / "ints.json", trace_rows((3, 10, 3), (5, 20, 4), (9, 5, 1)))
    assert load_arrival_trace(path, 2) == [TracedRequest(0.0, 10, 3), TracedRequest(2.0, 20, 4)]


@pytest.mark.parametrize(
    "content",
    [
        {"t": 0, "input_len": 1, "output_len": 1},
        [],
        [[0, 1, 1]],
        [{"t": 0, "input_len": 1}],
        [{"t": -1, "input_len": 1, "output_len": 1}],
        [{"t": "0", "input_len": 1, "output_len": 1}],
        [{"t": True, "input_len": 1, "output_len": 1}],
        [{"t": 0, "input_len": 0, "output_len": 1}],
        [{"t": 0, "input_len": 1, "output_len": 2.5}],
    ],
)
def test_malformed_arrival_traces_are_refused_with_the_entry(
    tmp_path: Path, content: object
) -> None:
    path = write(tmp_path / "trace.json", content)
    with pytest.raises(WorkloadError, match="trace.json"):
        load_arrival_trace(path)


def test_unreadable_arrival_traces_and_too_many_requests(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="cannot read arrival trace"):
        load_arrival_trace(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('[{"t": 0,')
    with pytest.raises(WorkloadError, match="not JSON"):
        load_arrival_trace(tmp_path / "bad.json")
    path = write(tmp_path / "trace.json", trace_rows((0, 1, 1), (1, 1, 1)))
    with pytest.raises(WorkloadError, match="holds 2 requests"):
        load_arrival_trace(path, 3)
