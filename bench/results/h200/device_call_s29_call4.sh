#!/bin/bash
# Session 29, call 4, from the checkout's root (swiftllm/ of c463f15): tp2_gemv_probe_s29.py, Llama-3-8B's
# per-rank projections at tensor parallel 2 (and TP 1) through backend_triton.linear on one GPU.
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
timeout 300 python3 bench/results/h200/tp2_gemv_probe_s29.py --out $OUT/tp2_gemv_probe_s29.json 2>&1 | grep -v Warn | tee -a $OUT/all.log
