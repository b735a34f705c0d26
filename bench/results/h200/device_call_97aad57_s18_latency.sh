#!/bin/bash
# Session 18, call 4: latency.py (vLLM's method, greedy) at N = 1, 8, 32: HEAD 97aad57 (.wf: the GEMV's first weight
# tile before the PDL wait at one row, the reduce launching its successor early) against 7c2c335 (.before),
# alternating: before, after, before, after.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
lat() {  # tree, commit, run
  stamp "latency.py --temperature 0 --batches 1,8,32 at $2 (run $3)"
  mkdir -p /tmp/r/lat_$2_$3
  (cd $1 && SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/r/lat_$2_$3 PYTHONPATH=.:/tmp/site timeout 150 python3 bench/latency.py --temperature 0 --batches 1,8,32 > /tmp/r/lat_$2_$3.log 2>&1)
  grep -v capturing /tmp/r/lat_$2_$3.log | tail -6 | tee -a $OUT/all.log
  for f in /tmp/r/lat_$2_$3/*.json; do cp $f $OUT/$(basename $f .json)_$2_r$3.json; done
}
lat .before 7c2c335 1
lat .wf 97aad57 1
lat .before 7c2c335 2
lat .wf 97aad57 2
stamp done
