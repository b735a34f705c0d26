#!/bin/bash
# Device call 1 (session 9): graphs per table width (f1fb6c7) vs 19ce14a (.before).
# check_kernels --quick; latency at max_model_len 131072 before/after and 2048 after; serving 16,inf after/before.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
mkdir -p /tmp/r
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $LOG
stamp check_kernels --quick
PYTHONPATH=.:/tmp/site timeout 150 python3 bench/check_kernels.py --quick > /tmp/r/ck.log 2>&1; grep -v capturing /tmp/r/ck.log | tail -40 | tee -a $LOG
lat() {  # tree name maxlen
  stamp latency $2 max_model_len $3
  mkdir -p /tmp/r/lat_$2_$3
  (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/r/lat_$2_$3 timeout 110 python3 bench/latency.py --temperature 0 --batches 32,128,256 --max-model-len $3 > /tmp/r/lat.log 2>&1; grep -v capturing /tmp/r/lat.log | tail -6 | tee -a $LOG)
  cp /tmp/r/lat_$2_$3/*.json $OUT/latency_$2_$3.json 2>/dev/null
}
lat .before 19ce14a 131072
lat . $C 131072
lat . $C 2048
PYTHONPATH=.:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
for tree in . .before; do
  name=$C; [ "$tree" = .before ] && name=19ce14a
  stamp serving 16,inf $name
  LAUNCH="env TRACE_JIT=1 PYTHONPATH=.:/tmp/site:bench/trace_jit python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
  (cd $tree && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$name timeout 120 python3 bench/serving.py --num-requests 200 --request-rates 16,inf --seed 0 --label H200 --launch "$LAUNCH" --out /tmp/r/sv_$name.json > /tmp/r/sv.log 2>&1; tail -16 /tmp/r/sv.log | tee -a $LOG)
  cp /tmp/r/sv_$name.json $OUT/serving_H200_${name}_16_inf.json; cp /tmp/r/sv_${name}_server.log $OUT/serving_server_${name}_16_inf.log 2>/dev/null; cp /tmp/r/sv_$name.png $OUT/serving_H200_${name}_16_inf.png 2>/dev/null
  grep -m3 -i "capturing CUDA graphs: 100" /tmp/r/sv_${name}_server.log | tr '\r' '\n' | tail -1 | tee -a $LOG
  awk '/SwiftLLM serving/{s=1} s && /\[jit /' /tmp/r/sv_${name}_server.log | wc -l | sed 's/^/compiles while serving: /' | tee -a $LOG
done
stamp done
