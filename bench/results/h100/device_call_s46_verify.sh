#!/bin/bash
# Session 46: the GPU check of session 46's worker-side refactors (LaunchedStep.ready as one condition,
# staged_results' tokens tensor written once, WorkerClient.step through call) on whatever card comes:
# the KV cache tests on cuda, check_kernels --quick --model-only, latency.py at 1 and 8 rows for the tree
# before them (OLD, in .before) and after (NEW), in both orders, and one fcfs server of NEW all at once.
# Run: git archive OLD swiftllm bench | (mkdir -p .before && tar -x -C .before --exclude=bench/results)
#      OLD=<commit> NEW=<commit> bash bench/results/h100/device_call_s46_verify.sh, carry .whl and .before
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | awk '{print $2}')
stamp "pytest tests/worker/test_kv_cache.py (cpu and cuda)"
PYTHONPATH=$ROOT:/tmp/site timeout 120 python3 -m pytest -q -p no:cacheprovider tests/worker/test_kv_cache.py \
  > $OUT/pytest.log 2>&1
tail -2 $OUT/pytest.log | tee -a $OUT/all.log
stamp "check_kernels --quick --model-only ($NEW)"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW BENCH_OUT=$OUT timeout 150 python3 bench/check_kernels.py \
  --quick --model-only > $OUT/check_kernels.log 2>&1
tail -6 $OUT/check_kernels.log | tee -a $OUT/all.log
PYTHONPATH=$ROOT python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
latency() {  # tree commit round
  stamp "latency.py --batches 1,8: $2 (round $3)"
  (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/$2_$3 timeout 100 python3 bench/latency.py \
    --temperature 0 --batches 1,8 > $OUT/latency_$2_$3.log 2>&1)
  grep -E "^N=" $OUT/latency_$2_$3.log | tee -a $OUT/all.log
}
latency $ROOT/.before $OLD 1
latency $ROOT $NEW 1
latency $ROOT $NEW 2
latency $ROOT/.before $OLD 2
stamp "all at once x1, fcfs server ($NEW)"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW timeout 100 python3 bench/serving.py --num-requests 200 \
  --request-rates inf --seed 0 --label $GPU \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_inf_fcfs.json > $OUT/serving.log 2>&1
grep -v "^\s*$" $OUT/serving.log | grep -v "slowest TTFT" | tail -4 | tee -a $OUT/all.log
rm -f $OUT/*.png $OUT/*/*.png $OUT/*server.log
stamp done
