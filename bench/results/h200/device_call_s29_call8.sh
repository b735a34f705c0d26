#!/bin/bash
# Session 29, call 8, from the checkout's root (swiftllm/ of c463f15 + comments): the decode step kernel by
# kernel at 1 / 8 / 32 sequences, context 1,088, without PDL (each kernel's own time; profile_step.py).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=c463f15
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader | tee -a $OUT/all.log
BENCH_OUT=$OUT timeout 200 python3 bench/profile_step.py --batches 1,8,32 --no-pdl 2>&1 | grep -v "capturing\|Warn" | tail -75 | tee -a $OUT/all.log
