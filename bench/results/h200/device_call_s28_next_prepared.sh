#!/bin/bash
# Prepared in session 28, not run (its device time was spent): from a tree's root, qkv_parts_probe_s28.py (~150 s;
# qkv, o and down GEMVs at 2-32 rows with K in 1 / 2 / 4 parts over tiles that fit one or two programs an SM), the
# measurement to take before teaching decode attention and rotary_store to add qkv's parts. Carry [".whl"].
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
PYTHONPATH=.:/tmp/site timeout 420 python3 bench/results/h200/qkv_parts_probe_s28.py --out $OUT/qkv_parts_probe.json 2>&1 | tee -a $OUT/all.log
