#!/bin/bash
# Prepared in session 46 for the next H200: the scenarios session 46's H200 call did not re-run on the final
# tree (offline longest-first, all at once on a longest-first server, the online sweep), in order of priority,
# each guarded by the time left. Decode, check_kernels, paced and fcfs all at once ran in session 46 (call 6).
# 1. throughput.py longest-first, greedy and temperature 1.0 (issue 16: <= 16.5 s; session 39 16.22 / 16.25);
# 2. a fresh longest-first server, all 200 at once x2 (>= 1.2x vLLM; session 39 5,523-5,620);
# 3. a fresh fcfs server, the online sweep 2,4,8,16 req/s (session 40), then bench/online_tpot.py against
#    session 46's decode table.
# Run: NEW=<commit, literal> bash bench/results/h200/device_call_s47.sh, carry .whl. It runs nothing on another
# card (check first: the figures are compared with vLLM's H200 ones).
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "not an H200: nothing run"; exit 0; }
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( ${LIMIT:-585} - ($(date +%s) - T0) )); }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
mkdir -p $OUT/logs
for t in 0 1; do
  stamp "offline 1000 longest-first, temperature $t"
  BENCH_OUT=$OUT timeout 80 python3 bench/throughput.py --schedule-policy longest-first --temperatures $t \
    > $OUT/logs/offline_t$t.log 2>&1
  tail -3 $OUT/logs/offline_t$t.log | tee -a $OUT/all.log
done
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
if [ $(left) -gt 100 ]; then
  stamp "all at once x2, longest-first server ($(left) s left)"
  timeout 90 python3 bench/serving.py --num-requests 200 --request-rates inf,inf --seed 0 --label H200 \
    --launch "$LAUNCH --schedule-policy longest-first" --out $OUT/serving_inf_longest-first.json \
    > $OUT/logs/serving_lf.log 2>&1
  grep -v "^\s*$" $OUT/logs/serving_lf.log | grep -v "slowest TTFT" | tail -5 | tee -a $OUT/all.log
fi
if [ $(left) -gt 200 ]; then
  stamp "online 2,4,8,16 req/s, fcfs server ($(left) s left)"
  timeout $(( $(left) - 10 )) python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16 --seed 0 \
    --label H200 --launch "$LAUNCH" --out $OUT/serving_online_fcfs.json > $OUT/logs/serving_online.log 2>&1
  grep -v "^\s*$" $OUT/logs/serving_online.log | grep -v "slowest TTFT" | tail -8 | tee -a $OUT/all.log
  python3 bench/online_tpot.py $OUT/serving_online_fcfs.json bench/results/h200/latency_s46_5dcc46e.json \
    | tee -a $OUT/all.log
fi
rm -f $OUT/*.png
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
