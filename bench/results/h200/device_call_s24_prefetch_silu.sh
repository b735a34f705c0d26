#!/bin/bash
# Session 24, call 1: three trees A/B. .head = main (db9582c); .pfa = main + l2_prefetch_attention_lost_s24.diff;
# .sd = main with the SiLU-fused down GEMV at 2-32 rows (backend_triton.silu_mul_linear: x.shape[0] <= GEMV_MAX_ROWS
# instead of == 1). Trees: git archive db9582c swiftllm bench into each; .run/step_ab.py = step_ab_s23.py.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 580 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
B=1,2,4,8,16,32,64
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 80 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .head head; ab .pfa pf-attn; ab .sd silu-dn; done
for t in .pfa .sd; do
  stamp "check_kernels --quick on $t"
  (cd $t && BENCH_OUT=/tmp/ck$t PYTHONPATH=.:/tmp/site timeout 130 python3 bench/check_kernels.py --quick 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|kernel \|^gemv\|^decode" | tee -a $OUT/all.log)
  cp /tmp/ck$t/*.json $OUT/check_kernels$t.json 2>/dev/null
done
for t in .head .pfa .sd; do
  if [ $(left) -gt 50 ]; then
    stamp "latency.py --temperature 0 --batches 1,8,32 on $t"
    (cd $t && BENCH_OUT=/tmp/lat$t SWIFTLLM_COMMIT=${t#.} PYTHONPATH=.:/tmp/site timeout $(( $(left) > 70 ? 70 : $(left) )) python3 bench/latency.py --temperature 0 --batches 1,8,32 2>&1 | grep -v capturing | tail -5 | tee -a $OUT/all.log)
    cp /tmp/lat$t/*.json $OUT/latency$t.json 2>/dev/null
  fi
done
stamp done
kill $SMI
