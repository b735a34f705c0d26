#!/bin/bash
# Session 35, call 5. Run: bash <this>, carry .whl, with two experiment trees beside the checkout (copies of its
# swiftllm + bench, bench/results/h200/decode_occupancy_exp_s35.diff): ab_row = the partial's row held through the
# K/V loop (154 registers: 3 programs an SM, as call 1's tree by accident), ab_st5 = decode-only tiles 64x4x5 (two
# K/V buffers, 70.5 KB: 3 an SM). Question: does 3 programs an SM, not 4, speed the bare decode step at 1-16 rows
# (call 1's tree was 1.0 / 1.6 % faster at 1 / 8 than the tree before, call 2's 0.5 / 0.6 %)?
# step_ab_s35.py decode-only, 1 / 2 / 4 / 8 / 16 rows, three rounds of main / ab_row / ab_st5.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 220 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "step A/B"
for round in 1 2 3; do
  for dir in $ROOT $ROOT/ab_row $ROOT/ab_st5; do
    if [ $(left) -gt 20 ]; then
      (cd $dir && PYTHONPATH=$dir:/tmp/site timeout 40 python3 $ROOT/bench/results/h200/step_ab_s35.py "$(basename $dir)" 1,2,4,8,16 decode 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
    fi
  done
done
stamp done
