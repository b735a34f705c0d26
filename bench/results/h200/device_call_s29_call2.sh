#!/bin/bash
# Session 29, call 2, from the checkout's root: decode_stages_probe2_s29.py (mixed rows' contexts, and one split
# at 32-256 uniform rows, over the shipped and the experiment's kernel at several tiles).
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "decode_stages_probe2_s29"
timeout 400 python3 bench/results/h200/decode_stages_probe2_s29.py 2>&1 | grep -v Warn | tail -30 | tee -a $OUT/all.log
stamp done
