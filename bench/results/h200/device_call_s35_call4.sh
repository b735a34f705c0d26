#!/bin/bash
# Session 35, call 4 (Run: NEW=<commit> bash bench/results/h200/device_call_s35_call4.sh, carry .whl): the current
# tree: 1) latency.py --temperature 0 (the decode table against the roofline and vLLM); 2) check_kernels --quick
# (every kernel at real shapes against float64, o's and down's split-K bmm at 33-256 rows, the whole model against
# HF); 3) one longest-first server, all 200 at once x4 (the first burst opens the client's connections).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 560 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "latency.py --temperature 0"
BENCH_OUT=$OUT timeout 170 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
stamp "check_kernels --quick"
BENCH_OUT=$OUT timeout 250 python3 bench/check_kernels.py --quick > $OUT/check_kernels.log 2>&1
grep -i "split_k\|model \|by phase\|ALL OK\|FAIL\|Error\|worst" $OUT/check_kernels.log | grep -v "Writing model" | tail -16 | tee -a $OUT/all.log
if [ $(left) -gt 120 ]; then
  python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
  stamp "HTTP all at once x4, longest-first server"
  timeout $(( $(left) - 3 )) python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf,inf --seed 0 --label H200 \
    --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy longest-first" \
    --out $OUT/serving_s35_call4_inf_longest-first.json > /tmp/serving.log 2>&1
  grep -v "^\s*$" /tmp/serving.log | tail -12 | tee -a $OUT/all.log
fi
stamp done
