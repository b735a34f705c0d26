#!/bin/bash
# Session 55. One device call, whichever card comes:
# - an H200: the prepared bridge at 256 rows (session 54's PART=5 of bench/results/h200/device_call_s53_verify.sh:
#   74a2896 / NEW / NEW / 74a2896, bridge.py compare per round). Carry .whl and .reference.
# - any other card (H100): an A/B of the KV block size (block_size_s55.py), alternated, each a fresh process:
#   WHAT=latency: latency.py --temperature 0 --batches $BATCHES at 16 / 32 / 32 / 16 tokens a block;
#   WHAT=offline: throughput.py --schedule-policy longest-first --temperatures 0 at 16 / 32 / 32 / 16.
#   A run starts only before STOP_AFTER seconds (default 420).
# Run: NEW=<commit> WHAT=latency bash bench/results/h100/device_call_s55.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && [ -z "$SKIP_BRIDGE" ]; then
  NEW=$NEW PART=5 exec bash bench/results/h200/device_call_s53_verify.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
SIZES=${SIZES:-16 32 32 16}
i=0
for size in $SIZES; do i=$((i + 1))
  [ $(( $(date +%s) - T0 )) -lt ${STOP_AFTER:-420} ] || break
  if [ "$WHAT" = offline ]; then
    stamp "throughput.py longest-first greedy, block_size $size (run $i)"
    BENCH_OUT=$OUT/offline_${size}_$i timeout 150 python3 bench/results/h100/block_size_s55.py $size \
      bench/throughput.py --schedule-policy longest-first --temperatures 0 > $OUT/offline_${size}_$i.log 2>&1
    tail -3 $OUT/offline_${size}_$i.log | sed "s/^/block $size: /" | tee -a $OUT/all.log
  else
    stamp "latency.py --batches ${BATCHES:-8,64,256}, block_size $size (run $i)"
    BENCH_OUT=$OUT/latency_${size}_$i timeout 200 python3 bench/results/h100/block_size_s55.py $size \
      bench/latency.py --temperature 0 --batches ${BATCHES:-8,64,256} > $OUT/latency_${size}_$i.log 2>&1
    grep -E "^ +[0-9]+ " $OUT/latency_${size}_$i.log | sed "s/^/block $size: /" | tee -a $OUT/all.log
  fi
done
rm -f $OUT/*.png $OUT/*/*.png
stamp done
