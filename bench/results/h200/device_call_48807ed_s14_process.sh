#!/bin/bash
# Session 14, call 1 at $1: offline longest-first in-process against the model in a worker process
# (bench/throughput.py --worker-process), fcfs in a worker process; then the serving sweep at 2/4/8/16/inf.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .clean
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; lscpu | grep "Model name"; } | tee -a $OUT/all.log
mkdir -p /tmp/r
run() {  # name, args
  local name=$1; shift
  stamp "throughput $name $*"
  mkdir -p /tmp/r/$name
  SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/$name timeout 170 python3 bench/throughput.py "$@" > /tmp/r/$name.log 2>&1
  grep -v capturing /tmp/r/$name.log | tail -16 | tee -a $OUT/all.log
  cp /tmp/r/$name/*.json $OUT/throughput_${name}_$C.json 2>/dev/null
}
run lf-inprocess --schedule-policy longest-first --temperatures 0
run lf-process --schedule-policy longest-first --worker-process

run lf-inprocess-second --schedule-policy longest-first --temperatures 0
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
stamp serving sweep
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=$C timeout 330 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf --seed 0 --label H200 --launch "$LAUNCH" --out $OUT/serving_H200_${C}.json > /tmp/r/sv.log 2>&1
tail -30 /tmp/r/sv.log | tee -a $OUT/all.log
stamp done
