"""bench/trace_requests/arrival_trace.py: a hand-written server log against hand-computed trace rows, and the
logs it cannot turn into a trace. (A live server's log, end to end: tests/bench/test_trace_requests.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_scripts import load_script

arrival_trace = load_script("trace_requests/arrival_trace", "bench_arrival_trace")
workload = load_script("workload")
TracedRequest = workload.TracedRequest

LOG = """\
[req sent t=9.500000 step=0 rows=1 tokens=30 firsts=0]
[req post t=10.000100 rid=0 prompt=12 max_tokens=8 entered=10.000000]
[req post t=10.502000 rid=1 prompt=30 max_tokens=5 entered=10.500000]
[req post t=10.503000 rid=2 prompt=7 max_tokens=4 entered=10.250000]
a log record[req finished t=11.000000 rid=0 tokens=8 reason=length] and more of it
[req finished t=11.100000 rid=1 tokens=3 reason=stop]
[req finished t=11.200000 rid=2 tokens=4 reason=length]
[req post t=12.000000 rid=3 prompt=9 max_tokens=6 entered=11.999000]
[req finished t=12.100000 rid=3 tokens=2 reason=abort]
[req post t=13.000000 rid=4 prompt=5 max_tokens=3 entered=12.900000]
[req post t=14.000000 rid=5 prompt=20]
[req finished t=14.500000 rid=5 tokens=10 reason=stop]
"""


def test_rows_from_a_hand_written_log() -> None:
    conversion = arrival_trace.convert(arrival_trace.breakdown.parse(LOG.splitlines()))
    # by when each handler began (request 2's began before request 1's, though posted after it), from the
    # first; request 5's log line has no `entered` (an older hook): its post's own time, 14.0
    assert conversion.requests == [
        TracedRequest(0.0, 12, 8),
        TracedRequest(0.25, 7, 4),
        TracedRequest(0.5, 30, 3),
        TracedRequest(4.0, 20, 10),
    ]
    assert conversion.span_s == 4.0
    # request 1 made 3 of its 5 tokens; request 5's max_tokens is unknown, so it is not counted
    assert conversion.stopped_early == 1
    # request 3 was aborted after 2 tokens, request 4 never ended
    assert dict(conversion.skipped) == {"ended by abort": 1, arrival_trace.UNFINISHED: 1}


def test_the_written_trace_reads_back(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    log = tmp_path / "server.log"
    log.write_text(LOG)
    out = tmp_path / "traces" / "trace.json"
    assert arrival_trace.main([str(log), str(out)]) == 0
    assert workload.load_arrival_trace(out) == [
        TracedRequest(0.0, 12, 8),
        TracedRequest(0.25, 7, 4),
        TracedRequest(0.5, 30, 3),
        TracedRequest(4.0, 20, 10),
    ]
    assert len(out.read_text().splitlines()) == 4 + 2  # one request a line, between the brackets
    printed = capsys.readouterr().out
    assert "wrote 4 requests arriving over 4.000 s" in printed
    assert "(a mean 0.75 requests/s)" in printed  # 3 gaps over 4 s
    assert "1 stopped before their max_tokens" in printed
    assert f"skipped 2: 1 ended by abort, 1 {arrival_trace.UNFINISHED}" in printed


@pytest.mark.parametrize(
    ("log_text", "message"),
    [
        (
            "SwiftLLM serving\n[req sent t=1.0 step=0 rows=1 tokens=3 firsts=0]\n",
            "TRACE_REQUESTS=1",
        ),
        (
            "[req post t=1.0 rid=0 prompt=5 max_tokens=3 entered=0.9]\n"
            "[req post t=2.0 rid=1 prompt=5 max_tokens=3 entered=1.9]\n"
            "[req finished t=2.5 rid=1 tokens=0 reason=rejected]\n",
            "none of the 2 requests posted was ended by the server: 1 ended by rejected, 1 unfinished",
        ),
        ("[req post t=1.0 rid=0 prompt=5]\n[req finished t=2.0 rid=0 reason=stop]\n", "malformed"),
    ],
)
def test_a_log_without_a_trace_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture, log_text: str, message: str
) -> None:
    log = tmp_path / "server.log"
    log.write_text(log_text)
    out = tmp_path / "trace.json"
    assert arrival_trace.main([str(log), str(out)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("arrival_trace.py: error: ")
    assert message in error
    assert not out.exists()


def test_a_missing_log_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert arrival_trace.main([str(tmp_path / "none.log"), str(tmp_path / "trace.json")]) == 1
    assert "cannot read" in capsys.readouterr().err
