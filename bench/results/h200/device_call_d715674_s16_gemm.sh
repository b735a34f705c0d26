#!/bin/bash
# Session 16, call 1 at $1 (.after = HEAD + bench/streamk_gemm.py): cuBLAS modes and a stream-K Triton GEMM at
# 128 and 256 rows; check_kernels on the model; offline longest-first greedy.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r/sk /tmp/r/cb /tmp/r/lf
stamp "cublas_modes --rows 128,256"
BENCH_OUT=/tmp/r/cb timeout 150 python3 bench/cublas_modes.py --rows 128,256 > /tmp/r/cb.log 2>&1
tail -45 /tmp/r/cb.log | tee -a $OUT/all.log
cp /tmp/r/cb/*.json $OUT/ 2>/dev/null
stamp "streamk_gemm --rows 128,256"
BENCH_OUT=/tmp/r/sk timeout 200 python3 bench/streamk_gemm.py --rows 128,256 > /tmp/r/sk.log 2>&1
grep -i "fail\|error" /tmp/r/sk.log | head -5 | tee -a $OUT/all.log
tail -75 /tmp/r/sk.log | tee -a $OUT/all.log
cp /tmp/r/sk/*.json $OUT/ 2>/dev/null
stamp "check_kernels --quick --model-only at $C"
timeout 130 python3 bench/check_kernels.py --quick --model-only > /tmp/r/check.log 2>&1
grep -v capturing /tmp/r/check.log | grep -v "Loading\|Writing" | tail -8 | tee -a $OUT/all.log
stamp "throughput lf greedy at $C"
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lf timeout 120 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 > /tmp/r/lf.log 2>&1
grep -v capturing /tmp/r/lf.log | tail -14 | tee -a $OUT/all.log
cp /tmp/r/lf/*.json $OUT/throughput_lf_$C.json 2>/dev/null
stamp done
