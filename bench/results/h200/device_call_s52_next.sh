#!/bin/bash
# Prepared in session 52, not yet run: which kernels put this tree's 256-row decode step ~1 % behind 74a2896's
# on the H200 (bench/results/h200/bridge_s52_d43828a). Runs bench/results/h200/decode_kernels_s52.py for this
# tree, 74a2896, this tree again, 74a2896 again (each its own process), at 256 rows (and 128, where ours is 3 %
# ahead: a control), then compares each pair. ~60 s a process. Carry .whl and .reference; NEW=<commit>.
# On another card it runs too (the regression has not been seen on an H100: session 51's bridge there read
# 74a2896 / ours 1.054 and 1.007 at 256 rows). KERNELS_EXTRA (appended to each run's flags) lets a CPU dry run
# use a tiny model: KERNELS_EXTRA="--model DIR --batches 4 --steps 4 --prompt-tokens 32", and MODEL=DIR with
# BRIDGE_EXTRA for the bridge run at the end.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
ROOT=$(pwd)
for run in new1 ref1 new2 ref2; do
  path=$ROOT; commit=$NEW
  case $run in ref*) path=$ROOT/.reference; commit=74a2896;; esac
  echo "== $run ($commit)" | tee -a $OUT/all.log
  SWIFTLLM_COMMIT=$commit PYTHONPATH=$path:/tmp/site timeout 150 python3 bench/results/h200/decode_kernels_s52.py \
    $OUT/decode_kernels_$run.json --batches 128,256 $KERNELS_EXTRA 2>&1 | grep -v "^USDT\|^STAGE\|Warning" | tee -a $OUT/all.log
done
for pair in "ref1 new1" "ref2 new2"; do
  set -- $pair
  python3 bench/results/h200/decode_kernels_s52.py compare $OUT/decode_kernels_$1.json $OUT/decode_kernels_$2.json \
    2>&1 | tee -a $OUT/all.log
done
# then, if time is left, this tree's 256-row step by bench/bridge.py, which now records the worker's device ms a
# step beside the wall figure: is bridge.py's 2-3 % over latency.py's (session 52) the kernels or the wall time?
if [ $(( $(date +%s) - T0 )) -lt 480 ]; then
  MODEL=${MODEL:-$(python3 -c "import sys; sys.path.insert(0, 'bench'); from common import config_dir, LLAMA3_8B; print(config_dir(LLAMA3_8B))")}
  SWIFTLLM_COMMIT=$NEW PYTHONPATH=$ROOT:/tmp/site timeout 100 python3 bench/bridge.py decode --batches 256 \
    --model $MODEL --label $NEW --out $OUT/bridge_decode_new_256.json $BRIDGE_EXTRA 2>&1 | grep "^N=" \
    | tee -a $OUT/all.log
fi
