"""Session 55: a bench script run with another KV block size (tokens a block; EngineConfig.block_size, default
16), for an A/B against the default in the same device call, each a fresh process, alternated.

    PYTHONPATH=.:/tmp/site python3 bench/results/h100/block_size_s55.py SIZE bench/latency.py [its flags]

The block size was never timed before (docs/performance_log.md has no entry): decode attention gathers a tile's
keys through the block table (n // PAGE per key, PAGE tokens contiguous per KV head: 4 KB at 16), and the graphs'
table widths are in blocks. The patch sets block_size wherever LLM(...) is built without one.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import swiftllm.llm

BENCH = Path(__file__).resolve().parents[2]


def main() -> None:
    size = int(sys.argv[1])
    script = sys.argv[2]
    build = swiftllm.llm.LLM.__init__

    def init(self, model=None, **options):  # noqa: ANN001, ANN202, ANN003
        options.setdefault("block_size", size)
        build(self, model, **options)

    swiftllm.llm.LLM.__init__ = init
    print(f"block_size: {size}", flush=True)
    sys.argv = [script, *sys.argv[3:]]
    sys.path.insert(0, str(BENCH))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
