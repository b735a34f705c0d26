#!/bin/bash
# Session 51, call 5: the offline run (bench/bridge.py offline, longest-first, greedy) before (OLD, carried as
# .before) and after is_token_id's fast path (NEW), new / old / new / old. LLM.generate checks the 199,305
# prompt tokens before its first step: ~75 ms by the CPU figure. Carry .whl and .before.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
ROOT=$(pwd)
MODEL=$(python3 -c "import sys; sys.path.insert(0, 'bench'); from common import config_dir, LLAMA3_8B; print(config_dir(LLAMA3_8B))")
for run in new1 old1 new2 old2; do
  path=$ROOT; commit=$NEW
  case $run in old*) path=$ROOT/.before; commit=$OLD;; esac
  SWIFTLLM_COMMIT=$commit PYTHONPATH=$path:/tmp/site timeout 75 python3 bench/bridge.py offline --model $MODEL \
    --llm-options '{"schedule_policy": "longest-first"}' --out $OUT/offline_$run.json > $OUT/$run.log 2>&1
  echo "$run ($commit): $(grep ^offline $OUT/$run.log) $(grep -o '"swiftllm": "[^"]*"' $OUT/offline_$run.json)" | tee -a $OUT/all.log
done
