#!/bin/bash
# Session 12, call 3: decode attention tiles x splits at small batches; GEMV vs cuBLAS at 33-56 rows.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
timeout 330 python3 .run/attn_exp.py 1,4,8,16,32,64 2>&1 | grep -v -i "warn" | tee -a $OUT/all.log
timeout 150 python3 .run/linear_exp.py 33,40,56 2>&1 | grep -v -i "warn" | tee -a $OUT/all.log
