#!/bin/bash
# Session 31, call 1: all 200 at once over HTTP (Python's default GIL switch interval, then 0.5 ms in the
# controller) against the same 200 requests through the engine alone (throughput.py, worker process,
# detokenized, first come first served). Does the HTTP path cost the all-at-once figure anything?
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$COMMIT
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv | tee -a $OUT/all.log
ARGS="launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
inf() {
  label=$1; shift
  stamp "all at once x3: $label"
  timeout 170 python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf --seed 0 --label H200 \
    --launch "$*" --out $OUT/serving_s31_$label.json 2>&1 | grep -v "^\s*$" | tail -9 | tee -a $OUT/all.log
}
inf default python3 -m swiftllm.launch.cli $ARGS
inf switch05ms env SWITCH_S=0.0005 python3 bench/results/h200/launch_switch_s31.py $ARGS
stamp "engine alone: throughput.py --num-requests 200 --detokenize --worker-process --temperatures 0,0"
timeout 200 python3 bench/throughput.py --num-requests 200 --detokenize --worker-process --temperatures 0,0 \
  > $OUT/throughput_200.log 2>&1
cp bench/results/throughput_detokenized.json $OUT/throughput_200_detokenized_s31.json 2>/dev/null
tail -25 $OUT/throughput_200.log | tee -a $OUT/all.log
inf default_again python3 -m swiftllm.launch.cli $ARGS
stamp done
