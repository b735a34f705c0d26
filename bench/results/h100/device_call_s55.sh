#!/bin/bash
# Session 55. One device call, whichever card comes:
# - an H200: the committed tree verified, most wanted first (the bridge at 256 rows, 74a2896 then NEW, and
#   bridge.py compare; latency.py's table; offline longest-first), each part only if time is left. Carry .whl and
#   .reference (git archive 74a2896 swiftllm).
# - any other card (H100), only with WHAT set (else exit 3 at once): an A/B of the KV block size
#   (block_size_s55.py), alternated, each a fresh process:
#   WHAT=latency: latency.py --temperature 0 --batches $BATCHES at 16 / 32 / 32 / 16 tokens a block;
#   WHAT=offline: throughput.py --schedule-policy longest-first --temperatures 0 at 16 / 32 / 32 / 16.
#   A run starts only before STOP_AFTER seconds (default 420).
# Run: NEW=<commit> WHAT=latency bash bench/results/h100/device_call_s55.sh (on an H200, LATENCY_BEFORE=0 /
# OFFLINE_BEFORE=0 skip those parts)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && [ -z "$SKIP_BRIDGE" ]; then
  # the committed tree on an H200, most wanted first, each part only if started before its second:
  # the bridge at 256 rows (74a2896 then NEW, always), latency.py's whole table (< 260 s), offline longest-first
  # greedy (< 440 s). PYTHONPATH picks the tree: .reference holds 74a2896's swiftllm.
  MODEL=$(python3 -c "import sys; sys.path.insert(0, 'bench'); from common import config_dir, LLAMA3_8B; print(config_dir(LLAMA3_8B))")
  for t in "$(pwd)/.reference:/tmp/site 74a2896" "$(pwd):/tmp/site $NEW"; do set -- $t
    stamp "bridge.py decode --batches 256, $2"
    SWIFTLLM_COMMIT=$2 PYTHONPATH=$1 timeout 110 python3 bench/bridge.py decode --batches 256 --model $MODEL \
      --label $2 --out $OUT/bridge_decode_$2_256.json 2>&1 | grep "^N=" | sed "s/^/$2 /" | tee -a $OUT/all.log
  done
  [ -f $OUT/bridge_decode_74a2896_256.json ] && [ -f $OUT/bridge_decode_${NEW}_256.json ] && python3 \
    bench/bridge.py compare $OUT/bridge_decode_74a2896_256.json $OUT/bridge_decode_${NEW}_256.json 2>&1 \
    | tee -a $OUT/all.log
  if [ $(( $(date +%s) - T0 )) -lt ${LATENCY_BEFORE:-260} ]; then
    stamp "latency.py --temperature 0 (every N), $NEW"
    BENCH_OUT=$OUT/latency timeout 200 python3 bench/latency.py --temperature 0 > $OUT/latency.log 2>&1
    tail -8 $OUT/latency.log | tee -a $OUT/all.log
  fi
  if [ $(( $(date +%s) - T0 )) -lt ${OFFLINE_BEFORE:-440} ]; then
    stamp "throughput.py --schedule-policy longest-first --temperatures 0, $NEW"
    BENCH_OUT=$OUT/offline timeout 120 python3 bench/throughput.py --schedule-policy longest-first \
      --temperatures 0 > $OUT/offline.log 2>&1
    tail -4 $OUT/offline.log | tee -a $OUT/all.log
  fi
  rm -f $OUT/*.png $OUT/*/*.png
  stamp done
  exit 0
fi
[ -n "$WHAT" ] || { echo "not an H200 and no WHAT: nothing run"; exit 3; }
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
