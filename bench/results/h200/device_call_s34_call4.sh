#!/bin/bash
# Session 34, call 4: the o split (main at NEW) against the tree before (ab_old/ = cf0a648's swiftllm and bench).
# Run: mkdir ab_old && git archive cf0a648 swiftllm bench | tar -x -C ab_old; NEW=<commit> bash <this>, carry .whl
# 1) the engine alone, all 200 at once, longest-first (throughput.py --num-requests 200 --detokenize
# --worker-process --temperatures 0,0 --schedule-policy longest-first), new / old / new / old;
# 2) mixed steps of 160-384 tokens (mixed_ab_s34.py), new / old; 3) offline 1000 longest-first greedy, new / old.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 575 - ($(date +%s) - T0) )); }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
mkdir -p $OUT/logs
alone() {  # dir label round
  stamp "engine alone, 200 at once, longest-first: $2"
  (cd $1 && PYTHONPATH=$1:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/logs/alone_$2_$3 timeout 80 python3 bench/throughput.py --num-requests 200 \
    --detokenize --worker-process --temperatures 0,0 --schedule-policy longest-first > $OUT/logs/alone_$2_$3.log 2>&1)
  tail -3 $OUT/logs/alone_$2_$3.log | tee -a $OUT/all.log
}
alone $ROOT $NEW 1
alone $ROOT/ab_old cf0a648 1
alone $ROOT $NEW 2
alone $ROOT/ab_old cf0a648 2
for dir in $ROOT $ROOT/ab_old; do
  if [ $(left) -gt 200 ]; then
    (cd $dir && PYTHONPATH=$dir:/tmp/site timeout 80 python3 $ROOT/bench/results/h200/mixed_ab_s34.py "$(basename $dir)" 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
  fi
done
for pair in "$ROOT $NEW" "$ROOT/ab_old cf0a648"; do
  set -- $pair
  if [ $(left) -gt 70 ]; then
    stamp "offline 1000 longest-first greedy: $2"
    (cd $1 && PYTHONPATH=$1:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/logs/off_$2 timeout $(( $(left) - 5 )) python3 bench/throughput.py \
      --schedule-policy longest-first --temperatures 0 > $OUT/logs/offline_$2.log 2>&1)
    tail -3 $OUT/logs/offline_$2.log | tee -a $OUT/all.log
  fi
done
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
