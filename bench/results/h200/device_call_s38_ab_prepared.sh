#!/bin/bash
# Prepared in session 37, NOT RUN (no device lent). First come first served offline (the default policy),
# greedy, before / after session 37's change to the mixed CUDA graphs of more than 512 tokens (decode attention
# over 512 rows, not all of them; 166 steps of > 512 tokens in session 33's run), in one call:
#   mkdir ab_old && git archive 3fd2f9b swiftllm bench | tar -x -C ab_old
#   NEW=<commit> bash bench/results/h200/device_call_s38_ab_prepared.sh, carry .whl (~8 min; remove ab_old after)
# Then (session 38) bench/activation_memory.py: the eager step's peak memory (torch.cuda.max_memory_allocated) at
# 2,048 / 16,384 / 65,536 tokens and 256 / 512 sampled rows, greedy and top-p, against bench/activation_formula.py,
# and what the CUDA graphs hold at max_model_len 131,072: the numbers a profile() derived from the token budget
# would rest on (today a fixed 2 GiB; the formula puts Llama-3-8B's default step, top-p on 512 rows, at 2.4 GiB).
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
stamp "activation_memory: an eager step's peak against the formula, then the graphs at 131,072"
PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW BENCH_OUT=$OUT timeout 280 python3 bench/activation_memory.py --graphs 131072 2>&1 | tail -40 | tee -a $OUT/all.log
stamp done
