#!/bin/bash
# Session 17, call 2 at $1 (.after): latency.py at N = 1, 8, 32, 64, 128, 256 (greedy, vLLM's method);
# offline longest-first at temperatures 0 and 1.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r/lat /tmp/r/lf
stamp "latency.py --temperature 0 --batches 1,8,32,64,128,256 at $C"
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lat timeout 330 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 > /tmp/r/lat.log 2>&1
grep -v capturing /tmp/r/lat.log | tail -14 | tee -a $OUT/all.log
for f in /tmp/r/lat/*.json; do cp $f $OUT/$(basename $f .json)_$C.json; done
stamp "throughput longest-first at temperatures 0 and 1 at $C"
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lf timeout 150 python3 bench/throughput.py --schedule-policy longest-first > /tmp/r/lf.log 2>&1
grep -v capturing /tmp/r/lf.log | tail -20 | tee -a $OUT/all.log
cp /tmp/r/lf/*.json $OUT/throughput_lf_$C.json 2>/dev/null
stamp done
