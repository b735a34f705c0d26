#!/bin/bash
# Session 36, call 4: check_kernels --quick on the current kernels (1ee07aa: session 35's RMSNorm change with
# 53dda9e's reduce; session 35 checked e7b5651, whose reduce was then reverted): every kernel at real shapes
# against float64, o's and down's split-K bmm at 33-256 rows, the whole model against HF transformers; then the
# 1000-request offline run first come first served (the default policy; last timed in session 33), greedy.
# Run: NEW=<commit> bash bench/results/h200/device_call_s36_call4.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "check_kernels --quick"
BENCH_OUT=$OUT timeout 330 python3 bench/check_kernels.py --quick > $OUT/check_kernels.log 2>&1
grep -i "split_k\|model \|by phase\|ALL OK\|FAIL\|Error\|worst" $OUT/check_kernels.log | grep -v "Writing model" | tail -16 | tee -a $OUT/all.log
stamp "offline 1000, first come first served, greedy"
BENCH_OUT=$OUT timeout 90 python3 bench/throughput.py --temperatures 0 > $OUT/offline_fcfs.log 2>&1
tail -3 $OUT/offline_fcfs.log | tee -a $OUT/all.log
stamp done
