"""GPU check of the gated GEMV against float64 at Llama-3-8B's MLP shape (bf16), and of backend_triton.mlp.
(Run in session 25's call 3 as .run/gated_check.py; its print line split here for ruff, nothing else changed.)"""

import torch
import torch.nn.functional as F

from swiftllm.kernels.gemv import gemv
from swiftllm.worker import backend_torch, backend_triton

torch.manual_seed(0)
for rows in (97, 112, 128):
    x = torch.randn(rows, 4096, device="cuda", dtype=torch.bfloat16)
    w = (torch.randn(2 * 14336, 4096, device="cuda") / 64).to(torch.bfloat16)
    d = (torch.randn(4096, 14336, device="cuda") / 120).to(torch.bfloat16)
    gu = F.linear(x.double(), w.double())
    ref = F.silu(gu[:, :14336]) * gu[:, 14336:]
    out = gemv(x, w, gated=True)
    err = float((out.double() - ref).norm() / ref.norm())
    mlp_ref = backend_torch.mlp(x.double(), w.double(), d.double())
    mlp_err = float((backend_triton.mlp(x, w, d).double() - mlp_ref).norm() / mlp_ref.norm())
    base = F.linear(backend_triton.silu_and_mul(F.linear(x, w)), d).double()
    base_err = float((base - mlp_ref).norm() / mlp_ref.norm())
    ok = err < 1e-2 and mlp_err < 1e-2 and not (out.isnan().any())
    verdict = "OK" if ok else "FAIL"
    print(
        f"GATED rows {rows}: gemv {err:.2e}  mlp {mlp_err:.2e} "
        f"(cuBLAS + silu_and_mul {base_err:.2e}) {verdict}"
    )
