#!/bin/bash
# Session 31, call 2: the GIL switch interval in the code (new, 0.5 ms) against the tree before (old,
# Python's 5 ms; ab_old/ = `git archive 7f33607 swiftllm bench`): offline longest-first at temperatures 0 and 1
# (LLM, the model on a thread of the engine's process) new / old / new / old, then all 200 at once over HTTP
# x3 on each tree's server.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
PYTHONPATH=$ROOT:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
offline() {  # dir label n
  stamp "offline longest-first 0,1: $2 ($3)"
  (cd $1 && PYTHONPATH=$1:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/tp_$2_$3 timeout 110 python3 bench/throughput.py \
    --schedule-policy longest-first --temperatures 0,1 2>&1 | grep -v capturing | tail -3 | tee -a $OUT/all.log)
  cp /tmp/tp_$2_$3/*.json $OUT/throughput_s31_$2_$3.json 2>/dev/null
}
inf() {  # dir label
  stamp "all at once x3: $2"
  (cd $1 && PYTHONPATH=$1:/tmp/site SWIFTLLM_COMMIT=$2 timeout 150 python3 bench/serving.py --num-requests 200 \
    --request-rates inf,inf,inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
    --out $OUT/serving_s31_$2.json 2>&1 | grep "^  inf" | tee -a $OUT/all.log)
}
offline $ROOT $NEW 1
offline $ROOT/ab_old 7f33607 1
offline $ROOT $NEW 2
offline $ROOT/ab_old 7f33607 2
inf $ROOT $NEW
inf $ROOT/ab_old 7f33607
stamp done
