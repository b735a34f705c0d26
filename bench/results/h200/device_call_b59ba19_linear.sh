#!/bin/bash
# Session 12, call 2: our GEMV (block_m up to 128) against cuBLAS at 48-256 rows, per projection.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
timeout 560 python3 .run/linear_exp.py 2>&1 | grep -v -i "warn" | tee -a $OUT/all.log
