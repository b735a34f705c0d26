"""swiftllm/controller/worker_client.py: what a client refuses before it connects."""

import pytest

from swiftllm.controller.worker_client import WorkerClient


@pytest.mark.parametrize(
    "address, message",
    [
        # session 48's probe: ZeroMQ connected to port 70000 - 65536 = 4464
        ("tcp://127.0.0.1:70000", r"the port must be in \[0, 65535\] or \*"),
        ("tcp://127.0.0.1:abc", r"the port must be in \[0, 65535\] or \*"),
        # session 48's probe: ZeroMQ took the connect, and the hello waited out its 300 s
        ("tcp://[::1:5555", "an IPv6 host goes in brackets"),
    ],
)
def test_an_address_zeromq_would_misread_is_refused_at_once(address: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkerClient(address, timeout_s=0.1)


def test_a_good_address_connects_lazily() -> None:
    """ZeroMQ connects in the background: a client to a port nobody serves is made at once, and its
    first call times out (here after 0.1 s) with the address in the error."""
    from swiftllm.controller.worker_client import WorkerError

    with WorkerClient("tcp://[::1]:9", timeout_s=0.1) as client:
        with pytest.raises(WorkerError, match=r"worker at tcp://\[::1\]:9 did not answer hello"):
            client.hello()
