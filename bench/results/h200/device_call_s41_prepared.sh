#!/bin/bash
# Prepared in session 41 (lent no GPU), NOT RUN. One call, ~9 min, on the current tree (NEW=<commit>):
# 1. check_kernels --quick --model-only: session 41 changed no kernel, but the worker now validates every step
#    against its own limits and a random epoch (fuzzing fixes); the whole path against HF once more.
# 2. All 200 at once, vLLM's serving-benchmark method, on a fresh server of each policy, twice each:
#    fcfs (the default; session 40: 5,150 / 5,164 tok/s) and paced (new in session 41: first come first served
#    order with longest-first's pacing of a backlog; the refitted simulator says 5,853 against fcfs's 5,298, and
#    ~5,400-5,500 on the H200 once scaled by its longest-first error; target 1.2x vLLM's 4,499 = 5,399).
#    Report output tok/s, median / p99 TTFT (vLLM 1,054 / 1,069 ms) for both.
# Session 42 (no GPU either) changed what step 1 checks: the worker resolves a -1 token from the in-flight step
# itself (no NewestTokens copy), Checkpoint reads safetensors slices from files kept open, config.json's sizes
# are checked against the weights, and the decode kernel's key loop runs through _tile (identical SASS for sm_90,
# bench/results/cpu/attention_sass_s42.py); the serving runs of step 2 drive the -1 path through CUDA graphs.
# Run: NEW=<commit> bash bench/results/h200/device_call_s41_prepared.sh, carry .whl
# Next call: the prefetch A/B of session 40 (bench/results/h200/device_call_s40_call2.sh, its setup in its header).
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
for policy in fcfs paced; do
  stamp "all at once x2, $policy server ($(left) s left)"
  budget=$(( $(left) - 5 ))
  if [ $policy = fcfs ]; then budget=$(( budget / 2 )); fi
  if [ $(left) -gt 90 ]; then
    timeout $budget python3 bench/serving.py --num-requests 200 --request-rates inf,inf --seed 0 --label H200 \
      --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --schedule-policy $policy --port 8000" \
      --out $OUT/serving_s41_inf_$policy.json > $OUT/serving_$policy.log 2>&1
    grep -v "^\s*$" $OUT/serving_$policy.log | tail -8 | tee -a $OUT/all.log
  fi
done
stamp done
