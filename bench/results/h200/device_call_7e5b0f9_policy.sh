#!/bin/bash
# Session 13, call 1: offline throughput, fcfs against longest-first (and its floor at 256), one machine.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
run() {  # name, floor, extra args
  local name=$1 floor=$2; shift 2
  stamp "throughput $name (floor $floor) $*"
  mkdir -p /tmp/r/$name
  SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/$name timeout 170 python3 -c "
import runpy, sys
import swiftllm.controller.scheduler as scheduler
scheduler.PACED_MIN_TOKENS = $floor
sys.path.insert(0, 'bench'); sys.argv = ['bench/throughput.py'] + sys.argv[1:]
runpy.run_path('bench/throughput.py', run_name='__main__')
" "$@" > /tmp/r/$name.log 2>&1
  grep -v capturing /tmp/r/$name.log | tail -24 | tee -a $OUT/all.log
  cp /tmp/r/$name/*.json $OUT/throughput_${name}_$C.json 2>/dev/null
}
run fcfs 128
run longest-first 128 --schedule-policy longest-first
run longest-first-floor256 256 --schedule-policy longest-first --temperatures 0
run fcfs-again 128 --temperatures 0
stamp done
