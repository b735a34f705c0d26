#!/bin/bash
# Session 35, call 1. Run: mkdir ab_old && git archive 53dda9e swiftllm bench | tar -x -C ab_old; bash <this>, carry .whl
# The checkout = 53dda9e + two zero-line kernel changes (the reduce loading every split's partial beside the
# context length, dead splits writing a log-sum-exp of -inf; RMSNorm's weight loaded before the PDL wait).
# 1) step_ab_s35.py, new / old alternating, three rounds (bare decode step 1-256 rows at 1088, mixed 160 / 256);
# 2) the prepared decode_sweep at the mixed steps' decode shapes (72 x 364 and 127 x 438, sigma 0.77), 4 tiles.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 575 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "step A/B"
for round in 1 2 3; do
  for dir in $ROOT $ROOT/ab_old; do
    if [ $(left) -gt 120 ]; then
      (cd $dir && PYTHONPATH=$dir:/tmp/site timeout 100 python3 $ROOT/bench/results/h200/step_ab_s35.py "$(basename $dir)" 1,8,16,32,64,128,256 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
    fi
  done
done
for shape in "72 364" "127 438"; do
  set -- $shape
  if [ $(left) -gt 40 ]; then
    stamp "decode_sweep --batches $1 --context $2 --spread 0.77"
    BENCH_OUT=$OUT/sweep_$1 PYTHONPATH=$ROOT:/tmp/site timeout $(( $(left) - 5 )) python3 bench/decode_sweep.py --batches $1 --context $2 --spread 0.77 \
      --tiles 64x4x3,128x4x2,64x4x2,32x4x3 2>&1 | tail -14 | tee -a $OUT/all.log
  fi
done
stamp done
