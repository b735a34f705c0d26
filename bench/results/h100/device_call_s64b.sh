#!/bin/bash
# Session 64, second call. Whichever card comes:
# - an H200: the committed tree PREWAIT (.prewait = git archive PREWAIT swiftllm) as device_call_s63f.sh runs
#   it (the 256-row bridge against .reference = git archive 74a2896 swiftllm, latency.py's table if started
#   within 260 s, offline longest-first greedy within 440 s), from a copy of the checkout whose swiftllm/ is
#   .prewait's.
# - an H100: three trees, each run a fresh process: BASE (.base, before session 64's kernel change), PREWAIT
#   (.prewait, the loads before the PDL wait) and NEW (the working tree: also the last split first):
#   profile_step.py --batches 1,2,8,16's unprofiled decode step, BASE / PREWAIT / NEW / NEW / PREWAIT / BASE
#   while started within 200 s; offline longest-first greedy (throughput.py), BASE / NEW / NEW / BASE while
#   started within 420 s; latency.py --temperature 0 --batches 1,8, BASE / NEW, while started within 470 s.
# Run: BASE=<commit> PREWAIT=<commit> NEW=<label> bash bench/results/h100/device_call_s64b.sh
# (carry .whl, .reference, .base, .prewait)
export PYTHONUNBUFFERED=1
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  mkdir -p /tmp/base && cp -r bench .whl .reference /tmp/base/ && cp -r .prewait/swiftllm /tmp/base/
  cd /tmp/base && NEW=$PREWAIT LATENCY_BEFORE=260 OFFLINE_BEFORE=440 exec bash bench/results/h100/device_call_s63f.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
tree_of() { case $1 in $BASE) echo $(pwd)/.base;; $PREWAIT) echo $(pwd)/.prewait;; *) pwd;; esac; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
i=0
for label in $BASE $PREWAIT $NEW $NEW $PREWAIT $BASE; do i=$((i + 1))
  [ $(( $(date +%s) - T0 )) -lt 200 ] || break
  stamp "profile $i: profile_step.py --batches 1,2,8,16, $label"
  SWIFTLLM_COMMIT=$label PYTHONPATH=$(tree_of $label):/tmp/site BENCH_OUT=$OUT/profile${i}_$label timeout 100 \
    python3 bench/profile_step.py --batches 1,2,8,16 > $OUT/profile${i}_$label.log 2>&1
  grep -E "step unprofiled:|Error" $OUT/profile${i}_$label.log | sed "s/^/$label: /" | tee -a $OUT/all.log
done
i=0
for label in $BASE $NEW $NEW $BASE; do i=$((i + 1))
  [ $(( $(date +%s) - T0 )) -lt 420 ] || break
  stamp "offline $i: throughput.py --schedule-policy longest-first --temperatures 0, $label"
  SWIFTLLM_COMMIT=$label PYTHONPATH=$(tree_of $label):/tmp/site BENCH_OUT=$OUT/offline${i}_$label timeout 110 \
    python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 > $OUT/offline${i}_$label.log 2>&1
  tail -3 $OUT/offline${i}_$label.log | sed "s/^/$label: /" | tee -a $OUT/all.log
done
for label in $BASE $NEW; do
  [ $(( $(date +%s) - T0 )) -lt 470 ] || break
  stamp "latency.py --temperature 0 --batches 1,8, $label"
  SWIFTLLM_COMMIT=$label PYTHONPATH=$(tree_of $label):/tmp/site BENCH_OUT=$OUT/latency_$label timeout 100 \
    python3 bench/latency.py --temperature 0 --batches 1,8 > $OUT/latency_$label.log 2>&1
  tail -4 $OUT/latency_$label.log | sed "s/^/$label: /" | tee -a $OUT/all.log
done
rm -rf $OUT/*.png $OUT/*/*.png $OUT/profile*/
stamp done
