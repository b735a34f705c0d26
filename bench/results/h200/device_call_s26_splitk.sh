#!/bin/bash
# Session 26, call 2: .head = 9d602a4, .sk = split-K o/down at 2-64 rows (branch splitk-gemv). 1) step_ab at
# 2,8,16,32,64 interleaved twice; 2) check_kernels --quick on .sk; 3) latency.py at every N on .sk.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
B=2,8,16,32,64
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 90 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .head head; ab .sk splitk; done
cd .sk
export PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=3ed5286
stamp "check_kernels --quick at 3ed5286"
BENCH_OUT=/tmp/ck timeout 200 python3 bench/check_kernels.py --quick > /tmp/ck.log 2>&1
grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|parts\|worst" /tmp/ck.log | grep -v "Writing model" | tail -30 | tee -a $OUT/all.log
cp /tmp/ck/*.json $OUT/check_kernels.json 2>/dev/null
stamp "latency.py --temperature 0 at 3ed5286"
BENCH_OUT=/tmp/lat timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
stamp done
kill $SMI
