#!/bin/bash
# Session 64. One device call, whichever card comes:
# - an H200: the committed tree BASE (.base = git archive BASE swiftllm) as device_call_s63f.sh runs it (the
#   256-row bridge against .reference = git archive 74a2896 swiftllm, latency.py's table if started within 260 s,
#   offline longest-first greedy within 440 s), from a copy of the checkout whose swiftllm/ is .base's.
# - an H100: the A/B of decode attention's loads before its PDL wait (NEW: the working tree) against BASE:
#   profile_step.py --batches 1,8,32,64's unprofiled decode step (graph replays launched one ahead), each a fresh
#   process, BASE / NEW / NEW / BASE / BASE / NEW while started within 240 s; then check_kernels.py --quick on
#   NEW (its decode graphs run with PDL) if started within 330 s.
# Run: BASE=<commit> NEW=<label> bash bench/results/h100/device_call_s64.sh (carry .whl, .reference, .base)
export PYTHONUNBUFFERED=1
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  mkdir -p /tmp/base && cp -r bench .whl .reference /tmp/base/ && cp -r .base/swiftllm /tmp/base/
  cd /tmp/base && NEW=$BASE LATENCY_BEFORE=260 OFFLINE_BEFORE=440 exec bash bench/results/h100/device_call_s63f.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
i=0
for label in $BASE $NEW $NEW $BASE $BASE $NEW; do i=$((i + 1))
  [ $(( $(date +%s) - T0 )) -lt 240 ] || break
  tree=$(pwd)
  [ $label = $BASE ] && tree=$(pwd)/.base
  stamp "run $i: profile_step.py --batches 1,8,32,64, $label"
  SWIFTLLM_COMMIT=$label PYTHONPATH=$tree:/tmp/site BENCH_OUT=$OUT/run${i}_$label timeout 100 python3 \
    bench/profile_step.py --batches 1,8,32,64 > $OUT/run${i}_$label.log 2>&1
  grep -E "step unprofiled:|Error" $OUT/run${i}_$label.log | sed "s/^/$label: /" | tee -a $OUT/all.log
done
if [ $(( $(date +%s) - T0 )) -lt 330 ]; then
  stamp "check_kernels.py --quick, $NEW"
  SWIFTLLM_COMMIT=$NEW PYTHONPATH=$(pwd):/tmp/site BENCH_OUT=$OUT/check timeout 200 python3 \
    bench/check_kernels.py --quick > $OUT/check.log 2>&1
  tail -6 $OUT/check.log | tee -a $OUT/all.log
fi
rm -f $OUT/*.png $OUT/*/*.png
stamp done
