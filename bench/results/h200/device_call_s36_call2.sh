#!/bin/bash
# Prepared in session 35, run in session 36 as its call 2. Run: mkdir ab_exp && git archive 1ee07aa swiftllm bench |
# tar -x -C ab_exp && patch -d ab_exp -p1 < bench/results/h200/attention_nopdl_exp_s36.diff (the bit-reversed split
# knob is in that diff too, added in session 36); bash <this>, carry .whl.
# Question (session 35, call 5): at 1-8 rows the decode step ran 0.4-1.1 % faster when an SM held 3 attention
# programs rather than 4 (by registers; not by shared memory). The reading: under PDL the attention programs are
# placed beside the qkv GEMV's last programs, and the first SMs it frees take 4 each, so a grid of under 4 an SM
# is spread unevenly. If so, launching decode attention WITHOUT PDL where its grid is small (its programs then
# placed once the GEMV has left every SM) should show the same gain, less the launch overlap PDL buys.
# ab_exp's knobs: SWIFTLLM_EXP_NOPDL_SPLITS=k launches it without PDL from k splits up (8: 1-8 rows);
# SWIFTLLM_EXP_BITREV=1 maps the grid's z to the split with its bits reversed (session 36), so that the live splits
# (the first ones: at 1 row and context 1088 only 17 of 64 are) are spread through the launch order, not packed
# 4 an SM onto the first SMs the GEMV frees. step_ab_s35.py decode-only at 1 / 2 / 4 / 8 / 16 / 32 rows, three
# rounds of: main, ab_exp nopdl k=8, ab_exp bitrev.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 500 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "warm-up compile (not timed)"
(cd $ROOT && PYTHONPATH=$ROOT:/tmp/site timeout 90 python3 $ROOT/bench/results/h200/step_ab_s35.py warmup 1,8 decode > /dev/null 2>&1)
for knobs in "8 0" "1000 1"; do  # ab_exp's two compiles (session 36)
  set -- $knobs
  (cd $ROOT/ab_exp && SWIFTLLM_EXP_NOPDL_SPLITS=$1 SWIFTLLM_EXP_BITREV=$2 PYTHONPATH=$ROOT/ab_exp:/tmp/site timeout 90 python3 $ROOT/bench/results/h200/step_ab_s35.py warmup 1,2,4,8,16,32 decode 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
done
stamp "step A/B"
for round in 1 2 3; do
  for variant in "$ROOT main 1000" "$ROOT/ab_exp nopdl8 8" "$ROOT/ab_exp bitrev 1000 1"; do
    set -- $variant
    if [ $(left) -gt 30 ]; then
      (cd $1 && SWIFTLLM_EXP_NOPDL_SPLITS=$3 SWIFTLLM_EXP_BITREV=${4:-0} PYTHONPATH=$1:/tmp/site timeout 60 python3 $ROOT/bench/results/h200/step_ab_s35.py $2 1,2,4,8,16,32 decode 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
    fi
  done
done
stamp done
