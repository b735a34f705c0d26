"""swiftllm/controller/worker_client.py: what a client refuses before it connects."""

from contextlib import closing

import pytest
import zmq

from swiftllm.controller.worker_client import WorkerClient
from swiftllm.protocol import codec


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

    with closing(WorkerClient("tcp://[::1]:9", timeout_s=0.1)) as client:
        with pytest.raises(WorkerError, match=r"worker at tcp://\[::1\]:9 did not answer hello"):
            client.hello()


def test_a_reply_to_another_request_is_out_of_order() -> None:
    """A reply naming a request other than the oldest in flight is WorkerError OutOfOrder, naming both."""
    from swiftllm.controller.worker_client import WorkerError

    context = zmq.Context()
    worker = context.socket(zmq.ROUTER)  # a fake worker, answered by hand on this thread
    worker.setsockopt(zmq.LINGER, 0)
    worker.setsockopt(zmq.RCVTIMEO, 5000)
    worker.bind("tcp://127.0.0.1:*")
    try:
        with closing(
            WorkerClient(worker.getsockopt_string(zmq.LAST_ENDPOINT), timeout_s=5)
        ) as client:
            request_id = client.send_request("hello")
            envelope, _ = worker.recv_multipart()
            worker.send_multipart([envelope, codec.encode_reply(request_id + 1, epoch=1)])
            with pytest.raises(WorkerError, match="OutOfOrder: expected the reply to #0, got #1"):
                client.recv()
    finally:
        context.destroy()


def test_call_refuses_while_requests_are_in_flight() -> None:
    """call() waits for its own reply only: with a request in flight it raises, and sends nothing."""
    with closing(WorkerClient("tcp://[::1]:9", timeout_s=0.1)) as client:
        client.send_request("profile", block_size=16)
        with pytest.raises(RuntimeError, match="1 requests in flight: receive them before sending"):
            client.call("shutdown")
        assert [sent.op for sent in client.in_flight] == ["profile"]
