"""A worker that speaks the worker protocol (docs/protocol.md) and computes nothing: each step takes the time
bench/schedule_sim.py's cost model gives it (fitted to Llama-3-8B on the H200), and samples random tokens. The
real controller attaches to it, so the whole host side of serving (REST, tokenizing, the scheduler, the engine
thread, detokenizing, SSE) runs for real on this machine's CPU at the pace of an H200, with no GPU:

    python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy
    python3 bench/sim_worker.py --model /tmp/llama3-8b-dummy --bind tcp://127.0.0.1:5601 &
    swiftctl launch --model /tmp/llama3-8b-dummy --worker-addrs tcp://127.0.0.1:5601 \\
        --max-num-batched-tokens 16384
    python3 bench/serving.py --request-rates 2,16

bench/serving_sim.py models the same serving with no host at all, so the two side by side give the host's share
of TTFT and TPOT, on this CPU; bench/trace_requests splits it further (bench/README.md, "The host's share").

The device clock: a step starts when it arrives or when the step before it ends, whichever is later, runs for its
modelled time, and is answered at its end; so, as on a GPU, a step queued behind another runs right after it,
and a controller that falls behind leaves the device idle. Requests are decoded and validated as a real worker
does (codec.decode_step), and any bad one gets an error reply; a sequence whose sampling values are out of
range is named in the reply's errors (messages.refuse_bad_values). What it leaves out: the K/V and the model (token
ids are drawn uniformly from the vocabulary, from --seed), the -1 token's bookkeeping (a -1 is accepted without
checking that a token was sampled), CPU swap's time, and the host time a real worker spends launching a step.
Timings reported: queue_ms, gpu_ms (the modelled time) and wait_ms (from arrival to the answer)."""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from schedule_sim import KV_CACHE_BLOCKS, StepCostModel, add_what_if_flag, what_if_model  # noqa: E402

from swiftllm.model_config import ModelConfig  # noqa: E402
from swiftllm.protocol import codec  # noqa: E402
from swiftllm.protocol.auth import check_bind, is_local_address  # noqa: E402
from swiftllm.protocol.messages import CacheGeometry, ProtocolError, refuse_bad_values  # noqa: E402
from swiftllm.protocol.step import StepCommand, StepResult, f32, i32  # noqa: E402

MAX_POLL_MS = 100.0
# Llama-3-8B's K and V of one 16-token block in bf16, every layer (2 MiB: 64 KiB a layer): what profile
# reports (the comment said 128 KiB until session 57)
BLOCK_BYTES = 2 * 32 * 8 * 128 * 2 * 16


@dataclass(frozen=True)
class PendingReply:
    """An answer held until the simulated device reaches `due` (time.perf_counter seconds)."""

    envelope: list[bytes]
    payload: bytes
    due: float


