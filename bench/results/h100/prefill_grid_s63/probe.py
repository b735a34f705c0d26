"""Runs bench/profile_step.py on another tree's swiftllm/, with the mixed graphs' chunk count set:
python3 bench/results/h100/prefill_grid_s63/probe.py TREE_ROOT CHUNKS [profile_step.py's arguments]

CHUNKS 0 keeps the tree's own (graph_inputs.CHUNKS, 16). Set before any graph is captured, in both modules
that read it (graph_inputs sizes the staging, cuda_graphs the prefill grid and the replay check)."""

import runpy
import sys

root = sys.argv[1]
chunks = int(sys.argv[2])
sys.path.insert(0, root)
sys.path.insert(1, "bench")
import swiftllm.worker.cuda_graphs as cuda_graphs  # noqa: E402
import swiftllm.worker.graph_inputs as graph_inputs  # noqa: E402

assert cuda_graphs.__file__.startswith(root), cuda_graphs.__file__
if chunks:
    graph_inputs.CHUNKS = chunks
    cuda_graphs.CHUNKS = chunks
print(f"tree {root}, CHUNKS {cuda_graphs.CHUNKS}", flush=True)
sys.argv = ["bench/profile_step.py", *sys.argv[3:]]
runpy.run_path("bench/profile_step.py", run_name="__main__")
