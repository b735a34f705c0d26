#!/bin/bash
# Session 14, call 2: mixed steps on whole graphs ($2, .after) against piecewise graphs ($1, .before):
# check_kernels on the model, a 256-token mixed step profiled, offline throughput alternating.
B=$1
A=$2
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
ROOT=$(pwd)
stamp "check_kernels --quick --model-only at $A"
(cd .after && PYTHONPATH=.:/tmp/site timeout 240 python3 bench/check_kernels.py --quick --model-only > /tmp/r/check.log 2>&1)
grep -v capturing /tmp/r/check.log | tail -25 | tee -a $OUT/all.log
prof() {  # tree, commit
  stamp "profile_step at $2"
  (cd $1 && PYTHONPATH=.:/tmp/site timeout 120 python3 bench/profile_step.py --batches 127 --context 430 --prefill-chunks 1x129 > /tmp/r/prof_$2.log 2>&1)
  grep -v capturing /tmp/r/prof_$2.log | grep -v Warn | head -30 | tee -a $OUT/all.log
}
run() {  # tree, commit, name, args
  local tree=$1 c=$2 name=$3; shift 3
  stamp "throughput $name at $c $*"
  mkdir -p /tmp/r/$name
  (cd $tree && SWIFTLLM_COMMIT=$c BENCH_OUT=/tmp/r/$name PYTHONPATH=.:/tmp/site timeout 170 python3 bench/throughput.py "$@" > /tmp/r/$name.log 2>&1)
  grep -v capturing /tmp/r/$name.log | tail -9 | tee -a $OUT/all.log
  cp /tmp/r/$name/*.json $OUT/throughput_${name}_$c.json 2>/dev/null
}
prof .after $A
prof .before $B
run .before $B lf-before --schedule-policy longest-first --temperatures 0
run .after $A lf-after --schedule-policy longest-first --temperatures 0
run .after $A fcfs-after --temperatures 0
run .before $B fcfs-before --temperatures 0
run .after $A lf-after-process --schedule-policy longest-first --temperatures 0 --worker-process
stamp done
