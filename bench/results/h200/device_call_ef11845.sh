#!/bin/bash
# Session 12, call 4: HEAD (.before) against the working tree (decode attention 2 splits at 17-32 sequences;
# down projection on cuBLAS at 33-64 rows): bare decode steps, alternating trees in separate processes;
# check_kernels on the working tree; then latency.py's table on the working tree.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
B=1,8,16,24,32,40,48,64
for i in 1 2; do
  (cd .before && timeout 90 python3 ../.run/step_ab.py before $B 2>&1 | grep "^AB") | tee -a $OUT/all.log
  timeout 90 python3 .run/step_ab.py after $B 2>&1 | grep "^AB" | tee -a $OUT/all.log
done
stamp check_kernels
timeout 120 python3 bench/check_kernels.py --quick --model-only 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL" | tee -a $OUT/all.log
stamp latency
mkdir -p /tmp/r/lat
BENCH_OUT=/tmp/r/lat timeout 220 python3 bench/latency.py --temperature 0 > /tmp/r/lat.log 2>&1
grep -v capturing /tmp/r/lat.log | tail -14 | tee -a $OUT/all.log; cp /tmp/r/lat/*.json /tmp/r/lat/*.png $OUT/ 2>/dev/null
stamp done
