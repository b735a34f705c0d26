#!/bin/bash
# Session 48, call 2: call 1 measured the controller's CPU per step at 1.3 ms (c6cd125) against 1.6 (new) all at
# once, each tree on its own server, old first: order and tree confounded. Here four fresh fcfs servers, old /
# new / new / old, one burst of 200 at once each (throughput was level in call 1).
# Run: NEW=<literal commit> BEFORE=c6cd125 bash bench/results/h100/device_call_s48_h100_call2.sh, carry .whl, .before
nvidia-smi --query-gpu=name --format=csv,noheader | grep -qE "H100|H200" || { echo "no H100/H200: nothing run"; exit 0; }
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
PYTHONPATH=$ROOT:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
mkdir -p $OUT/logs
i=0
for t in "$ROOT/.before $BEFORE" "$ROOT $NEW" "$ROOT $NEW" "$ROOT/.before $BEFORE"; do set -- $t; i=$((i+1))
  stamp "all 200 at once, fresh fcfs server, $2"
  (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 timeout 100 python3 bench/serving.py --num-requests 200 \
    --request-rates inf --seed 0 --label H100 --launch "python3 -m swiftllm.launch.cli launch --model \
    /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
    --out $OUT/serving_inf_fcfs_${i}_$2.json > $OUT/logs/serving_${i}_$2.log 2>&1; \
    grep -E "^ +inf " $OUT/logs/serving_${i}_$2.log | sed "s/^/$2 /" | tee -a $OUT/all.log)
done
rm -f $OUT/*.png
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
