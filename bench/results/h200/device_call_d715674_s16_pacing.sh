#!/bin/bash
# Session 16, call 2: longest-first pacing rounded down to whole quanta (.after, PACED_QUANTUM 128; and 64
# patched in) against HEAD's (.before: at least 256, rounded up), offline greedy, alternating; cuBLAS at the
# row counts between.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
run() {  # name, tree, quantum ('' = the tree's own)
  local name=$1 tree=$2 q=$3
  stamp "throughput $name ($tree, quantum ${q:-tree}) longest-first greedy"
  mkdir -p /tmp/r/$name
  (cd $tree && SWIFTLLM_COMMIT=$C-$name BENCH_OUT=/tmp/r/$name PYTHONPATH=.:/tmp/site timeout 130 python3 -c "
import runpy, sys
sys.path.insert(0, 'bench')
import swiftllm.controller.scheduler as s
if '$q':
    s.PACED_QUANTUM = int('$q')
sys.argv = ['bench/throughput.py', '--schedule-policy', 'longest-first', '--temperatures', '0']
runpy.run_path('bench/throughput.py', run_name='__main__')
" > /tmp/r/$name.log 2>&1)
  grep -v capturing /tmp/r/$name.log | tail -12 | tee -a $OUT/all.log
  cp /tmp/r/$name/*.json $OUT/throughput_lf_${name}.json 2>/dev/null
}
run before1 .before
run q128a .after
run q64 .after 64
run q128b .after
run before2 .before
stamp "cublas_modes default,lt at 64-384 rows"
mkdir -p /tmp/r/cb
(cd .after && BENCH_OUT=/tmp/r/cb PYTHONPATH=.:/tmp/site timeout 100 python3 bench/cublas_modes.py --modes default,lt --rows 64,96,128,160,192,224,256,320,384 > /tmp/r/cb.log 2>&1)
grep -v "^ *lt" /tmp/r/cb.log | tail -40 | tee -a $OUT/all.log
grep "^ *lt" /tmp/r/cb.log | tee -a $OUT/all.log
cp /tmp/r/cb/*.json $OUT/cublas_modes_rows.json 2>/dev/null
stamp done
