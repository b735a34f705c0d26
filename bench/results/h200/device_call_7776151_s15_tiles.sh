#!/bin/bash
# Session 15, call 1 at $1: decode attention's tile knobs at a mixed step's decode rows and at latency.py's
# context; then the real run's context mix (throughput.py --profile-steps).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
TILES=64x4x3,64x4x2,64x8x2,64x8x3,32x4x3,32x4x4,32x4x2,32x2x3,32x2x4,16x4x4,16x2x4,128x8x2,128x4x2
for SP in 0 0.6 1.0; do
  stamp "decode_sweep 154 rows, mean context 451, spread $SP"
  mkdir -p /tmp/r/ds$SP
  BENCH_OUT=/tmp/r/ds$SP SWIFTLLM_COMMIT=$C timeout 150 python3 bench/decode_sweep.py --batches 154 --context 451 --spread $SP --tiles $TILES > /tmp/r/ds$SP.log 2>&1
  grep -v Warn /tmp/r/ds$SP.log | tail -24 | tee -a $OUT/all.log
  cp /tmp/r/ds$SP/*.json $OUT/decode_sweep_154x451_s${SP}_$C.json 2>/dev/null
done
stamp "decode_sweep 8,32,128,256 rows at 1088"
mkdir -p /tmp/r/dsl
BENCH_OUT=/tmp/r/dsl SWIFTLLM_COMMIT=$C timeout 200 python3 bench/decode_sweep.py --batches 8,32,128,256 --context 1088 --tiles $TILES > /tmp/r/dsl.log 2>&1
grep -v Warn /tmp/r/dsl.log | tail -40 | tee -a $OUT/all.log
cp /tmp/r/dsl/*.json $OUT/decode_sweep_1088_$C.json 2>/dev/null
stamp "throughput lf, steps 700-719 profiled (diagnostic, not timed)"
mkdir -p /tmp/r/lfprof
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lfprof timeout 170 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 --profile-steps 700:720 > /tmp/r/lfprof.log 2>&1
grep -v capturing /tmp/r/lfprof.log | grep -v Warn | grep -A45 "under torch.profiler" | head -40 | tee -a $OUT/all.log
stamp done
