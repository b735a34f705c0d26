#!/bin/bash
# Device call 3 (session 8): kernels check, serving sweep with the JIT trace (expect no compile while serving),
# prefill/decode A/B of the alignment change (95b0cf3 in .before vs this tree).
C=$1; B=$2
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
mkdir -p /tmp/r/ck
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $LOG
stamp check_kernels --quick
PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/ck timeout 200 python3 bench/check_kernels.py --quick > /tmp/r/ck.log 2>&1; grep -A14 "^kernel " /tmp/r/ck.log | tee -a $LOG; tail -2 /tmp/r/ck.log | tee -a $LOG; cp /tmp/r/ck.log $OUT/check_kernels_quick_$C.log; cp /tmp/r/ck/check_kernels.json $OUT/check_kernels_quick_$C.json
stamp serving sweep, JIT traced
PYTHONPATH=.:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
LAUNCH="env TRACE_JIT=1 PYTHONPATH=.:/tmp/site:bench/trace_jit python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$C timeout 330 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf --seed 0 --label H200 --launch "$LAUNCH" --out /tmp/r/serving.json > /tmp/r/sv.log 2>&1
tail -24 /tmp/r/sv.log | tee -a $LOG
cp /tmp/r/serving.json $OUT/serving_H200_$C.json; cp /tmp/r/serving.png $OUT/serving_H200_$C.png; cp /tmp/r/serving_server.log $OUT/serving_server_$C.log
stamp "compiles: total, then after the server started serving"
grep -c "\[jit " /tmp/r/serving_server.log | tee -a $LOG
awk '/SwiftLLM serving/{s=1} s && /\[jit /' /tmp/r/serving_server.log | cut -c1-300 | tee -a $LOG | wc -l | tee -a $LOG
stamp "A/B prefill attention kernel: before, after, before, after"
for tree in .before . .before .; do
  name=after; [ "$tree" = .before ] && name=before
  PYTHONPATH=$tree:/tmp/site timeout 60 python3 .run/ab_prefill.py $name 2>&1 | tail -4 | tee -a $LOG
done
stamp done
