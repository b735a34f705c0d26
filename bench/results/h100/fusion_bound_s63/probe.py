"""An upper bound on what fusing RMSNorm (and SiLU x mul) into the GEMVs could save a decode step: the step timed
with those kernels replaced by views that launch nothing (the outputs are wrong; only the time counts), by
bench/profile_step.py's unprofiled step:
python3 bench/results/h100/fusion_bound_s63/probe.py MODE [profile_step.py's arguments]

MODE: none (the tree as it is), norm (every rms_norm launches nothing: x is the residual stream), silu (every
silu_and_mul launches nothing: x is gate's half), both."""

import runpy
import sys

import torch

sys.path.insert(1, "bench")
import swiftllm.worker.backend_triton as backend  # noqa: E402

MODE = sys.argv[1]
assert MODE in ("none", "norm", "silu", "both"), MODE


def no_norm(
    h: torch.Tensor, weight: torch.Tensor, eps: float, residual: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """rms_norm's shapes without a kernel: h may be float32 split-K partials [parts, M, N]."""
    if residual is None:  # layer 0: h is the embedding [M, N]
        residual = h
    return residual, residual


def no_silu(gate_up: torch.Tensor) -> torch.Tensor:
    return gate_up[:, : gate_up.shape[1] // 2]


if MODE in ("norm", "both"):
    backend.rms_norm = no_norm
if MODE in ("silu", "both"):
    backend.silu_and_mul = no_silu
print(f"mode {MODE}", flush=True)
sys.argv = ["bench/profile_step.py", *sys.argv[2:]]
runpy.run_path("bench/profile_step.py", run_name="__main__")
