#!/bin/bash
# Session 25, call 1: 1) Inductor max-autotune (Triton mm templates incl. persistent TMA, and cuBLAS) on the
# projections at 128 and 256 rows; 2) latency.py at every N at HEAD 4a2e9cf.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd)/.head:/tmp/site SWIFTLLM_COMMIT=4a2e9cf
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
cd .head
for R in 128 256; do
  stamp "gemm_autotune_exp_s25.py rows $R"
  M=o,qkv,down,gate_up; [ $R = 256 ] && M=o,down
  timeout 150 python3 bench/gemm_autotune_exp_s25.py --rows $R --matrices $M --out $OUT/gemm_autotune_$R.json > /tmp/ga$R.log 2>&1
  grep -A7 "AUTOTUNE\|^--- " /tmp/ga$R.log | head -90 >> $OUT/autotune_tables.log
  grep '"matrix"\|Error\|error' /tmp/ga$R.log | tail -6 | tee -a $OUT/all.log
  tail -3 /tmp/ga$R.log > $OUT/ga_tail_$R.log
done
stamp "latency.py --temperature 0 at 4a2e9cf"
BENCH_OUT=/tmp/lat timeout 210 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
stamp done
kill $SMI
