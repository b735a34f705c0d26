#!/bin/bash
# Session 17, call 5: f9a16eb's one-axis grid (S * Hkv, splits) made N = 32 slower (call 4). grid3 = HEAD
# with the three-axis grid (Hkv, S, splits) back; latency.py --batches 8,32: grid3, HEAD, grid3.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
lat() {  # tree, run
  stamp "latency.py --temperature 0 --batches 8,32 at $1 (run $2)"
  mkdir -p /tmp/r/lat_$1_$2
  (cd .bis/$1 && SWIFTLLM_COMMIT=$1 BENCH_OUT=/tmp/r/lat_$1_$2 PYTHONPATH=.:/tmp/site timeout 70 python3 bench/latency.py --temperature 0 --batches 8,32 > /tmp/r/lat_$1_$2.log 2>&1)
  grep -v capturing /tmp/r/lat_$1_$2.log | grep -A5 "   N  ms/step" | tee -a $OUT/all.log
}
lat grid3 1
lat head 1
lat grid3 2
stamp done
