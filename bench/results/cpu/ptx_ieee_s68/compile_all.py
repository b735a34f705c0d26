"""Compile the Triton kernels of the tree at argv[1] for sm_90 (H100/H200) on a machine without a GPU: a fake
driver gives the target, every launch is a warmup (compile only). Writes {kernel + constexprs: sha of the PTX
without debug info} as JSON to argv[2]."""
import hashlib, json, re, sys
sys.path.insert(0, sys.argv[1])
import torch, triton
from triton.backends.compiler import GPUTarget
from triton.runtime import driver, jit

class FakeDriver:
    def get_current_target(self): return GPUTarget("cuda", 90, 32)
    def get_current_device(self): return 0
    def get_current_stream(self, device=None): return 0
    def get_active_torch_device(self): return torch.device("cpu")
driver.set_active(FakeDriver())
OUT = {}
run = jit.JITFunction.run
def warm(self, *args, grid, warmup, **kwargs):
    kernel = run(self, *args, grid=grid, warmup=True, **kwargs)
    ptx = kernel.asm["ptx"]
    code = ptx.split(".section\t.debug")[0]
    code = "\n".join(l for l in code.splitlines() if not l.lstrip().startswith(".file") and not l.lstrip().startswith(".loc"))
    consts = {k: v for k, v in kwargs.items() if k.isupper()}
    name = f"{self.fn.__name__} {sorted(consts.items())} {[str(a.dtype) for a in args if hasattr(a, 'dtype')]}"
    OUT[name] = hashlib.sha256(code.encode()).hexdigest()[:16] + f" mma={code.count('mma')} wgmma={code.count('wgmma')} fma={code.count('fma.rn.f32')}"
    return kernel
jit.JITFunction.run = warm
from swiftllm.kernels import pdl
pdl.LAUNCH.update(PDL=True, launch_pdl=True)
import numpy as np
from swiftllm.kernels.decode_attention import decode_attention
from swiftllm.kernels.gemv import gemv
from swiftllm.kernels.prefill_attention import prefill_attention
from swiftllm.worker.metadata import AttentionMetadata

def paged(ql, cl, heads, kv, dim, dtype):
    need = [-(-c // 16) for c in cl]
    nb = sum(need) + 2
    table = np.zeros((len(need), max(need) + 1), np.int32)
    used = 0
    for i, n in enumerate(need):
        table[i, :n] = np.arange(used, used + n); used += n
    kc = torch.zeros(nb, kv, 16, dim, dtype=dtype); vc = torch.zeros_like(kc)
    meta = AttentionMetadata.build(np.array(ql, np.int32), np.array(cl, np.int32), table, 16, torch.device("cpu"))
    q = torch.zeros(sum(ql), heads, dim, dtype=dtype)
    return q, kc, vc, meta

for dtype in (torch.bfloat16, torch.float16, torch.float32):
    for heads, kv, dim in ((32, 8, 128), (9, 3, 64), (64, 8, 80)):
        for batch in (1, 64, 256):
            q, kc, vc, meta = paged([1] * batch, [100] * batch, heads, kv, dim, dtype)
            for splits in (1, 4):
                decode_attention(q, kc, vc, meta.block_table, meta.context_lens, dim**-0.5, splits)
        q, kc, vc, meta = paged([300, 1, 33], [1000, 17, 97], heads, kv, dim, dtype)
        prefill_attention(q, kc, vc, meta.query_start, meta.context_lens, meta.block_table, meta.max_query_len, dim**-0.5, torch.empty_like(q))
    for m in (1, 8, 33, 64):
        x = torch.zeros(m, 4096, dtype=dtype); w = torch.zeros(6144, 4096, dtype=dtype)
        gemv(x, w)
        gemv(x, torch.zeros(28672, 4096, dtype=dtype), gated=True)
        gemv(x, torch.zeros(4096, 4096, dtype=dtype), parts=2)
json.dump(OUT, open(sys.argv[2], "w"), indent=0, sort_keys=True)
print(len(OUT), "kernels compiled")
