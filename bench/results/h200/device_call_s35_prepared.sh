#!/bin/bash
# Prepared in session 34, NOT RUN (no device time left). Run: bash bench/results/h200/device_call_s35_prepared.sh,
# carry .whl. 1) check_kernels --quick: o's split-K bmm route at 33-256 rows (session 34's change) at real shapes
# against float64, and the whole model against HF; 2) decode attention at the all-at-once run's paced mixed step
# (72 decode rows, contexts log-normal around 364, sigma 0.77) and offline's (127 around 438): every split count
# and the mixed graphs' 128x4x2 tiles against the default 64x4x3 and two others. Session 34's profile put decode
# attention in the 160-token mixed step at 1.59x its K/V floor (profile_step_mixed160_s34.json); 576 programs
# at 3 an SM (128x4x2) are 1.45 waves, at 4 an SM (64x4x3) 1.09.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "check_kernels --quick"
BENCH_OUT=$OUT timeout 240 python3 bench/check_kernels.py --quick > /tmp/ck.log 2>&1
grep -i "split_k_matmul\|ALL OK\|FAIL\|Error\|worst" /tmp/ck.log | tail -14 | tee -a $OUT/all.log
for shape in "72 364" "127 438"; do
  set -- $shape
  stamp "decode_sweep --batches $1 --context $2 --spread 0.77"
  BENCH_OUT=$OUT/sweep_$1 timeout 120 python3 bench/decode_sweep.py --batches $1 --context $2 --spread 0.77 \
    --tiles 64x4x3,128x4x2,64x4x2,32x4x3 2>&1 | tail -14 | tee -a $OUT/all.log
done
stamp done
