#!/bin/bash
# Session 45, call 2: the GPU check of session 45's worker-side refactors (one pdl.LAUNCH for the PDL launch
# keywords, KVCache.apply reading step.BLOCK_MOVES, messages.require_cache) and its controller changes
# (field_rules, start_engine): the KV cache tests on cuda, check_kernels --quick --model-only, latency.py
# at 1 and 8 rows against call 1's 5.51 / 6.18 ms (another machine, maybe), and one fcfs server all at once.
# Run: NEW=<commit> bash bench/results/h100/device_call_s45_verify.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | awk '{print $2}')
stamp "pytest tests/worker/test_kv_cache.py (cpu and cuda)"
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/worker/test_kv_cache.py > $OUT/pytest.log 2>&1
tail -3 $OUT/pytest.log | tee -a $OUT/all.log
stamp "check_kernels --quick --model-only"
BENCH_OUT=$OUT timeout 150 python3 bench/check_kernels.py --quick --model-only > $OUT/check_kernels.log 2>&1
tail -6 $OUT/check_kernels.log | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "latency.py --temperature 0 --batches 1,8"
BENCH_OUT=$OUT timeout 120 python3 bench/latency.py --temperature 0 --batches 1,8 > $OUT/latency.log 2>&1
grep -v capturing $OUT/latency.log | tail -6 | tee -a $OUT/all.log
stamp "all at once x1, fcfs server"
timeout 100 python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label $GPU \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_inf_fcfs.json > $OUT/serving.log 2>&1
grep -v "^\s*$" $OUT/serving.log | grep -v "slowest TTFT" | tail -4 | tee -a $OUT/all.log
rm -f $OUT/*.png
stamp done
