#!/bin/bash
# Session 11, call 3: piecewise graphs up to 2,048 tokens ($1, in .) against 512 ($2, in .before):
# eager/piecewise step host and GPU time, init_cache memory and time, the whole-model check, served first tokens.
C=$1; B=$2
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
mkdir -p /tmp/r
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $LOG
for tree in .before . ; do
  name=$C; [ "$tree" = .before ] && name=$B
  stamp graph memory $name
  PYTHONPATH=$tree:$tree/bench:/tmp/site timeout 90 python3 .run/graph_mem.py 131072 2>&1 | grep -v capturing | tail -1 | tee -a $LOG
  stamp eager_step $name
  mkdir -p /tmp/r/es_$name
  (cd $tree && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$name BENCH_OUT=/tmp/r/es_$name timeout 120 python3 bench/eager_step.py > /tmp/r/es_$name.log 2>&1)
  grep -v -i "capturing\|warn" /tmp/r/es_$name.log | tail -11 | tee -a $LOG
  cp /tmp/r/es_$name/eager_step.json $OUT/eager_step_$name.json 2>/dev/null
done
stamp check_kernels --quick --model-only $C
PYTHONPATH=.:/tmp/site timeout 120 python3 bench/check_kernels.py --quick --model-only > /tmp/r/ck.log 2>&1; grep -v "capturing\|Loading" /tmp/r/ck.log | tail -8 | tee -a $LOG
for tree in .before . ; do
  name=$C; [ "$tree" = .before ] && name=$B
  stamp host_share $name
  mkdir -p $OUT/hs_$name
  (cd $tree && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$name timeout 170 python3 bench/host_share.py --gpu --request-rates 2,16 --num-requests 100 --out $OUT/hs_$name 2>&1 | tail -9 | tee -a $LOG)
done
stamp done
