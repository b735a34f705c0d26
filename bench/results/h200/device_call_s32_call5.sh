#!/bin/bash
# NOT RUN in session 32: the device time ran out after call 4. The next session's first check of the final tree.
# Session 32, call 5: call 4's longest-first with PACED_SLACK 1.2 (1.25 put offline's 1000 requests at 258-token
# steps, which replay the 320-token mixed graph: 10.57 ms mixed steps against 9.21) against the tree before
# (ab_old/ = `git archive 8c72f88 swiftllm bench`): offline 1000 greedy new / old; then the first 200 all at
# once through the engine alone, new longest-first.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
PYTHONPATH=$ROOT:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
offline() {  # dir label
  stamp "offline 1000 longest-first greedy: $2"
  (cd $1 && PYTHONPATH=$1:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/off_$2 timeout 90 python3 bench/throughput.py \
    --schedule-policy longest-first --temperatures 0 > $OUT/offline_$2.log 2>&1)
  grep -E "mixed|decode|temperature 0.0 " $OUT/offline_$2.log | tail -5 | tee -a $OUT/all.log
}
offline $ROOT $NEW
offline $ROOT/ab_old 8c72f88
stamp "engine alone, 200 at once, longest-first x2: $NEW"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW timeout 80 python3 bench/throughput.py --num-requests 200 --detokenize \
  --worker-process --temperatures 0,0 --schedule-policy longest-first > $OUT/alone.log 2>&1
tail -3 $OUT/alone.log | tee -a $OUT/all.log
stamp done
