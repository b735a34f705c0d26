#!/bin/bash
# Session 15, call 3: where the mixed step's time went with the new order (.after2: KV-head-first grid, rows
# longest first, 128x4x2 tiles in the mixed graphs) against HEAD (.before): steps 700-719 under torch.profiler.
B=$1
A=$2
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
mkdir -p /tmp/r
stamp "exp_tiles (kv-first grid, rows longest first)"
(cd .after && PYTHONPATH=.:/tmp/site timeout 150 python3 ../.run/exp_tiles.py > /tmp/r/exp.log 2>&1)
grep -v Warn /tmp/r/exp.log | tail -6 | tee -a $OUT/all.log
prof() {  # tree, label
  stamp "throughput lf at $2 ($1), steps 700-719 profiled (diagnostic, not timed)"
  mkdir -p /tmp/r/p$2
  (cd $1 && SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/r/p$2 PYTHONPATH=.:/tmp/site timeout 170 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 --profile-steps 700:720 > /tmp/r/p$2.log 2>&1)
  grep -v capturing /tmp/r/p$2.log | grep -v Warn | grep -A16 "under torch.profiler" | tee -a $OUT/all.log
  grep "decode rows' contexts" /tmp/r/p$2.log | tee -a $OUT/all.log
}
prof .after2 $A
prof .before $B
stamp done
