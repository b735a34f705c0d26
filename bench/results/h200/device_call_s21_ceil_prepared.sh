#!/bin/bash
# PREPARED, NOT RUN: session 21 had too little device time left to start a machine. The warm-up it would test
# (bench/results/h200/ceilings_warm_up_untimed_s21.diff, applies to bench/common.py at f1aa7b6) is not in bench/: unrun,
# and 0.5 s of back-to-back 8192^3 matmuls may already bring the power cap's lower clock, which would lower the matmul
# rate and flatter every compute-bound roofline. To run it: .head = git archive f1aa7b6 swiftllm bench, .prof = the same
# with the diff applied; ceil_ab.py is bench/results/h200/ceil_ab_s21.py.
# Session 21, call 6: bench/common.ceilings() without warm-up (.head, f1aa7b6) and with 0.5 s of each ceiling's own work
# first (.prof, the working tree as committed after this call), each in a fresh process after 3 s idle, alternating,
# five rounds. Run as: bash .run/call6.sh, carry .whl .head .prof .run.
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 100 > $OUT/smi_ceil.csv 2>&1 &
SMI=$!
stamp "ceilings, old then new, five rounds"
for i in 1 2 3 4 5; do
  for t in .head .prof; do
    sleep 3
    (cd $t && PYTHONPATH=. timeout 60 python3 ../.run/ceil_ab.py ${t#.} 2>&1 | grep "CEIL\|Error" | tee -a $OUT/all.log)
  done
done
stamp done
kill $SMI
