"""Programmatic dependent launch (PDL, Hopper and later): a kernel launched with it may be scheduled while the
kernel before it drains, so the launch latency between the ~350 kernels of a decode step overlaps.

A kernel that takes it has a `PDL: tl.constexpr` argument and starts with `if PDL: gdc()` (or `wait()`),
before any load or store, so no hazard with its predecessor's reads or writes can arise; launch it with
`**LAUNCH` (its PDL argument and the launch option, always the same). Off in Triton's interpreter and on
GPUs before sm_90.
The one exception is a load of memory that no kernel of the step writes: the GEMV (gemv.py) loads its first
weight tile before the wait, so that the weight stream begins while the kernel before it drains, and RMSNorm
(rmsnorm.py) its weight."""

import os

import torch
import triton
import triton.language as tl

ENABLED = (
    os.environ.get("TRITON_INTERPRET") != "1"
    and torch.cuda.is_available()
    and torch.cuda.get_device_capability()[0] >= 9
)
# a PDL kernel's launch keywords: the kernel waits (PDL) exactly when it is launched early (launch_pdl). The
# launches read this dict, not ENABLED: to turn PDL off at run time (a profile of each kernel's own time), set both
# of its keys False, and ENABLED for code that reads it, before any CUDA graph is captured; setting ENABLED alone
# changes no launch (bench/profile_step.py's --no-pdl did only that from 909d5ef to session 63)
LAUNCH = {"PDL": ENABLED, "launch_pdl": ENABLED}


@triton.jit
def gdc() -> None:
    # let the next kernel launch now, then wait until the previous one has finished and its writes are visible
    tl.extra.cuda.gdc_launch_dependents()
    tl.extra.cuda.gdc_wait()


@triton.jit
def wait() -> None:
    tl.extra.cuda.gdc_wait()
