#!/bin/bash
# Session 32, call 1: longest-first pacing while a backlog waits (the scheduler's new gate), for all 200 at
# once: the engine alone first come first served against longest-first at pacing floors 256 / 192 / 160 / 128;
# offline (1000 requests) longest-first at 256 and 160; over HTTP, all at once x3 at fcfs and at longest-first 160.
# (PARTS picks which; the first run's throughput.py parts failed on sys.path, rerun as PARTS in call 2.)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$COMMIT
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
W=bench/results/h200/paced_min_s32.py
alone() {  # policy floor
  stamp "engine alone, 200 at once: $1 floor $2"
  PACED_MIN=$2 BENCH_OUT=/tmp/alone_$1_$2 timeout 100 python3 $W bench/throughput.py --num-requests 200 --detokenize \
    --worker-process --temperatures 0,0 --schedule-policy $1 > $OUT/alone_$1_$2.log 2>&1
  grep -E "^temperature|rows|tokens  |x floor" -A0 $OUT/alone_$1_$2.log | tail -12 | tee -a $OUT/all.log
  tail -4 $OUT/alone_$1_$2.log | tee -a $OUT/all.log
}
offline() {  # floor
  stamp "offline 1000, longest-first, floor $1"
  PACED_MIN=$1 BENCH_OUT=/tmp/off_$1 timeout 80 python3 $W bench/throughput.py --schedule-policy longest-first \
    --temperatures 0 > $OUT/offline_$1.log 2>&1
  tail -3 $OUT/offline_$1.log | tee -a $OUT/all.log
}
inf() {  # policy floor
  stamp "HTTP all at once x3: $1 floor $2"
  PACED_MIN=$2 timeout 120 python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf --seed 0 --label H200 \
    --launch "python3 $W -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy $1" \
    --out /tmp/serving_s32_$1_$2.json 2>&1 | grep "^  inf" | tee -a $OUT/all.log
}
for part in ${PARTS:-alone1 alone2 alone3 alone4 alone5 offline1 offline2 inf1 inf2}; do
  case $part in
    alone1) alone fcfs 256;; alone2) alone longest-first 256;; alone3) alone longest-first 160;;
    alone4) alone longest-first 192;; alone5) alone longest-first 128;;
    offline1) offline 256;; offline2) offline 160;;
    inf1) inf longest-first 160;; inf2) inf fcfs 256;; inf3) inf longest-first 128;;
  esac
done
mkdir -p $OUT/json; cp /tmp/alone_*/*.json /tmp/serving_s32_*.json $OUT/json/ 2>/dev/null
cd $OUT && tar czf alone_logs.tgz alone_*.log offline_*.log json && rm -rf json alone_*.log offline_*.log
stamp done
