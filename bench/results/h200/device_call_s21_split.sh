#!/bin/bash
# The variant as timed: bench/results/h200/split4_lost_s21.diff (applies to f1aa7b6). Result: not kept.
# Session 21, call 2: decode_params aiming at four programs an SM at 2-8 sequences (.split, branch split4) against
# HEAD f1aa7b6 (.head). Trees: git archive HEAD swiftllm bench into .head; the split4 working tree copied into
# .split (bench/results excluded). step_ab.py is bench/results/h200/step_ab_ef11845.py. N = 1 and 16 are controls
# (the same split count in both trees).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi_split.csv 2>&1 &
SMI=$!
B=1,2,4,8,16
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 70 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step, ms, median of 5) at $B, interleaved three times"
for i in 1 2 3; do
  ab .head head; ab .split split4
done
for i in 1 2; do
  for t in .head .split; do
    stamp "latency.py --temperature 0 --batches 1,4,8 on $t"
    (cd $t && BENCH_OUT=/tmp/lat$t$i SWIFTLLM_COMMIT=${t#.} PYTHONPATH=.:/tmp/site timeout 90 python3 bench/latency.py --temperature 0 --batches 1,4,8 2>&1 | grep -v capturing | tail -5 | tee -a $OUT/all.log)
  done
done
stamp done
kill $SMI
