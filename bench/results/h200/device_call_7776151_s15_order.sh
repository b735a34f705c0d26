#!/bin/bash
# Session 15, call 2: decode rows longest first + KV-head-first grid (.after, $2) against HEAD (.before, $1);
# .after2 = .after with 128x4x2 tiles in the mixed graphs' decode attention. Microbench of the orders first.
B=$1
A=$2
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
stamp "exp_order (decode attention: grid order x row order x tiles)"
(cd .after && PYTHONPATH=.:/tmp/site timeout 200 python3 ../.run/exp_order.py > /tmp/r/exp.log 2>&1)
grep -v Warn /tmp/r/exp.log | tail -14 | tee -a $OUT/all.log
stamp "check_kernels --quick --model-only at $A"
(cd .after && PYTHONPATH=.:/tmp/site timeout 240 python3 bench/check_kernels.py --quick --model-only > /tmp/r/check.log 2>&1)
grep -v capturing /tmp/r/check.log | tail -12 | tee -a $OUT/all.log
run() {  # tree, commit, name, args
  local tree=$1 c=$2 name=$3; shift 3
  stamp "throughput $name at $c ($tree) $*"
  mkdir -p /tmp/r/$name
  (cd $tree && SWIFTLLM_COMMIT=$c BENCH_OUT=/tmp/r/$name PYTHONPATH=.:/tmp/site timeout 170 python3 bench/throughput.py "$@" > /tmp/r/$name.log 2>&1)
  grep -v capturing /tmp/r/$name.log | tail -9 | tee -a $OUT/all.log
  cp /tmp/r/$name/*.json $OUT/throughput_${name}_$c.json 2>/dev/null
}
run .after $A lf-after --schedule-policy longest-first --temperatures 0
run .before $B lf-before --schedule-policy longest-first --temperatures 0
run .after2 $A-t128x4x2 lf-after2 --schedule-policy longest-first --temperatures 0
run .after $A lf-after-again --schedule-policy longest-first --temperatures 0
stamp done
