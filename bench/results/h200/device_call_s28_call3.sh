#!/bin/bash
# Session 28, call 3, from the checkout's root: .head = b10df45; the root = the candidate (mlp at one row:
# silu_and_mul, then the plain one-row GEMV on down, instead of the SiLU-fused GEMV). 1) step_ab head / cand /
# head / cand at 1, 2, 8 rows (+ offline's mean mixed step); 2) gemv_tiles_probe_s28.py --skip-down (each
# projection's tiles at 8 and 32 rows; call 2's second run, which found no machine).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
B=1,2,8
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step)"
ROOT=$(pwd)
abh() { (cd .head && PYTHONPATH=.:/tmp/site timeout 90 python3 $ROOT/.run/step_ab.py head $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
abc() { (PYTHONPATH=.:/tmp/site timeout 90 python3 $ROOT/.run/step_ab.py cand $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
abh; abc; abh; abc
stamp "gemv_tiles_probe_s28.py --skip-down"
PYTHONPATH=.:/tmp/site timeout 300 python3 bench/results/h200/gemv_tiles_probe_s28.py --skip-down --out $OUT/gemv_tiles_probe.json 2>&1 | grep -v Warning | tee -a $OUT/all.log
stamp done
