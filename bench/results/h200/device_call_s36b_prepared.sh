#!/bin/bash
# Prepared in session 35, NOT RUN. Run: mkdir ab_exp && git archive HEAD swiftllm bench | tar -x -C ab_exp &&
# patch -d ab_exp -p1 < bench/results/h200/attention_nopdl_exp_s36.diff; bash <this>, carry .whl.
# Question (session 35, call 5): at 1-8 rows the decode step ran 0.4-1.1 % faster when an SM held 3 attention
# programs rather than 4 (by registers; not by shared memory). The reading: under PDL the attention programs are
# placed beside the qkv GEMV's last programs, and the first SMs it frees take 4 each, so a grid of under 4 an SM
# is spread unevenly. If so, launching decode attention WITHOUT PDL where its grid is small (its programs then
# placed once the GEMV has left every SM) should show the same gain, less the launch overlap PDL buys.
# ab_exp's knob: SWIFTLLM_EXP_NOPDL_SPLITS=k launches it without PDL from k splits up (8: 1-8 rows; 4: 1-16 rows).
# step_ab_s35.py decode-only at 1 / 2 / 4 / 8 / 16 / 32 rows, three rounds of: main, ab_exp k=8, ab_exp k=4.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 400 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "warm-up compile (not timed)"
(cd $ROOT && PYTHONPATH=$ROOT:/tmp/site timeout 90 python3 $ROOT/bench/results/h200/step_ab_s35.py warmup 1,8 decode > /dev/null 2>&1)
stamp "step A/B"
for round in 1 2 3; do
  for variant in "$ROOT main 1000" "$ROOT/ab_exp nopdl8 8" "$ROOT/ab_exp nopdl4 4"; do
    set -- $variant
    if [ $(left) -gt 30 ]; then
      (cd $1 && SWIFTLLM_EXP_NOPDL_SPLITS=$3 PYTHONPATH=$1:/tmp/site timeout 60 python3 $ROOT/bench/results/h200/step_ab_s35.py $2 1,2,4,8,16,32 decode 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
    fi
  done
done
stamp done
