#!/bin/bash
# Session 43: the device was scarce (each refused start cost 60-90 s of the 30-minute budget), so session 41's
# prepared call and session 40's prefetch A/B are merged into one call, in order of priority, each step
# guarded by the time left (585 s):
# 1. check_kernels --quick --model-only on the current tree (NEW): sessions 42-43 changed, unrun on a GPU, the
#    worker's -1 token resolution, Checkpoint's reader, the decode kernel's key loop through _tile (identical
#    sm_90 SASS) and config.json checks.
# 2. A fresh paced server (session 41's policy: first come first served order, longest-first's pacing of a
#    backlog): all 200 at once x2 (vLLM 4,499 output tok/s; the 1.2x target 5,399; fcfs in session 40:
#    5,150 / 5,164).
# 3. The prefetch A/B (ab_new/ = this tree at e041a65 + prefetch_exp_s40.diff; setup in device_call_s40_call2.sh):
#    bare decode steps at 1-256 rows, main / attn T=2 / attn T=4 / gemv K=1024 / both, then main again.
# 4. A fresh fcfs server, all at once x2 (same call, as the baseline of 2), if time is left.
# Run: NEW=<commit> bash bench/results/h200/device_call_s43_combined.sh, carry .whl. With less device time
# left: LIMIT=<seconds> SKIP_AB=1 (check_kernels, then paced and fcfs all at once, no A/B).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( ${LIMIT:-585} - ($(date +%s) - T0) )); }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
# serving.py compares with vLLM's H200 figures only under an H200 label (session 44 ran this on an H100)
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | awk '{print $2}')
stamp "check_kernels --quick --model-only"
BENCH_OUT=$OUT timeout 150 python3 bench/check_kernels.py --quick --model-only > $OUT/check_kernels.log 2>&1
tail -6 $OUT/check_kernels.log | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
serve() {  # policy seconds
  stamp "all at once x2, $1 server ($(left) s left)"
  timeout $2 python3 bench/serving.py --num-requests 200 --request-rates inf,inf --seed 0 --label $GPU \
    --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --schedule-policy $1 --port 8000" \
    --out $OUT/serving_s43_inf_$1.json > $OUT/serving_$1.log 2>&1
  grep -v "^\s*$" $OUT/serving_$1.log | grep -v "slowest TTFT" | tail -5 | tee -a $OUT/all.log
}
serve paced 130
B=1,8,32,64,128,256
ab() {  # dir label attn gemv
  if [ $(left) -gt 100 ]; then
    (cd $1 && SWIFTLLM_EXP_PREFETCH_ATTN=$3 SWIFTLLM_EXP_PREFETCH_GEMV=$4 PYTHONPATH=$1:/tmp/site timeout 60 \
      python3 $ROOT/bench/results/h200/step_ab_s35.py $2 $B decode 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
  fi
}
if [ -n "$SKIP_AB" ]; then serve fcfs $(( $(left) - 5 )); stamp done; exit; fi
stamp "prefetch A/B: warm-up compile (not timed)"
ab $ROOT warm-main 0 0
ab $ROOT/ab_new warm-new 2 1024
stamp "prefetch A/B"
ab $ROOT main 0 0
ab $ROOT/ab_new attn2 2 0
ab $ROOT/ab_new attn4 4 0
ab $ROOT/ab_new gemv1k 0 1024
ab $ROOT/ab_new a2g1k 2 1024
ab $ROOT main 0 0
if [ $(left) -gt 100 ]; then serve fcfs $(( $(left) - 5 )); fi
stamp done
