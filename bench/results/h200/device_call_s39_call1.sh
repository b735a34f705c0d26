#!/bin/bash
# Session 39, call 1: what sessions 37-38 changed blind, on the GPU, in one call (NEW = the tree, OLD = 3fd2f9b,
# the tree before session 37's mixed-graph decode view and session 38's forward frees):
# 1. check_kernels --quick --model-only: the graphs of the current tree against HF (its first mixed step, 602
#    tokens, runs past the 512-row decode view).
# 2. offline 1000, first come first served, greedy: new then old (the view covers 166 steps of > 512 tokens).
# 3. activation_memory.py --graphs 131072: an eager step's peak against activation_formula, and what the CUDA
#    graphs hold at max_model_len 131,072 (the numbers a derived profile allowance would rest on).
# Run: mkdir ab_old && git archive 3fd2f9b swiftllm bench | tar -x -C ab_old
#      NEW=<commit> bash bench/results/h200/device_call_s39_call1.sh, carry .whl; remove ab_old after
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 585 - ($(date +%s) - T0) )); }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "check_kernels --quick --model-only (graphs of the current tree against HF)"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW BENCH_OUT=$OUT timeout 170 python3 bench/check_kernels.py --quick --model-only > $OUT/check_kernels.log 2>&1
tail -12 $OUT/check_kernels.log | tee -a $OUT/all.log
for tree in new old; do
  dir=$ROOT; commit=$NEW
  [ $tree = old ] && dir=$ROOT/ab_old && commit=3fd2f9b
  stamp "offline 1000 fcfs greedy, $tree tree ($commit)"
  (cd $dir && PYTHONPATH=$dir:/tmp/site SWIFTLLM_COMMIT=$commit BENCH_OUT=$OUT/${tree}_1 timeout 90 python3 bench/throughput.py --temperatures 0 > $OUT/offline_fcfs_${tree}_1.log 2>&1)
  tail -3 $OUT/offline_fcfs_${tree}_1.log | tee -a $OUT/all.log
done
stamp "activation_memory: an eager step's peak against the formula, then the graphs at 131,072 ($(left) s left)"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW BENCH_OUT=$OUT timeout $(left) python3 bench/activation_memory.py --graphs 131072 > $OUT/activation_memory.log 2>&1
tail -40 $OUT/activation_memory.log | tee -a $OUT/all.log
stamp done