class SimulatedWorkerServer:
    def __init__(
        self, model_dir: Path, bind: str, cost: StepCostModel, num_blocks: int, seed: int
    ) -> None:
        # no session token here: local addresses only, a real worker's rule
        check_bind(bind, None)
        self.model_dir = model_dir.resolve()
        self.model_config = ModelConfig.from_dir(model_dir)
        self.cost = cost
        self.num_blocks = num_blocks
        self.rng = np.random.default_rng(seed)
        self.geometry: CacheGeometry | None = None
        self.epoch = 0
        self.next_epoch = 1
        self.device_free_at = 0.0  # when the last step queued on the simulated device ends
        self.pending: deque[PendingReply] = deque()  # in arrival order, so in due order too
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        check_bind(
            bind, None
        )  # no session token here: local addresses only, as a real worker's rule
        self.socket.bind(bind)
        self.address = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.serving = False
        self.steps = 0
        self.device_busy_s = 0.0

    def serve(self) -> None:
        """Answer requests until a shutdown: read what arrives, send each answer when it is due."""
        self.serving = True
        while self.serving:
            self.send_due()
            timeout_ms = None  # nothing to answer: wait for a request (up to MAX_POLL_MS)
            if self.pending:
                timeout_ms = max(0.0, (self.pending[0].due - time.perf_counter()) * 1e3)
            if timeout_ms is None or timeout_ms > MAX_POLL_MS:
                timeout_ms = MAX_POLL_MS  # a signal's handler runs between polls
            if self.socket.poll(timeout_ms):
                frames = self.socket.recv_multipart()
                self.handle(frames[:-1], frames[-1], time.perf_counter())
        while self.pending:  # the shutdown's answer is the last
            time.sleep(max(0.0, self.pending[0].due - time.perf_counter()))
            self.send_due()

    def send_due(self) -> None:
        now = time.perf_counter()
        while self.pending and self.pending[0].due <= now:
            reply = self.pending.popleft()
            self.socket.send_multipart([*reply.envelope, reply.payload])

    def handle(self, envelope: list[bytes], payload: bytes, received: float) -> None:
        """Every request gets an answer in arrival order: a step's when its modelled time has passed,
        anything else's (an error too) right after the steps queued before it."""
        request_id = None
        due = max(received, self.device_free_at)  # behind every step already queued
        try:
            request = codec.decode_request(payload)
            request_id = request.id
            if request.op != "hello" and (self.epoch == 0 or request.epoch != self.epoch):
                raise ProtocolError("StaleEpoch", f"epoch {request.epoch} is not the session's")
            if request.op == "step":
                reply, due = self.run_step(request_id, request.fields, received)
            else:
                fields = getattr(self, f"op_{request.op}")(request.fields)
                reply = codec.encode_reply(request_id, **fields)
        except ProtocolError as e:
            reply_id = request_id if e.request_id is None else e.request_id
            reply = codec.encode_error(reply_id, e.type, str(e))
        except Exception as e:  # the worker answers whatever it is sent, and serves on
            reply = codec.encode_error(request_id, type(e).__name__, str(e) or repr(e))
        self.pending.append(PendingReply(envelope, reply, due))

    def run_step(
        self, request_id: int, fields: dict[str, Any], received: float
    ) -> tuple[bytes, float]:
        """The step's reply and when it is due: once the device has run every step before it and it."""
        if self.geometry is None:
            raise ProtocolError("CacheNotInitialized", "send init_cache before the first step")
        cmd = codec.decode_step(fields, self.geometry)
        errors = refuse_bad_values(cmd, self.geometry)  # neutral values in cmd, as a real worker's
        step_s = self.cost.step_ms(cmd) / 1e3
        start = max(received, self.device_free_at)
        self.device_free_at = start + step_s
        self.steps += 1
        self.device_busy_s += step_s
        result = self.sample(cmd)
        result.errors = errors
        result.timings = {
            "queue_ms": 0.0,
            "gpu_ms": step_s * 1e3,
            "wait_ms": (self.device_free_at - received) * 1e3,
        }
        return codec.encode_reply(request_id, **codec.result_fields(result)), self.device_free_at

    def sample(self, cmd: StepCommand) -> StepResult:
        rows = cmd.seq_ids[cmd.sample == 1]
        vocab = self.model_config.vocab_size
        result = StepResult(seq_ids=i32(rows), tokens=i32(self.rng.integers(0, vocab, len(rows))))
        wanted = cmd.num_logprobs[cmd.sample == 1]
        if len(rows) and wanted.max() >= 0:  # every sampled row gets a logprob once one asks
            uniform = -math.log(vocab)
            top = int(wanted.max())
            result.logprobs = f32(np.full(len(rows), uniform))
            result.top_ids = i32(self.rng.integers(0, vocab, (len(rows), top)))
            result.top_logprobs = f32(np.full((len(rows), top), uniform))
        return result

    def op_hello(self, _: dict[str, Any]) -> dict[str, Any]:
        self.epoch = self.next_epoch
        self.next_epoch += 1
        config = self.model_config
        cache = None
        if self.geometry is not None:
            cache = asdict(self.geometry)
        return {
            "epoch": self.epoch,
            "protocol_version": codec.PROTOCOL_VERSION,
            "model_config": {**asdict(config), "max_context": config.max_context},
            "model_dir": str(self.model_dir),
            "rank": 0,
            "world_size": 1,
            "pipeline_size": 1,
            "device": "simulated H200",
            "dtype": "bfloat16",
            "backend": "simulated",
            "max_message_bytes": codec.DEFAULT_MAX_MESSAGE_BYTES,
            "cache": cache,
        }

    def op_profile(self, _: dict[str, int]) -> dict[str, Any]:
        return {"num_blocks": self.num_blocks, "block_bytes": BLOCK_BYTES}

    def op_init_cache(self, fields: dict[str, int]) -> dict[str, Any]:
        self.geometry = None  # as a real worker's: a failed init_cache leaves no cache
        if fields["max_model_len"] > self.model_config.max_context:
            raise ValueError(f"max_model_len is above the model's {self.model_config.max_context}")
        # no activation memory to protect: any step size (a real worker's limits are its own flags)
        self.geometry = CacheGeometry(
            vocab_size=self.model_config.vocab_size,
            max_num_seqs=2**31 - 1,
            max_num_batched_tokens=2**31 - 1,
            **fields,
        )
        return {}

    def op_shutdown(self, _: dict[str, Any]) -> dict[str, Any]:
        self.serving = False
        return {}

    def close(self) -> None:
        self.socket.close(linger=1000)
        self.context.term()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="a model directory (config.json)")
    ap.add_argument("--bind", default="tcp://127.0.0.1:*", help="a ZeroMQ address; * picks a port")
    ap.add_argument("--num-blocks", type=int, default=KV_CACHE_BLOCKS, help="what profile reports")
    ap.add_argument("--seed", type=int, default=0, help="of the sampled token ids")
    add_what_if_flag(ap)
    args = ap.parse_args(argv)
    if not is_local_address(args.bind):
        ap.error(
            f"{args.bind} is reachable from other machines: sim_worker.py takes no session token"
        )
    cost = what_if_model(ap, args.what_if)
    server = SimulatedWorkerServer(args.model, args.bind, cost, args.num_blocks, args.seed)
    # SIGTERM (host_share.py's stop) ends serve() as Ctrl-C does, so that the summary below is printed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"swiftllm worker listening on {server.address}", flush=True)
    started = time.perf_counter()
    try:
        server.serve()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.close()
    wall_s = time.perf_counter() - started
    print(
        f"simulated worker: {server.steps} steps, device busy {server.device_busy_s:.1f} s "
        f"of {wall_s:.1f} s",
        file=sys.stderr,  # host_share.py reads only the first line of stdout; stderr is its log
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
