"""Experiment: run a bench script with mixed graphs' decode attention at fixed (splits, min_chunk) from the
MIXED_SPLITS env var ("4,512"); unset: the code as it is. Usage: python3 mixed_splits.py bench/x.py args..."""

import os
import runpy
import sys

import swiftllm.worker.cuda_graphs as cuda_graphs

value = os.environ.get("MIXED_SPLITS")
if value:
    splits, min_chunk = (int(x) for x in value.split(","))

    def attention(self, q, k_cache, v_cache, meta, scale):  # noqa: ANN001, ANN202
        ops = self.ops
        out = ops.decode_attention(
            q,
            k_cache,
            v_cache,
            self.decode_table,
            self.decode_context_lens,
            scale,
            splits,
            min_chunk=min_chunk,
        )
        return ops.prefill_attention(
            q,
            k_cache,
            v_cache,
            self.chunk_start,
            self.chunk_context_lens,
            self.chunk_table,
            len(q),
            scale,
            out,
        )

    cuda_graphs.FixedGridAttention.attention = attention
    print(f"mixed graphs' decode attention at splits {splits}, min_chunk {min_chunk}", flush=True)
script = sys.argv[1]
sys.path.insert(0, os.path.dirname(script))
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
