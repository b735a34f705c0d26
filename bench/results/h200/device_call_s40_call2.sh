#!/bin/bash
# Session 40, call 2, NOT RUN (fourteen tries found no machine, then none was lent for the rest of the session): L2
# prefetches issued before the PDL wait, A/B against main in one call. Prepare ab_new/ in the checkout first:
#   mkdir ab_new && git archive HEAD swiftllm bench | tar -x -C ab_new && patch -d ab_new -p1 < bench/results/h200/prefetch_exp_s40.diff
# ab_new reads two knobs:
#   SWIFTLLM_EXP_PREFETCH_ATTN=T  decode attention prefetches its chunk's first T tiles of K and V into the L2
#                                 (cp.async.bulk.prefetch.L2, one 4 KB page a thread) before its PDL wait; with
#                                 T=0 the kernel still reads the context length and its chunk before the wait
#   SWIFTLLM_EXP_PREFETCH_GEMV=K  the GEMV at 2-128 rows prefetches its weight rows' first K columns before its wait
# step_ab_s35.py decode-only (CUDA graphs as the engine pipelines them, context 1088, median of 5) at
# 1 / 8 / 32 / 64 / 128 / 256 rows; two rounds, the second in reverse order.
# Run: bash <this>, carry .whl (~6 min; compiled for sm_90 on the CPU in session 40, never run on a GPU).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 430 - ($(date +%s) - T0) )); }
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
V=("$ROOT main 0 0" "$ROOT/ab_new attn2 2 0" "$ROOT/ab_new attn4 4 0" "$ROOT/ab_new gemv1k 0 1024" \
   "$ROOT/ab_new a2g1k 2 1024")
for i in 0 1 2 3 4; do ab ${V[$i]}; done
for i in 4 3 2 1 0; do ab ${V[$i]}; done
[ $(left) -gt 60 ] && stamp "check_kernels --quick --model-only on ab_new with attn 2, gemv 1024 ($(left) s left)"
(cd $ROOT/ab_new && SWIFTLLM_EXP_PREFETCH_ATTN=2 SWIFTLLM_EXP_PREFETCH_GEMV=1024 PYTHONPATH=$ROOT/ab_new:/tmp/site BENCH_OUT=$OUT \
  timeout $(( $(left) - 5 )) python3 bench/check_kernels.py --quick --model-only > $OUT/check_kernels.log 2>&1)
tail -6 $OUT/check_kernels.log | tee -a $OUT/all.log
stamp done
