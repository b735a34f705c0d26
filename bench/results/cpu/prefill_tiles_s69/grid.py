import sys
sys.path.insert(0, "/work/main/bench/results/cpu/ptx_ieee_s68")
sys.argv = ["x", "/work/main", "/tmp/pf/unused.json"]
import compile_all as ca
import torch
from triton.backends.compiler import GPUTarget
from triton.runtime import driver, jit
from swiftllm.kernels.prefill_attention import prefill_attention

arch = int(sys.argv_arch) if hasattr(sys, "argv_arch") else 90
class Drv(ca.FakeDriver):
    def get_current_target(self):
        return GPUTarget("cuda", ARCH, 32)

import os
ARCH = int(os.environ.get("ARCH", "90"))
driver.set_active(Drv())
jit.JITFunction.run = ca.compile_only
for dtype in (torch.bfloat16, torch.float32):
    for heads, kv, dim in ((8, 8, 64), (32, 8, 128), (16, 4, 256)):
        for bn in (16, 32, 64, 128):
            for stages in (2, 3):
                ca.KERNELS.clear()
                q, kc, vc, meta = ca.paged([300, 1, 33], [1000, 17, 97], heads, kv, dim, dtype)
                try:
                    prefill_attention(q, kc, vc, meta.query_start, meta.context_lens, meta.block_table,
                                      meta.max_query_len, dim**-0.5, torch.empty_like(q), bn, stages)
                    v = list(ca.KERNELS.values())[0]
                    print(ARCH, str(dtype)[6:], dim, bn, stages, v.split("shared=")[1], flush=True)
                except Exception as e:
                    print(ARCH, str(dtype)[6:], dim, bn, stages, "ERR", type(e).__name__, str(e)[:80], flush=True)
