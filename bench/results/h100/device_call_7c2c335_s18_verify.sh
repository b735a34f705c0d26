#!/bin/bash
# Session 18, call 1 at $1 (.after): check_kernels --quick --model-only; latency.py at N = 1..256 (greedy);
# offline longest-first at temperatures 0 and 1; nvidia-smi clocks/power logged throughout.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit,driver_version --format=csv,noheader; nproc; } | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,utilization.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
mkdir -p /tmp/r/lat /tmp/r/lf
stamp "check_kernels --quick --model-only at $C"
timeout 130 python3 bench/check_kernels.py --quick --model-only > /tmp/r/check.log 2>&1
grep -v capturing /tmp/r/check.log | grep -v "Loading\|Writing" | tail -10 | tee -a $OUT/all.log
cp /tmp/r/check.log $OUT/check_$C.log
stamp "latency.py --temperature 0 --batches 1,8,32,64,128,256 at $C"
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lat timeout 330 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 > /tmp/r/lat.log 2>&1
grep -v capturing /tmp/r/lat.log | tail -14 | tee -a $OUT/all.log
for f in /tmp/r/lat/*.json; do cp $f $OUT/$(basename $f .json)_$C.json; done
stamp "throughput longest-first at temperatures 0 and 1 at $C"
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lf timeout 150 python3 bench/throughput.py --schedule-policy longest-first > /tmp/r/lf.log 2>&1
grep -v capturing /tmp/r/lf.log | tail -20 | tee -a $OUT/all.log
cp /tmp/r/lf/*.json $OUT/throughput_lf_$C.json 2>/dev/null
stamp done
kill $SMI
