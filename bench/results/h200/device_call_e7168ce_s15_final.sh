#!/bin/bash
# Session 15, call 4 at $1 (.after): check_kernels on the model; offline longest-first at temperatures 0 and 1;
# first come first served; latency.py at N = 8, 128, 256 (greedy, vLLM's method).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
stamp "check_kernels --quick --model-only at $C"
timeout 200 python3 bench/check_kernels.py --quick --model-only > /tmp/r/check.log 2>&1
grep -v capturing /tmp/r/check.log | grep -v "Loading\|Writing" | tail -8 | tee -a $OUT/all.log
run() {  # name, args
  local name=$1; shift
  stamp "throughput $name at $C: $*"
  mkdir -p /tmp/r/$name
  SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/$name timeout 170 python3 bench/throughput.py "$@" > /tmp/r/$name.log 2>&1
  grep -v capturing /tmp/r/$name.log | tail -14 | tee -a $OUT/all.log
  cp /tmp/r/$name/*.json $OUT/throughput_${name}_$C.json 2>/dev/null
}
run lf --schedule-policy longest-first
run fcfs --temperatures 0
stamp "latency.py --temperature 0 --batches 8,128,256 at $C"
mkdir -p /tmp/r/lat
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lat timeout 240 python3 bench/latency.py --temperature 0 --batches 8,128,256 > /tmp/r/lat.log 2>&1
grep -v capturing /tmp/r/lat.log | tail -14 | tee -a $OUT/all.log
cp /tmp/r/lat/*.json $OUT/ 2>/dev/null
stamp done
