#!/bin/bash
# Session 51: 74a2896 (the tree that vLLM 0.24's reference figures were timed beside, 2026-12-01) and this tree,
# timed by bench/bridge.py on one H200, so that vLLM / ours can be read free of the machine (bench/bridge.py).
# PART=1: offline, 74a2896 then this tree (longest-first), greedy; decode at 64-256 rows, 74a2896 then ours;
#         then 256 rows ours then 74a2896 if time is left.
# PART=2: the other order: decode at 1-32 rows, ours then 74a2896; offline ours then 74a2896; decode at 256
#         rows ours then 74a2896 if time is left.
# PART=3: a short budget's call: offline and 256 rows, 74a2896 then ours.
# PART=4: offline only, ours then 74a2896.
# Run: rm -rf .reference && mkdir .reference && git archive 74a2896 swiftllm | tar -x -C .reference
#      NEW=<commit> PART=1 bash bench/results/h200/device_call_s51.sh, carry .whl and .reference
# ANY_CARD=1 runs it on another card too (the trees' ratio there; nothing to bridge to vLLM's H200 figures)
if [ -z "$ANY_CARD" ]; then
  nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "not an H200: nothing run"; exit 0; }
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( ${LIMIT:-585} - ($(date +%s) - T0) )); }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
# MODEL and BRIDGE_EXTRA (appended to every run's flags) let a CPU dry run use a tiny model
MODEL=${MODEL:-$(python3 -c "import sys; sys.path.insert(0, 'bench'); from common import config_dir, LLAMA3_8B; print(config_dir(LLAMA3_8B))")}
mkdir -p $OUT/logs
# bridge TREE NAME MODE ARGS...: one bench/bridge.py run of the tree (ref: 74a2896, new: this checkout)
bridge() {
  local tree=$1 name=$2 mode=$3
  shift 3
  local path=$ROOT commit=$NEW
  if [ "$tree" = ref ]; then path=$ROOT/.reference; commit=74a2896; fi
  stamp "$name ($(left) s left)"
  SWIFTLLM_COMMIT=$commit PYTHONPATH=$path:/tmp/site timeout $(( $(left) - 5 )) python3 bench/bridge.py $mode \
    --model $MODEL --label $commit --out $OUT/$name.json "$@" $BRIDGE_EXTRA > $OUT/logs/$name.log 2>&1
  echo "  rc $? $(grep -c . $OUT/logs/$name.log) lines; $(grep '"swiftllm"' $OUT/$name.json)" | tee -a $OUT/all.log
  grep -E "^N=|^offline|Error|error" $OUT/logs/$name.log | tail -8 | tee -a $OUT/all.log
}
# compare_pairs "REF OURS" ...: bridge.py compare for each pair of runs whose files exist
compare_pairs() {
  for pair in "$@"; do
    set -- $pair
    [ -f $OUT/$2.json ] && PYTHONPATH=$ROOT:/tmp/site python3 bench/bridge.py compare $OUT/$1.json $OUT/$2.json \
      2>&1 | tee -a $OUT/all.log
  done
}
LF='{"schedule_policy": "longest-first"}'
if [ "$PART" = 4 ]; then  # offline only, ours first (session 52's call 5 ran this branch, from a copy)
  bridge new offline_new_lf offline --llm-options "$LF"
  bridge ref offline_ref offline
  compare_pairs "offline_ref offline_new_lf"
elif [ "$PART" = 3 ]; then  # a short budget: offline and 256 rows only, each tree once
  bridge ref offline_ref offline
  bridge new offline_new_lf offline --llm-options "$LF"
  bridge ref decode_ref_256 decode --batches 256
  bridge new decode_new_256 decode --batches 256
  compare_pairs "offline_ref offline_new_lf" "decode_ref_256 decode_new_256"
elif [ "$PART" = 1 ]; then
  bridge ref offline_ref offline
  bridge new offline_new_lf offline --llm-options "$LF"
  bridge ref decode_ref_big decode --batches 64,128,256
  bridge new decode_new_big decode --batches 64,128,256
  if [ $(left) -gt 150 ]; then  # the other order at 256 rows, whose t(1) carries ~6 s of prefill
    bridge new decode_new_256 decode --batches 256
    bridge ref decode_ref_256 decode --batches 256
  fi
  compare_pairs "offline_ref offline_new_lf" "decode_ref_big decode_new_big" "decode_ref_256 decode_new_256"
else
  bridge new decode_new_small decode --batches 1,8,32
  bridge ref decode_ref_small decode --batches 1,8,32
  bridge new offline_new_lf offline --llm-options "$LF"
  bridge ref offline_ref offline
  if [ $(left) -gt 150 ]; then
    bridge new decode_new_256 decode --batches 256
    bridge ref decode_ref_256 decode --batches 256
  fi
  compare_pairs "decode_ref_small decode_new_small" "offline_ref offline_new_lf" "decode_ref_256 decode_new_256"
fi
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
