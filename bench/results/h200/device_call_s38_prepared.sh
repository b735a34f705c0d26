#!/bin/bash
# Prepared in sessions 36-37, NOT RUN (session 36's device time was spent; session 37 was lent no device).
# Run: NEW=<commit> bash bench/results/h200/device_call_s38_prepared.sh, carry .whl (~7 min).
# 1. bench/sync_cost.py: does a grid barrier or a producer flag inside one persistent launch cost less than a
#    kernel boundary under PDL? (the question before a persistent decode kernel, README "What holds the decode
#    step above its roofline")
# 2. bench/persistent_gemv.py: one-row gate_up then down, and the decode step's MLP block at one row, as the
#    shipped launches against one persistent launch around a grid barrier (µs a layer, ÷ copy rate).
# 3. What sessions 36-37 fixed and tested only on the CPU: a second controller's profile -> init_cache on one
#    worker (the old cache and, since session 37, its CUDA graphs counted as free: "second profile - first"
#    should be a few blocks at most; the old graphs released before the new cache is allocated), at
#    max_model_len 2048 and 131072 (where the mixed graphs' decode partials took 2 GiB before session 37 held
#    the decode view to 512 rows: graphs should now hold ~0.5 GiB of partials there).
# 4. check_kernels --quick --model-only: the graphs against HF, its first mixed step (602 tokens) past the view.
# Then device_call_s38_ab_prepared.sh: first come first served offline before / after the view's change.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "sync_cost: a PDL kernel boundary against a grid barrier and a producer flag in one persistent launch"
BENCH_OUT=$OUT timeout 120 python3 bench/sync_cost.py 2>&1 | tail -6 | tee -a $OUT/all.log
stamp "persistent_gemv: gate_up then down, and the MLP block, at one row: shipped launches against one persistent launch"
BENCH_OUT=$OUT timeout 150 python3 bench/persistent_gemv.py 2>&1 | tail -14 | tee -a $OUT/all.log
for len in 2048 131072; do
  stamp "reinit probe, max_model_len $len"
  timeout 150 python3 bench/results/h200/reinit_probe_s36.py --max-model-len $len 2>&1 | grep -v capturing | tail -5 | tee -a $OUT/all.log
done
stamp "check_kernels --quick --model-only (graphs of the current tree against HF)"
BENCH_OUT=$OUT timeout 150 python3 bench/check_kernels.py --quick --model-only 2>&1 | tail -12 | tee -a $OUT/all.log
stamp done
