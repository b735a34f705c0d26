"""bench/throughput.py with vLLM's dummy weights: every parameter, norms included, drawn from uniform(-1e-3,
1e-3) (vLLM's initialize_dummy_weights) instead of DummyCheckpoint's uniform(-0.02, 0.02) and norms of 1.
Same arguments as throughput.py; run from the checkout's root with PYTHONPATH=.:<wheels> (session 30)."""

import runpy
import sys

import torch

sys.path.insert(0, "bench")
from swiftllm.worker import weights  # noqa: E402

ours = weights.DummyCheckpoint.__init__


def vllm_like(self: weights.DummyCheckpoint, *args: object) -> None:
    ours(self, *args)
    gen = torch.Generator(next(iter(self.tensors.values())).device).manual_seed(0)
    for tensor in self.tensors.values():
        tensor.uniform_(-1e-3, 1e-3, generator=gen)


weights.DummyCheckpoint.__init__ = vllm_like
sys.argv = ["bench/throughput.py", *sys.argv[1:]]
runpy.run_path("bench/throughput.py", run_name="__main__")
