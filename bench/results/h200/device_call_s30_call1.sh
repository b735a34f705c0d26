#!/bin/bash
# Session 30, call 1, from the checkout's root = the candidate (0b3433f + qkv in two K parts at 2-32 rows of a
# decode-only step, added by the decode kernel as it loads q, k, v), with ab_old/ = 0b3433f's swiftllm/ (untracked
# copy, not committed; made by `mkdir ab_old && git archive 0b3433f swiftllm bench | tar -x -C ab_old`):
# 1) check_kernels --quick on the candidate; 2) the bare decode step (step_ab_s23.py) of
# both trees at 1-64 rows, alternating three rounds, each in its own process (the old tree run from ab_old/, with
# a copy of bench/ there: bench/common.py puts its own checkout first on sys.path); 3) latency.py on the candidate.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 SWIFTLLM_COMMIT=s30-cand
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 575 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "check_kernels --quick (candidate)"
PYTHONPATH=$ROOT:/tmp/site BENCH_OUT=/tmp/ck timeout 170 python3 bench/check_kernels.py --quick > /tmp/ck.log 2>&1
grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|worst" /tmp/ck.log | grep -v "Writing model" | tail -12 | tee -a $OUT/all.log
cp /tmp/ck/*.json $OUT/check_kernels.json 2>/dev/null
for dir in ab_old .; do
  (cd $dir && PYTHONPATH=$(pwd):/tmp/site python3 -c "import sys; sys.path.insert(0, 'bench'); import common, swiftllm; print('$dir imports', swiftllm.__file__)" | tee -a $OUT/all.log)
done
for round in 1 2 3; do
  for dir in ab_old .; do
    if [ $(left) -gt 150 ]; then
      (cd $dir && PYTHONPATH=$(pwd):/tmp/site timeout 90 python3 $ROOT/bench/results/h200/step_ab_s23.py "$dir" 1,2,4,8,16,32,64 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
    fi
  done
done
stamp "latency.py --temperature 0 (candidate)"
PYTHONPATH=$ROOT:/tmp/site BENCH_OUT=/tmp/lat timeout $(left) python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
stamp done
