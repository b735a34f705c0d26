#!/bin/bash
# Session 25, call 2: gate_up + SiLU x mul as one Triton GEMM against cuBLAS + silu_and_mul, 64-256 rows.
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd)/.head SWIFTLLM_COMMIT=4a2e9cf
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader
cd .head
timeout 280 python3 bench/gated_gemm_exp_s25.py --out $OUT/gated_gemm_exp_s25.json 2>&1 | grep -v "^\s*$" | tail -30
