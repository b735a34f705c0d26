#!/bin/bash
# NOT RUN in session 32: its device time ran out after call 4. The next session's first check of the final tree
# (d70e64f's pacing with the 4,096-token backlog and arrival groups of a second), ~5 minutes:
# offline 1000 longest-first greedy, new / old (ab_old/ = `git archive 8c72f88 swiftllm bench`; the offline
# steps should match: schedule_sim replays the same graphs); all 200 at once x3 on a longest-first server;
# the engine alone, longest-first x2.
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
stamp "HTTP all at once x3, longest-first server: $NEW"
SWIFTLLM_COMMIT=$NEW PYTHONPATH=$ROOT:/tmp/site timeout 130 python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf \
  --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy longest-first" \
  --out $OUT/serving_inf_longest-first.json 2>&1 | grep "^  inf" | tee -a $OUT/all.log
stamp "engine alone, 200 at once, longest-first x2: $NEW"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW timeout 80 python3 bench/throughput.py --num-requests 200 --detokenize \
  --worker-process --temperatures 0,0 --schedule-policy longest-first > $OUT/alone.log 2>&1
tail -3 $OUT/alone.log | tee -a $OUT/all.log
stamp done
