#!/bin/bash
# Session 26, call 1 (.head = 9d602a4): 1) split-K o/down experiment (bench/results/h200/splitk_gemv_exp_s26.py);
# 2) check_kernels --quick at HEAD (first GPU run of gemv.tiles_fit); 3) offline longest-first at temperatures 0
# and 1.0 on this one machine. (check_kernels hit its 130 s timeout here and printed nothing: not verified.)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd)/.head:/tmp/site SWIFTLLM_COMMIT=9d602a4
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 560 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
cd .head
stamp "splitk_gemv_exp_s26.py"
timeout 150 python3 bench/splitk_gemv_exp_s26.py --out $OUT/splitk_gemv_exp_s26.json 2>&1 | grep -v "^\s*$" | tail -12 | tee -a $OUT/all.log
stamp "check_kernels --quick at 9d602a4"
BENCH_OUT=/tmp/ck timeout 130 python3 bench/check_kernels.py --quick 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|gated" | tee -a $OUT/all.log
cp /tmp/ck/*.json $OUT/check_kernels.json 2>/dev/null
for T in 0 1; do
  if [ $(left) -gt 60 ]; then
    stamp "throughput.py --schedule-policy longest-first --temperatures $T at 9d602a4"
    BENCH_OUT=/tmp/tp$T timeout $(left) python3 bench/throughput.py --schedule-policy longest-first --temperatures $T 2>&1 | grep -v capturing | tail -12 | tee -a $OUT/all.log
    cp /tmp/tp$T/*.json $OUT/throughput_t$T.json 2>/dev/null
  fi
done
stamp done
kill $SMI
