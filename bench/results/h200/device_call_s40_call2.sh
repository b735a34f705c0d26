#!/bin/bash
# Session 40, call 2: L2 prefetches issued before the PDL wait, A/B against main in one call.
# ab_new (git archive 1496de3 swiftllm bench, then bench/results/h200/prefetch_exp_s40.diff) reads two knobs:
#   SWIFTLLM_EXP_PREFETCH_ATTN=T  decode attention prefetches its chunk's first T tiles of K and V into the L2
#                                 (cp.async.bulk.prefetch.L2, one 4 KB page a thread) before its PDL wait; with
#                                 T=0 the kernel still reads the context length and its chunk before the wait
#   SWIFTLLM_EXP_PREFETCH_GEMV=K  the GEMV at 2-128 rows prefetches its weight rows' first K columns before its wait
# step_ab_s35.py decode-only (CUDA graphs as the engine pipelines them, context 1088, median of 5) at
# 1 / 8 / 32 / 64 / 128 / 256 rows; two rounds, the second in reverse order.
# Run: bash <this>, carry .whl, with ab_new/ in the checkout.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 470 - ($(date +%s) - T0) )); }
B=1,8,32,64,128,256
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
ab() {  # dir label attn gemv
  if [ $(left) -gt 30 ]; then
    (cd $1 && SWIFTLLM_EXP_PREFETCH_ATTN=$3 SWIFTLLM_EXP_PREFETCH_GEMV=$4 PYTHONPATH=$1:/tmp/site timeout 60 \
      python3 $ROOT/bench/results/h200/step_ab_s35.py $2 $B decode 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
  fi
}
stamp "warm-up compile (not timed)"
ab $ROOT warm-main 0 0
ab $ROOT/ab_new warm-new 2 1024
stamp "step A/B"
V=("$ROOT main 0 0" "$ROOT/ab_new late 0 0" "$ROOT/ab_new attn1 1 0" "$ROOT/ab_new attn2 2 0" \
   "$ROOT/ab_new gemv1k 0 1024" "$ROOT/ab_new gemv2k 0 2048" "$ROOT/ab_new a2g1k 2 1024")
for i in 0 1 2 3 4 5 6; do ab ${V[$i]}; done
for i in 6 5 4 3 2 1 0; do ab ${V[$i]}; done
stamp done
