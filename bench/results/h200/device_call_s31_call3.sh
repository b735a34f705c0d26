#!/bin/bash
# Session 31, call 3: latency.py (LLM: the model on a thread of the engine's process) on the tree before the
# GIL switch interval (ab_old/ = `git archive 7f33607 swiftllm bench`) and on the new tree, then the online
# sweep at 2 / 4 / 8 / 16 req/s on the new tree's server.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
PYTHONPATH=$ROOT:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
latency() {  # dir label
  stamp "latency.py --temperature 0: $2"
  (cd $1 && PYTHONPATH=$1:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/lat_$2 timeout 170 python3 bench/latency.py \
    --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log)
  cp /tmp/lat_$2/*.json $OUT/latency_s31_$2.json 2>/dev/null
}
latency $ROOT/ab_old 7f33607
latency $ROOT $NEW
stamp "serving.py --request-rates 2,4,8,16: $NEW"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW timeout 300 python3 bench/serving.py --num-requests 200 \
  --request-rates 2,4,8,16 --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_online_s31_$NEW.json 2>&1 | tail -14 | tee -a $OUT/all.log
stamp done
