#!/bin/bash
# Session 48 (the H200 kind gave H100s): sessions 47-48's controller changes end to end on a GPU, old tree and
# new alternated in one call on one machine (H100 figures are never compared with vLLM's H200 ones):
# 1. throughput.py --detokenize --worker-process, longest-first, greedy: the 1000-request file through the
#    engine with detokenizing (session 47 added a per-token text offset and the last token's flush; session 48
#    a flush for stop tokens), old / new / new / old;
# 2. serving.py, 200 requests all at once, twice on one fresh first come first served server a tree,
#    old then new (the REST path's per-token work at 200 streams).
# Run: NEW=<literal commit> BEFORE=c6cd125 bash bench/results/h100/device_call_s48_h100.sh, carry .whl and .before
# (rm -rf .before && mkdir .before && git archive c6cd125 | tar -x -C .before).
nvidia-smi --query-gpu=name --format=csv,noheader | grep -qE "H100|H200" || { echo "no H100/H200: nothing run"; exit 0; }
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
PYTHONPATH=$ROOT:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
mkdir -p $OUT/logs
for t in "$ROOT/.before $BEFORE" "$ROOT $NEW" "$ROOT $NEW" "$ROOT/.before $BEFORE"; do set -- $t
  stamp "offline 1000, longest-first, detokenized, worker process, $2"
  (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/$2_$RANDOM timeout 105 python3 bench/throughput.py \
    --schedule-policy longest-first --temperatures 0 --detokenize --worker-process > $OUT/logs/offline_$2_$RANDOM.log 2>&1; \
    ls $OUT/logs/offline_$2_* | tail -1 | xargs tail -2 | sed "s/^/$2 /" | tee -a $OUT/all.log)
done
for t in "$ROOT/.before $BEFORE" "$ROOT $NEW"; do set -- $t
  stamp "all 200 at once x2, fcfs server, $2"
  (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 timeout 90 python3 bench/serving.py --num-requests 200 \
    --request-rates inf,inf --seed 0 --label H100 --launch "python3 -m swiftllm.launch.cli launch --model \
    /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
    --out $OUT/serving_inf_fcfs_$2.json > $OUT/logs/serving_$2.log 2>&1; \
    grep -v "^\s*$" $OUT/logs/serving_$2.log | grep -v "slowest TTFT" | tail -4 | sed "s/^/$2 /" | tee -a $OUT/all.log)
done
rm -f $OUT/*.png $OUT/*/*.png
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
