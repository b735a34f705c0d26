"""bench/host_share.py: a client's records lined up with a traced server's events into one first token's
stages (hand-computed), and a live run (the real controller on this CPU attached to bench/sim_worker.py) whose
stages add up to the TTFT its client measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_scripts import load_script

host_share = load_script("host_share")
serving = host_share.serving

LOG = """\
[req post t=10.000000 rid=0 prompt=40 entered=9.999800]
[req post t=10.002000 rid=1 prompt=40 entered=10.001500]
[req added t=10.004000 rid=0 seq=3]
[req added t=10.004000 rid=1 seq=4]
[req sent t=10.005000 step=0 rows=2 tokens=80 firsts=3,4]
[req read t=10.020000 step=0 gpu_ms=15.000]
[req published t=10.021000 seqs=3,4]
[req delivered t=10.022000 rids=0,1]
[req post t=11.000000 rid=2 prompt=7]
"""


def record(sent_at: float, first_chunk_s: float) -> serving.RequestRecord:
    return serving.RequestRecord(40, 4, chunk_times=[first_chunk_s], sent_at=sent_at)


def test_client_and_server_times_line_up_into_stages() -> None:
    trace = host_share.breakdown.parse(LOG.splitlines())
    # sent at 9.999 and 10.0015, first chunks read at 10.025 and 10.030; a failed one is left out
    failed = serving.RequestRecord(40, 4, error="HTTP 500", sent_at=9.9)
    records = [record(10.0015, 0.0285), failed, record(9.999, 0.026)]
    columns = host_share.aligned_stages(records, trace)
    # each to the latest send before its post: the first handler began 0.8 ms after its send, the second
    # at once
    assert columns["http"] == pytest.approx([0.8, 0.0])
    assert columns["handler"] == pytest.approx([0.2, 0.5])
    assert columns["inbox"] == pytest.approx([4.0, 2.0])
    assert columns["on_device"] == pytest.approx([15.0, 15.0])
    assert columns["response"] == pytest.approx([3.0, 8.0])  # read minus delivered at 10.022
    assert columns["total"] == pytest.approx([26.0, 28.5])  # the client's TTFTs
    assert set(columns) == {*host_share.STAGES, "total"}


def test_a_server_event_with_no_client_request_is_left_out() -> None:
    trace = host_share.breakdown.parse(LOG.splitlines())
    late = record(10.5, 0.1)  # sent after both posts: matches neither
    assert host_share.aligned_stages([late], trace)["total"] == []


@pytest.mark.slow
def test_live_stages_add_up_to_the_clients_ttft(tmp_path: Path) -> None:
    args = ["--request-rates", "inf", "--num-requests", "6", "--out", str(tmp_path)]
    assert host_share.main(args) == 0
    (result_path,) = tmp_path.glob("host_share_*.json")
    data = json.loads(result_path.read_text())
    (rate,) = data["rates"]
    assert rate["live_result"]["completed"] == 6
    assert rate["traced"] == 6
    # all six traced: the stages' total is each request's TTFT as the client measured it
    for percentile in ("median", "p99"):
        total = rate["stages_ms"]["total"][percentile]
        assert total == pytest.approx(rate["live_result"]["ttft_ms"][percentile], rel=1e-6)
    for stage in host_share.STAGES:
        assert rate["stages_ms"][stage]["median"] >= 0
    # the device's part is at least the modelled steps: a prefill of the six prompts
    assert rate["stages_ms"]["on_device"]["median"] > 1.0
    assert rate["modelled"]["median_ttft_ms"] > 0
    assert (tmp_path / "host_share_server_inf.log").exists()


def test_the_server_attaches_to_the_simulated_worker_or_serves_on_the_gpu() -> None:
    limits = host_share.Limits(max_batched_tokens=4096, max_num_seqs=64)
    simulated = host_share.server_command(Path("/m"), 8123, limits, "tcp://127.0.0.1:5601")
    assert "--worker-addrs tcp://127.0.0.1:5601" in simulated
    assert "--load-format" not in simulated
    gpu = host_share.server_command(Path("/m"), 8123, limits, None)  # --gpu
    assert "--load-format dummy" in gpu
    assert "--worker-addrs" not in gpu
    for command in (simulated, gpu):
        assert "--model /m --port 8123" in command
        assert "--max-num-batched-tokens 4096 --max-num-seqs 64" in command
