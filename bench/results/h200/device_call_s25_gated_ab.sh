#!/bin/bash
# Session 25, call 3: .head = 4a2e9cf, .gm = gated-mlp (the gated GEMV for gate_up + SiLU x mul at 97-128 rows).
# 1) GPU check of the gated GEMV and mlp vs float64; 2) step_ab at 96,112,128 interleaved twice; 3) latency 128.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
stamp "gated check on .gm"
(cd .gm && PYTHONPATH=.:/tmp/site timeout 60 python3 ../.run/gated_check.py 2>&1 | tail -4) | tee -a $OUT/all.log
B=96,112,128
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 90 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .head head; ab .gm gated; done
for t in .head .gm; do
  stamp "latency.py --temperature 0 --batches 128 on $t"
  (cd $t && BENCH_OUT=/tmp/lat$t SWIFTLLM_COMMIT=${t#.} PYTHONPATH=.:/tmp/site timeout 90 python3 bench/latency.py --temperature 0 --batches 128 2>&1 | grep -v capturing | tail -3 | tee -a $OUT/all.log)
  cp /tmp/lat$t/*.json $OUT/latency$t.json 2>/dev/null
done
stamp done
kill $SMI
