#!/bin/bash
# Session 17, call 4: is N = 32's decode step (6.03 ms at 173970b against 5.72 at ef11845, session 12) the
# code or the machine? latency.py --temperature 0 --batches 24,32 at each commit that changed the worker or
# kernels since ef11845 (decode-relevant ones), in one call; then ef11845 and 173970b again.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
lat() {  # commit, run
  stamp "latency.py --temperature 0 --batches 24,32 at $1 (run $2)"
  mkdir -p /tmp/r/lat_$1_$2
  (cd .bis/$1 && SWIFTLLM_COMMIT=$1 BENCH_OUT=/tmp/r/lat_$1_$2 PYTHONPATH=.:/tmp/site timeout 120 python3 bench/latency.py --temperature 0 --batches 24,32 > /tmp/r/lat_$1_$2.log 2>&1)
  grep -v capturing /tmp/r/lat_$1_$2.log | grep -A4 "ms/step  " | tee -a $OUT/all.log
  for f in /tmp/r/lat_$1_$2/*.json; do cp $f $OUT/$(basename $f .json)_N24-32_$1_r$2.json; done
}
lat 173970b 1
lat ef11845 1
lat 877b021 1
lat 7776151 1
lat e7168ce 1
lat f9a16eb 1
lat ef11845 2
lat 173970b 2
stamp done
