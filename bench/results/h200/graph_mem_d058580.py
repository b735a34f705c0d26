"""GPU memory that init_cache reserves beyond the KV cache (compile_ahead, CUDA graphs), and its time; then
the same after torch.cuda.empty_cache() (what the allocator only cached)."""

import sys
import time

import torch
from common import LLAMA3_8B, config_dir

from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

max_model_len = int(sys.argv[1])
runner = ModelRunner(
    WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
)
blocks = 4096
torch.cuda.synchronize()
before = torch.cuda.memory_reserved()
t0 = time.perf_counter()
runner.init_cache(16, blocks, 1, max_model_len)
torch.cuda.synchronize()
seconds = time.perf_counter() - t0
beyond = torch.cuda.memory_reserved() - before - blocks * runner.block_bytes(16)
torch.cuda.empty_cache()
kept = torch.cuda.memory_reserved() - before - blocks * runner.block_bytes(16)
graphs = len(runner.graphs.decode_graphs) + len(runner.graphs.piecewise_graphs)
print(
    f"max_model_len {max_model_len}: {graphs} graphs, {beyond / 2**30:.2f} GiB reserved beyond the KV cache "
    f"({kept / 2**30:.2f} after empty_cache), init_cache {seconds:.1f} s"
)
