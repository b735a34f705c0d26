#!/bin/bash
# Session 39, call 2: the probes before a persistent decode kernel, a second controller's re-profile, and the
# offline A/B's second round (old first this time).
# 1. bench/sync_cost.py: a grid barrier and a producer flag inside one persistent launch against a kernel
#    boundary under PDL, on the same dependent work.
# 2. bench/persistent_gemv.py: one-row gate_up then down, and the MLP block at one row: shipped launches
#    against one persistent launch around a grid barrier.
# 3. reinit_probe_s36.py at max_model_len 2048 and 131072: a second controller's profile -> init_cache on one
#    worker (old cache and CUDA graphs counted as free; "second profile - first" a few blocks at most).
# 4. offline 1000, first come first served, greedy: old then new.
# Run: ab_old as for call 1; NEW=<commit> bash bench/results/h200/device_call_s39_call2.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "sync_cost: a PDL kernel boundary against a grid barrier and a producer flag in one persistent launch"
BENCH_OUT=$OUT timeout 120 python3 bench/sync_cost.py > $OUT/sync_cost.log 2>&1
tail -8 $OUT/sync_cost.log | tee -a $OUT/all.log
stamp "persistent_gemv: gate_up then down, and the MLP block, at one row"
BENCH_OUT=$OUT timeout 150 python3 bench/persistent_gemv.py > $OUT/persistent_gemv.log 2>&1
tail -16 $OUT/persistent_gemv.log | tee -a $OUT/all.log
for len in 2048 131072; do
  stamp "reinit probe, max_model_len $len"
  timeout 100 python3 bench/results/h200/reinit_probe_s36.py --max-model-len $len 2>&1 | grep -v capturing | tail -5 | tee -a $OUT/all.log
done
for tree in old new; do
  dir=$ROOT; commit=$NEW
  [ $tree = old ] && dir=$ROOT/ab_old && commit=3fd2f9b
  stamp "offline 1000 fcfs greedy, $tree tree ($commit), round 2"
  (cd $dir && PYTHONPATH=$dir:/tmp/site SWIFTLLM_COMMIT=$commit BENCH_OUT=$OUT/${tree}_2 timeout 80 python3 bench/throughput.py --temperatures 0 > $OUT/offline_fcfs_${tree}_2.log 2>&1)
  tail -3 $OUT/offline_fcfs_${tree}_2.log | tee -a $OUT/all.log
done
stamp done
