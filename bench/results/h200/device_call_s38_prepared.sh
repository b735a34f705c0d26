#!/bin/bash
# Prepared in session 36, NOT RUN (its device time was spent; session 37 was lent no device). Run:
# mkdir ab_old && git archive 3fd2f9b swiftllm bench | tar -x -C ab_old   (the tree before session 37; optional)
# NEW=<commit> bash bench/results/h200/device_call_s38_prepared.sh, carry .whl (~8 min; remove ab_old after).
# Verifies on the GPU what session 36 fixed and tested only on the CPU: a second controller's profile -> init_cache on one worker (the old cache counted as free; the old graphs released before the new cache is
# allocated), at max_model_len 2048 and 131072 (where an audit reads the mixed graphs' decode partials at 2 GiB).
# Session 37 added: the graphs' memory counted as free too (GraphRunner.nbytes: "second profile - first" should be
# a few blocks at most), the mixed graphs' decode view held to 512 rows (graphs at 131072 should now hold ~0.5 GiB
# of partials, not 2), and check_kernels' model check, whose first mixed step (602 tokens) now runs past that view;
# then bench/sync_cost.py, whether a persistent decode kernel's synchronisation would cost less than a boundary,
# and bench/persistent_gemv.py, whether two one-row GEMVs stream as fast in one launch around a barrier, and the
# decode step's MLP block at one row in one launch against its four.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a $OUT/all.log
for len in 2048 131072; do
  stamp "reinit probe, max_model_len $len"
  timeout 200 python3 bench/results/h200/reinit_probe_s36.py --max-model-len $len 2>&1 | grep -v capturing | tail -4 | tee -a $OUT/all.log
done
stamp "check_kernels --quick --model-only (graphs of the current tree against HF)"
timeout 300 python3 bench/check_kernels.py --quick --model-only 2>&1 | tail -12 | tee -a $OUT/all.log
stamp "sync_cost: a PDL kernel boundary against a grid barrier and a producer flag in one persistent launch"
BENCH_OUT=$OUT timeout 180 python3 bench/sync_cost.py 2>&1 | tail -6 | tee -a $OUT/all.log
stamp "persistent_gemv: gate_up then down, and the MLP block, at one row: shipped launches against one persistent launch"
BENCH_OUT=$OUT timeout 180 python3 bench/persistent_gemv.py 2>&1 | tail -14 | tee -a $OUT/all.log
# the decode view's change reaches mixed graphs of 576-2,048 tokens, which first come first served offline runs
# (166 steps of > 512 tokens in session 33): before / after in this call, greedy
if [ -d ab_old ]; then
  for tree in new old; do
    dir=$(pwd); commit=$NEW
    [ $tree = old ] && dir=$(pwd)/ab_old && commit=3fd2f9b
    stamp "offline 1000 fcfs greedy, $tree tree ($commit)"
    (cd $dir && PYTHONPATH=$dir:/tmp/site SWIFTLLM_COMMIT=$commit BENCH_OUT=$OUT/$tree timeout 100 python3 bench/throughput.py --temperatures 0 > $OUT/offline_fcfs_$tree.log 2>&1)
    tail -3 $OUT/offline_fcfs_$tree.log | tee -a $OUT/all.log
  done
fi
stamp done
