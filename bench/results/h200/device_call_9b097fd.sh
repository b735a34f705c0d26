#!/bin/bash
# Device call 4 (session 9): one logits buffer for all decode graphs ($1) vs 1fa70e1 (.before, graphs keep
# their own logits): memory beyond the KV cache at max_model_len 131072, whole-model check, decode at 1 and 256.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
mkdir -p /tmp/r
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $LOG
for tree in . .before . .before; do
  name=$C; [ "$tree" = .before ] && name=1fa70e1
  stamp graph memory $name
  PYTHONPATH=$tree:$tree/bench:/tmp/site timeout 90 python3 .run/graph_mem.py 131072 2>&1 | grep -v capturing | tail -2 | tee -a $LOG
done
stamp check_kernels --model-only $C
PYTHONPATH=.:/tmp/site timeout 120 python3 bench/check_kernels.py --quick --model-only > /tmp/r/ck.log 2>&1; grep -v capturing /tmp/r/ck.log | tail -8 | tee -a $LOG
for tree in .before . ; do
  name=$C; [ "$tree" = .before ] && name=1fa70e1
  stamp latency $name
  mkdir -p /tmp/r/lat_$name
  (cd $tree && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$name BENCH_OUT=/tmp/r/lat_$name timeout 100 python3 bench/latency.py --temperature 0 --batches 1,256 --max-model-len 131072 > /tmp/r/lat.log 2>&1; grep -v capturing /tmp/r/lat.log | tail -5 | tee -a $LOG)
  cp /tmp/r/lat_$name/*.json $OUT/latency_${name}_1_256.json 2>/dev/null
done
stamp done
