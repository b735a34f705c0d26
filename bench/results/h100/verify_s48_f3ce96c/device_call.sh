#!/bin/bash
# Prepared in session 47 (no GPU was lent) for the next H200, to run BEFORE device_call_s47.sh: session 47's
# worker-side trims ran on the CPU only (the Triton interpreter and the torch backend):
#   metadata.token_places (each new token's row and position, now shared by AttentionMetadata.build and the
#   CUDA graphs' staging, graph_inputs.stage_step), load_weights' stacked qkv / gate_up, the gated GEMV's row
#   limit, silu_and_mul's launch (formatting only).
# 1. check_kernels --quick --model-only on the new tree (ALL OK expected; ~70 s on session 46's H200);
# 2. the decode step by latency.py at N = 1, 8, 256, old tree / new / new / old in one call (the staging's host
#    work changed by microseconds; the GPU step must not move).
# Run: NEW=<literal commit> BEFORE=c6cd125 bash bench/results/h200/device_call_s48_verify.sh, carry .whl and
# .before (made first here: rm -rf .before && mkdir .before && git archive c6cd125 | tar -x -C .before).
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "not an H200: nothing run"; exit 0; }
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "check_kernels --quick --model-only ($NEW)"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW BENCH_OUT=$OUT timeout 150 python3 bench/check_kernels.py \
  --quick --model-only > $OUT/check_kernels.log 2>&1
tail -6 $OUT/check_kernels.log | tee -a $OUT/all.log
for t in "$ROOT/.before $BEFORE" "$ROOT $NEW" "$ROOT $NEW" "$ROOT/.before $BEFORE"; do set -- $t
  stamp "latency.py --batches 1,8,256, $2"
  (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/$2_$RANDOM timeout 100 python3 bench/latency.py \
    --temperature 0 --batches 1,8,256 2>&1 | grep -E "^N=|^ +(1|8|256) " | sed "s/^/$2 /" | tee -a $OUT/all.log)
done
rm -f $OUT/*.png $OUT/*/*.png
stamp done
