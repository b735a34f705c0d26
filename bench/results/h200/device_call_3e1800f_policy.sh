#!/bin/bash
# Session 13, call 3: offline throughput at $1, first come first served against longest-first (default floor 256),
# alternating, each process once more at temperature 0.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .clean
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; lscpu | grep "Model name"; } | tee -a $OUT/all.log
mkdir -p /tmp/r
run() {  # name, args
  local name=$1; shift
  stamp "throughput $name $*"
  mkdir -p /tmp/r/$name
  SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/$name timeout 170 python3 bench/throughput.py "$@" > /tmp/r/$name.log 2>&1
  grep -v capturing /tmp/r/$name.log | tail -16 | tee -a $OUT/all.log
  cp /tmp/r/$name/*.json $OUT/throughput_${name}_$C.json 2>/dev/null
}
run fcfs
run longest-first --schedule-policy longest-first
run fcfs-second --temperatures 0
run longest-first-second --schedule-policy longest-first --temperatures 0
stamp done
