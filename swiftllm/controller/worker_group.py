"""The controller's side of a group of workers: one WorkerClient per rank, driven as one.

Every rank gets every request over its own socket (the step too: each rank runs its pipeline stage's
layers on its tensor-parallel shard, and the collectives inside join them); every rank answers. The ranks
of the last stage sample from the same gathered logits, so their tokens agree; the first of them is the
one whose result is returned (rank 0 without pipeline stages). Replies are read from every rank before
any error is raised, so the ranks' reply streams stay in step. A group of one is a plain WorkerClient with
a liveness check while waiting.

The handshake (docs/protocol.md): hello to each rank, which must report rank = its position in the address
list and the same world size, model and dtype; profile to each, the cache is the smallest (the minimum of
num_blocks); init_cache to each with that geometry."""

from collections.abc import Callable
from typing import Any

from swiftllm.config import EngineConfig
from swiftllm.controller.engine import Engine
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.controller.worker_client import SharedOps, WorkerClient, WorkerError
from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.protocol.messages import ProtocolError
from swiftllm.protocol.step import StepCommand, StepResult

# how often a wait for replies checks that the worker processes live
LIVENESS_POLL_MS = 500
# how long the other ranks may stay silent once one has answered a request with an error: a rank whose step
# failed leaves the others blocked in a collective, whose replies would come only at their timeouts
ERROR_GRACE_MS = 5000
# what a worker's model must share with the controller's (its hello's model_config): the same weights' shape
SHAPE_KEYS = ("vocab_size", "hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim")


class WorkerGroup(SharedOps):
    """`addresses` in rank order. `liveness` (if given) returns why a worker is gone, or None; it is asked
    while waiting for a reply, so a dead rank fails the step within a second instead of a timeout.
    `token` is the workers' session token (protocol/auth.py), sent with each hello."""

    def __init__(
        self,
        addresses: list[str],
        liveness: Callable[[], str | None] | None = None,
        token: str | None = None,
    ) -> None:
        self.clients = [WorkerClient(address) for address in addresses]
        self.liveness = liveness
        self.token = token  # the workers' session token (protocol/auth.py), sent with each hello
        self.info: dict[str, Any] = {}  # rank 0's hello reply
        self.devices: list[str] = []  # each rank's device, from its hello reply
        self.result_rank = 0  # whose step results are returned (set by hello)

    def hello(self) -> None:
        """Open a session with every rank and check that they form this group."""
        infos = [client.hello(self.token) for client in self.clients]
        world_size = len(self.clients)
        for rank, info in enumerate(infos):
            if info.get("rank") != rank or info.get("world_size") != world_size:
                raise WorkerError(
                    "GroupMismatch",
                    f"worker #{rank} at {self.clients[rank].address} is rank {info.get('rank')!r} of "
                    f"{info.get('world_size')!r}, expected rank {rank} of {world_size}",
                )
            for key in ("model_config", "dtype", "protocol_version", "pipeline_size"):
                if info.get(key) != infos[0].get(key):
                    raise WorkerError("GroupMismatch", f"rank {rank}'s {key} differs from rank 0's")
        self.info = infos[0]
        self.devices = [info["device"] for info in infos]
        # the first rank of the last stage: it samples (the first stage only receives the tokens)
        stages = self.info["pipeline_size"]  # an int (WorkerClient.hello checks)
        if stages < 1 or world_size % stages != 0:
            raise WorkerError("GroupMismatch", f"{world_size} ranks in {stages} pipeline stages")
        self.result_rank = world_size - world_size // stages

    def call(self, op: str, **fields: Any) -> list[dict[str, Any]]:
        """Send the request to every rank, then read every reply; raises the first error."""
        for client in self.clients:
            client.send_request(op, **fields)
        return self.recv_all(lambda client: client.recv())

    def recv_all(self, receive: Callable[[WorkerClient], Any]) -> list[Any]:
        """One reply from each rank, in rank order; raises the first error once all are read."""
        replies = []
        first_error: WorkerError | None = None
        # a rank owing fewer replies than another had this one read before an interrupt (Ctrl-C in
        # LLM.generate while waiting for a later rank): skipped, so that every rank's stream is back in step
        owed = max(len(client.in_flight) for client in self.clients)
        for rank, client in enumerate(self.clients):
            if len(client.in_flight) < owed:
                replies.append(None)
                continue
            try:
                self.wait_for_reply(rank, first_error)
                replies.append(receive(client))
            except WorkerError as error:
                if error.lost:
                    raise  # its reply will never come: the group is done for
                first_error = first_error or error
            except ProtocolError as error:  # a reply it cannot read: which rank sent it, said
                invalid = WorkerError("InvalidReply", f"worker at {client.address}: {error}")
                first_error = first_error or invalid
        if first_error is not None:
            raise first_error
        return replies

    def wait_for_reply(self, rank: int, after_error: WorkerError | None = None) -> None:
        """Return once the rank's reply is there. A dead worker raises, so does a rank silent for its client's
        timeout (a frozen process: it waited that long here, then as long again in recv, until session 47), and a
        rank silent ERROR_GRACE_MS after another rank's error (`after_error`): the group is done for."""
        if self.liveness is None:
            return
        client = self.clients[rank]
        waited_ms = 0.0
        while not client.socket.poll(LIVENESS_POLL_MS):
            if problem := self.liveness():
                raise WorkerError("WorkerDied", f"{problem} (waiting for rank {rank})")
            waited_ms += LIVENESS_POLL_MS
            if after_error is not None and waited_ms >= ERROR_GRACE_MS:
                why = f"rank {rank} silent {waited_ms / 1000:g} s after another rank's error: {after_error}"
                raise WorkerError("Timeout", why)
            if waited_ms >= client.timeout_s * 1000:  # a frozen rank: not recv's own wait on top
                raise WorkerError("Timeout", f"rank {rank} silent for {client.timeout_s:g} s")

    def profile(self, block_size: int) -> tuple[int, int]:
        """What the group's KV cache can hold, (num_blocks, block_bytes): the minimum of the ranks' blocks, and
        one block's bytes on a rank (the largest)."""
        replies = self.call("profile", block_size=block_size)
        # integers, block_bytes > 0: one missing raised a bare KeyError, a string TypeError, block_bytes 0 on
        # the CPU a ZeroDivisionError; num_blocks < 1 is start_engine's ModelError
        sizes = [(reply.get("num_blocks"), reply.get("block_bytes")) for reply in replies]
        if not all(type(num) is int and type(size) is int and size > 0 for num, size in sizes):
            raise WorkerError("InvalidReply", f"profile (num_blocks, block_bytes): {sizes!s:.200}")
        return min(num for num, _ in sizes), max(size for _, size in sizes)

    def send_step(self, cmd: StepCommand) -> None:
        for client in self.clients:
            client.send_step(cmd)

    def recv_step(self) -> StepResult:
        """The result of the last pipeline stage's first rank (every rank of that stage sampled the same
        tokens from the same gathered logits)."""
        return self.recv_all(lambda client: client.recv_step())[self.result_rank]

    def close(self) -> None:
        for client in self.clients:
            client.close()


