#!/bin/bash
# Session 14, call 4 at $1: mixed graphs' decode attention split for long contexts (an experiment, patched in
# by .run/mixed_splits.py): check_kernels under 4 splits of >= 512; offline longest-first greedy as it is,
# at (4, 512), at (2, 512).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
mkdir -p /tmp/r
stamp "check_kernels --quick --model-only, MIXED_SPLITS=4,512"
MIXED_SPLITS=4,512 timeout 100 python3 ../.run/mixed_splits.py bench/check_kernels.py --quick --model-only > /tmp/r/check.log 2>&1
grep -v capturing /tmp/r/check.log | grep -v "Loading\|Writing" | tail -8 | tee -a $OUT/all.log
run() {  # name, splits
  stamp "throughput lf greedy, MIXED_SPLITS=$2"
  mkdir -p /tmp/r/$1
  MIXED_SPLITS=$2 SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/$1 timeout 120 python3 ../.run/mixed_splits.py bench/throughput.py --schedule-policy longest-first --temperatures 0 > /tmp/r/$1.log 2>&1
  grep -v capturing /tmp/r/$1.log | grep "mixed, <= 512\|temperature 0.0 \|splits" | tail -4 | tee -a $OUT/all.log
  cp /tmp/r/$1/*.json $OUT/throughput_lf_$1_$C.json 2>/dev/null
}
run asis ""
run split4 4,512
run split2 2,512
stamp done
