#!/bin/bash
# Prepared in session 39, NOT RUN (its device budget ran out). What session 39 could not run on its final tree:
# 1. check_kernels --quick --model-only on NEW (session 39 ran it on 3cc7228; ef683ad's swiftllm/ adds the derived
#    activation room and plain trims in the forward, the graphs' buffers, rope and the engine, which ran on the
#    H200 in session 39's calls 5-6 but were not compared with HF there).
# 2. The online sweep on a fresh first come first served server (session 39's call 4 never got a machine):
#    2 / 4 / 8 / 16 req/s and all 200 at once x2, vLLM's serving-benchmark method (issue 16's online table).
# Run: NEW=<commit> bash bench/results/h200/device_call_s40_prepared.sh, carry .whl (~7 min)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 585 - ($(date +%s) - T0) )); }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "check_kernels --quick --model-only"
BENCH_OUT=$OUT timeout 150 python3 bench/check_kernels.py --quick --model-only > $OUT/check_kernels.log 2>&1
tail -6 $OUT/check_kernels.log | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "online 2 / 4 / 8 / 16 req/s and all at once x2, first come first served server ($(left) s left)"
timeout $(( $(left) - 5 )) python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf,inf --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_s40_fcfs.json > $OUT/serving.log 2>&1
grep -v "^\s*$" $OUT/serving.log | tail -16 | tee -a $OUT/all.log
stamp done
