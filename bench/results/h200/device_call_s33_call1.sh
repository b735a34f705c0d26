#!/bin/bash
# Session 33, call 1: session 32's final tree (NEW = 696b5c9: longest-first paced from a 4,096-token backlog,
# slack 1.2 and 32-token quanta, arrival groups of a second) against the tree before (ab_old/ = `git archive
# 8c72f88 swiftllm bench`): offline 1000 at temperatures 0 and 1, new / old; one longest-first server through
# the online sweep and all at once x3 (serving.py --request-rates 2,4,8,16,inf,inf,inf); the engine alone x2.
# Run: mkdir ab_old && git archive 8c72f88 swiftllm bench | tar -x -C ab_old; NEW=696b5c9 bash <this>, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
PYTHONPATH=$ROOT:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
mkdir -p $OUT/logs
offline() {  # dir label
  stamp "offline 1000 longest-first 0,1: $2"
  (cd $1 && PYTHONPATH=$1:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/logs/off_$2 timeout 110 python3 bench/throughput.py \
    --schedule-policy longest-first --temperatures 0,1 > $OUT/logs/offline_$2.log 2>&1)
  tail -3 $OUT/logs/offline_$2.log | tee -a $OUT/all.log
}
offline $ROOT $NEW
offline $ROOT/ab_old 8c72f88
stamp "HTTP, one longest-first server: 2,4,8,16 req/s, then all at once x3"
SWIFTLLM_COMMIT=$NEW PYTHONPATH=$ROOT:/tmp/site timeout 330 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf,inf,inf \
  --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy longest-first" \
  --out $OUT/serving_s33_call1_longest-first_sweep.json > $OUT/logs/serving.log 2>&1
grep -v "^\s*$" $OUT/logs/serving.log | tail -22 | tee -a $OUT/all.log
cp $OUT/serving_s33_call1_longest-first_sweep.png $OUT/logs/ 2>/dev/null


stamp "engine alone, 200 at once, longest-first x2: $NEW"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW timeout 75 python3 bench/throughput.py --num-requests 200 --detokenize \
  --worker-process --temperatures 0,0 --schedule-policy longest-first > $OUT/logs/alone.log 2>&1
tail -3 $OUT/logs/alone.log | tee -a $OUT/all.log
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
