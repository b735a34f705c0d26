#!/bin/bash
# Prepared in session 37, NOT RUN (no device lent). First come first served offline (the default policy),
# greedy, before / after session 37's change to the mixed CUDA graphs of more than 512 tokens (decode attention
# over 512 rows, not all of them; 166 steps of > 512 tokens in session 33's run), in one call:
#   mkdir ab_old && git archive 3fd2f9b swiftllm bench | tar -x -C ab_old
#   NEW=<commit> bash bench/results/h200/device_call_s38_ab_prepared.sh, carry .whl (~4 min; remove ab_old after)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for round in 1 2; do
  for tree in new old; do
    dir=$(pwd); commit=$NEW
    [ $tree = old ] && dir=$(pwd)/ab_old && commit=3fd2f9b
    stamp "round $round: offline 1000 fcfs greedy, $tree tree ($commit)"
    (cd $dir && PYTHONPATH=$dir:/tmp/site SWIFTLLM_COMMIT=$commit BENCH_OUT=$OUT/${tree}_$round timeout 110 python3 bench/throughput.py --temperatures 0 > $OUT/offline_fcfs_${tree}_$round.log 2>&1)
    tail -3 $OUT/offline_fcfs_${tree}_$round.log | tee -a $OUT/all.log
  done
done
stamp done
