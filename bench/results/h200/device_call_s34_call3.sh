#!/bin/bash
# Session 34, call 3 (Run: bash bench/results/h200/device_call_s34_call3.sh, carry .whl), branch exp-osplit:
# 1) split_linear_probe_s34.py: each projection at 128-320 rows, F.linear against the split-K bmm (2 / 4 parts);
# 2) mixed steps of 160 / 192 / 224 / 256 tokens (mixed_ab_s34.py) with the o projection as F.linear (main) or
# as the split-K bmm above the GEMV's rows (SWIFTLLM_EXP_SPLIT=o), each in its own process, two rounds
# alternating; 3) the bare decode step at 96 / 128 / 256 rows both ways (step_ab_s23.py), one round.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 SWIFTLLM_COMMIT=s34-call3
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 575 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "split_linear_probe"
PYTHONPATH=$ROOT:/tmp/site timeout 120 python3 bench/results/h200/split_linear_probe_s34.py 2>&1 | tail -26 | tee -a $OUT/all.log
for round in 1 2; do
  for v in main o; do
    if [ $(left) -gt 100 ]; then
      SWIFTLLM_EXP_SPLIT=$v PYTHONPATH=$ROOT:/tmp/site timeout 110 python3 bench/results/h200/mixed_ab_s34.py "$v" 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log
    fi
  done
done
for v in main o; do
  if [ $(left) -gt 80 ]; then
    SWIFTLLM_EXP_SPLIT=$v PYTHONPATH=$ROOT:/tmp/site timeout 90 python3 bench/results/h200/step_ab_s23.py "$v" 96,128,256 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log
  fi
done
stamp done
