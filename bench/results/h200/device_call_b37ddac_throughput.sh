#!/bin/bash
# Session 11, call 6: offline throughput, piecewise graphs to 2,048 ($1, in .) then cb4969a (.before).
C=$1; B=$2
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
mkdir -p /tmp/r
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $LOG
for tree in . .before ; do
  name=$C; [ "$tree" = .before ] && name=$B
  stamp throughput $name
  mkdir -p /tmp/r/tp_$name
  (cd $tree && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$name BENCH_OUT=/tmp/r/tp_$name timeout 110 python3 bench/throughput.py > /tmp/r/tp.log 2>&1; grep -v capturing /tmp/r/tp.log | tail -16 | tee -a $LOG)
  cp /tmp/r/tp_$name/throughput.json $OUT/throughput_${name}.json
done
stamp done
