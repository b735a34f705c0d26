#!/bin/bash
# Session 35, call 3. Run: bash <this>, carry .whl; ab_split/ = the checkout's swiftllm + bench with an experiment
# knob in cuda_graphs.FixedGridAttention (SWIFTLLM_EXP_MIXED_SPLITS=k: mixed graphs' decode rows on k splits of at
# least MIN_CHUNK, not decode_params' one; the diff is bench/results/h200/mixed_splits_exp_s35.diff).
# 1) decode_sweep at the mixed steps' decode shapes (72 x 364, 100 x 400, 127 x 438, sigma 0.77): tiles 128x4x2
#    and 64x4x3 at 1 / 2 / 4 splits; 2) mixed steps 160-384 tokens (mixed_ab_s34.py), main / split=2, 3 rounds;
# 3) the engine alone, all 200 at once, longest-first, main / split=2 / main / split=2.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 575 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for shape in "72 364" "100 400" "127 438"; do
  set -- $shape
  stamp "decode_sweep --batches $1 --context $2 --spread 0.77 --tiles 128x4x2,64x4x3 --tile-splits 1,2,4"
  BENCH_OUT=$OUT/sweep_$1 PYTHONPATH=$ROOT:/tmp/site timeout 60 python3 bench/decode_sweep.py --batches $1 --context $2 --spread 0.77 \
    --tiles 128x4x2,64x4x3 --tile-splits 1,2,4 2>&1 | tail -3 | tee -a $OUT/all.log
done
stamp "mixed steps"
for round in 1 2 3; do
  for dir in $ROOT $ROOT/ab_split; do
    if [ $(left) -gt 260 ]; then
      (cd $dir && SWIFTLLM_EXP_MIXED_SPLITS=2 PYTHONPATH=$dir:/tmp/site timeout 80 python3 $ROOT/bench/results/h200/mixed_ab_s34.py "$(basename $dir)" 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
    fi
  done
done
mkdir -p $OUT/logs
for round in 1 2; do
  for dir in $ROOT $ROOT/ab_split; do
    if [ $(left) -gt 55 ]; then
      label=$(basename $dir)_$round
      stamp "engine alone, 200 at once, longest-first: $label"
      (cd $dir && SWIFTLLM_EXP_MIXED_SPLITS=2 PYTHONPATH=$dir:/tmp/site SWIFTLLM_COMMIT=$label BENCH_OUT=$OUT/logs/alone_$label timeout 80 python3 bench/throughput.py \
        --num-requests 200 --detokenize --worker-process --temperatures 0,0 --schedule-policy longest-first > $OUT/logs/alone_$label.log 2>&1)
      tail -3 $OUT/logs/alone_$label.log | tee -a $OUT/all.log
    fi
  done
done
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
