#!/bin/bash
# Session 20, call 1: the two prepared fusions against the tree they apply to (main 28c3596), timed and checked in
# one call. Trees built on the developer machine with git archive of main, norm-gemv, gated-gemv into .before,
# .normed, .gated (bench/results excluded); step_ab.py is bench/results/h200/step_ab_ef11845.py. The branches as
# timed: norm_gemv_lost_s20.diff and gated_gemv_lost_s20.diff (both apply to 28c3596). latency.py's tables in the
# log say "commit d746324": SWIFTLLM_COMMIT was not set and git rev-parse on the device answered that, wrongly; the
# trees are the three named here. s20_plot.py draws s20.png from the log.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi_fusions.csv 2>&1 &
SMI=$!
B=1,4,8,16,32
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 60 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step, ms, median of 5) at $B, interleaved twice"
for i in 1 2; do
  ab .before before; ab .normed normed; ab .gated gated
done
stamp "check_kernels --quick on .normed (norm_gemv's own cases included)"
(cd .normed && PYTHONPATH=.:/tmp/site timeout 150 python3 bench/check_kernels.py --quick 2>&1 | grep -i "^gemv\|norm\|model \|by phase\|ALL OK\|FAIL\|Error" | tee -a $OUT/all.log)
stamp "check_kernels --quick --model-only on .gated (3 decode rows: the gated tile)"
(cd .gated && PYTHONPATH=.:/tmp/site timeout 100 python3 bench/check_kernels.py --quick --model-only 2>&1 | grep -i "^gemv\|gated\|model \|by phase\|ALL OK\|FAIL\|Error" | tee -a $OUT/all.log)
for t in .before .normed .gated; do
  stamp "latency.py --temperature 0 --batches 1,8,32 on $t"
  (cd $t && BENCH_OUT=/tmp/lat$t PYTHONPATH=.:/tmp/site timeout 80 python3 bench/latency.py --temperature 0 --batches 1,8,32 2>&1 | grep -v capturing | tail -6 | tee -a $OUT/all.log)
done
stamp done
kill $SMI
