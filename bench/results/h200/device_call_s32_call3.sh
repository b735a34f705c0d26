#!/bin/bash
# Session 32, call 3: the new longest-first (paced only while a backlog waits, slack 1.25 over the spread,
# floor 160, later arrivals behind earlier ones) against the tree before (ab_old/ = `git archive 8c72f88
# swiftllm bench`: paced always, floor 256): offline 1000 at temperatures 0 and 1, new / old; the first 200 all
# at once through the engine alone (new longest-first, old longest-first, new first come first served); over
# HTTP all at once x3 on a longest-first server and on a first come first served one (both new).
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
alone() {  # dir label policy
  stamp "engine alone, 200 at once, $3 x2: $2"
  (cd $1 && PYTHONPATH=$1:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/logs/alone_$2_$3 timeout 100 python3 bench/throughput.py \
    --num-requests 200 --detokenize --worker-process --temperatures 0,0 --schedule-policy $3 > $OUT/logs/alone_$2_$3.log 2>&1)
  tail -3 $OUT/logs/alone_$2_$3.log | tee -a $OUT/all.log
}
inf() {  # policy
  stamp "HTTP all at once x3: $1"
  SWIFTLLM_COMMIT=$NEW PYTHONPATH=$ROOT:/tmp/site timeout 130 python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf \
    --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy $1" \
    --out $OUT/logs/serving_s32_inf_$1.json 2>&1 | grep "^  inf" | tee -a $OUT/all.log
}
offline $ROOT $NEW
offline $ROOT/ab_old 8c72f88
alone $ROOT $NEW longest-first
alone $ROOT/ab_old 8c72f88 longest-first
alone $ROOT $NEW fcfs
inf longest-first
inf fcfs
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