def start_engine(
    config: EngineConfig, group: WorkerGroup, model_config: ModelConfig, tokenizer: Tokenizer | None
) -> Engine:
    """Size the cache (profiled on a GPU: the smallest rank's; kv_cache_memory_gb on CPU; or
    num_gpu_blocks), allocate it on every rank, and start an Engine on the group (its scheduler's config,
    `engine.scheduler.cfg`, describes the cache). Workers that serve another model than `model_config`
    (attached by --worker-addrs: session 47's probe served one model's tokens through another's tokenizer
    and name) are a ModelError, and so are workers that take smaller steps than `config` allows."""
    if any(group.info["model_config"].get(key) != getattr(model_config, key) for key in SHAPE_KEYS):
        raise ModelError(f"the workers' model is not {config.model}: their shapes differ")
    num_gpu_blocks, block_bytes = group.profile(config.block_size)
    if group.info["device"] == "cpu":  # profiling means nothing on CPU: the budget is ours to set
        num_gpu_blocks = int(config.kv_cache_memory_gb * 2**30) // block_bytes
    # num_gpu_blocks (None, or at least 1), when set, read as LLM.start_runner reads it
    scheduler_config = config.scheduler_config(
        model_config, config.num_gpu_blocks or num_gpu_blocks, block_bytes
    )
    group.init_cache(**scheduler_config.cache_fields)
    # Workers started by hand take steps up to their own --max-num-seqs / --max-num-batched-tokens, which
    # hello reports once a cache is set: a larger step (the first long prompt) was refused and ended the
    # server (session 57's probe), so a controller whose limits are larger does not start.
    group.hello()
    for client in group.clients:  # each rank refuses the steps beyond its own limits
        # a worker whose hello has no cache map with these integers (nil, say: it raised a bare TypeError)
        # takes no step we know of
        cache = client.info.get("cache")
        for key in ("max_num_seqs", "max_num_batched_tokens"):
            limit = cache.get(key) if isinstance(cache, dict) else None
            ours = getattr(config, key)
            if type(limit) is not int or limit < ours:
                raise ModelError(f"{client.address} takes {key} {limit!r} < {ours}, ours")
    return Engine(group, model_config, tokenizer, scheduler_config, seed=config.seed)
