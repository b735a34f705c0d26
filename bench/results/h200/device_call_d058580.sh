#!/bin/bash
# Session 11, call 4: one warm-up stream ($1, in .) vs cb4969a (.before): init_cache memory; whole-model check;
# then the full serving sweep of issue 16 on $1.
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
  PYTHONPATH=$tree:$tree/bench:/tmp/site timeout 60 python3 .run/graph_mem.py 131072 2>&1 | grep -v capturing | tail -1 | tee -a $LOG
done
stamp check_kernels --quick --model-only $C
PYTHONPATH=.:/tmp/site timeout 90 python3 bench/check_kernels.py --quick --model-only > /tmp/r/ck.log 2>&1; grep -v "capturing\|Loading\|Writing" /tmp/r/ck.log | tail -6 | tee -a $LOG
stamp serving sweep $C
export PYTHONPATH=.:/tmp/site
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=$C timeout 380 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf --seed 0 --label H200 --launch "$LAUNCH" --out /tmp/r/serving.json > /tmp/r/sv.log 2>&1
cp /tmp/r/serving.json $OUT/serving_H200_$C.json; cp /tmp/r/serving.png $OUT/serving_H200_$C.png; cp /tmp/r/serving_server.log $OUT/serving_server_$C.log
grep -m3 "healthy\|serving llama" /tmp/r/serving_server.log | tee -a $LOG
tail -22 /tmp/r/sv.log | tee -a $LOG
stamp done
