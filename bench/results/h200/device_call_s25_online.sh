#!/bin/bash
# Session 25, call 5 (.gm = f9f885b): 1) the online sweep, 200 requests a rate at 2 / 4 / 8 / 16 req/s (as
# session 23's device_call_s23_online); 2) offline longest-first at temperature 1.0 if time is left.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd)/.gm:/tmp/site SWIFTLLM_COMMIT=f9f885b
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( ${BUDGET:-470} - ($(date +%s) - T0) )); }
cd .gm || exit 1
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
stamp "serving.py --request-rates 2,4,8,16 at f9f885b"
timeout 340 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16 --seed 0 --label H200 \
  --launch "$LAUNCH" --out $OUT/serving_online.json > /tmp/sv.log 2>&1
tail -22 /tmp/sv.log | tee -a $OUT/all.log
if [ $(left) -gt 80 ]; then
  stamp "throughput.py --schedule-policy longest-first --temperatures 1 at f9f885b"
  BENCH_OUT=/tmp/tp timeout $(left) python3 bench/throughput.py --schedule-policy longest-first --temperatures 1 2>&1 | grep -v capturing | tail -12 | tee -a $OUT/all.log
  cp /tmp/tp/*.json $OUT/throughput_t1.json 2>/dev/null
fi
stamp done
kill $SMI
