#!/bin/bash
# Prepared in session 53 for the next H200 (not yet run): verify and time FUSED_ROTARY_MAX_ROWS = 128 (decode-only
# steps of 129+ rows run rotary_store_kv, then decode attention; session 53's A/B of the same path by a patch:
# bench/results/h200/decode_kernels_ab_s53_99c73b4). Two parts, one device call each, on one warm machine:
# PART=1:
#   1. check_kernels --quick --model-only on NEW as shipped (ALL OK expected, ~70 s);
#   2. the same with FUSED_ROTARY_MAX_ROWS = 1 set before the graphs are captured, so that the model check's
#      3-row decode graphs run the unfused path that 129+ rows now take (its model check decodes 3 rows only);
#   3. latency.py --temperature 0 --batches 160,256: BEFORE (99c73b4, the fusion at every batch), then NEW.
# PART=2: latency.py the same, NEW then BEFORE (the second round, in the other order), then, if time is left,
#   bridge.py decode --batches 256 for 74a2896 and NEW (vLLM / ours bridged at 256 rows).
# PART=3 (if the budget allows): is the split worth taking lower? patched_latency_s52.py at 96 and 128 rows, the tree
#   as shipped against rotary_unfused_from=65, two rounds (~4 x 70 s).
# PART=4: offline (throughput.py longest-first, greedy), BEFORE / NEW / NEW / BEFORE (~4 x 60 s; .before carries
#   bench/*.py and bench/sharegpt_like_1000.json, which throughput.py reads).
# PART=5 (session 54): only the bridge at 256 rows, 74a2896 / NEW / NEW / 74a2896, starting a run only before
#   STOP_AFTER seconds (300); `bridge.py compare` for each round. Carry .whl and .reference.
# Run: NEW=<literal commit> PART=1 bash bench/results/h200/device_call_s53_verify.sh, carry .whl, .before
# (rm -rf .before && mkdir .before && git archive 99c73b4 swiftllm bench/*.py bench/sharegpt_like_1000.json | tar -x -C .before) and, for PART=2,
# .reference (git archive 74a2896 swiftllm).
# ANY_CARD=1 runs it on another card too: check_kernels' verdict holds on any sm_90, and before / after timed in one
# call are a valid A/B there (session 52-53's H100 and H200 ranked the fusion differently, so an H100's timing is
# that chip's answer only)
if [ -z "$ANY_CARD" ]; then
  nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { nvidia-smi --query-gpu=name --format=csv,noheader; echo "not an H200: nothing run"; exit 3; }
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
latency() {  # latency TREE_DIR COMMIT
  stamp "latency.py --batches 160,256, $2"
  (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/latency_$2_$RANDOM timeout 200 python3 \
    bench/latency.py --temperature 0 --batches 160,256 2>&1 | grep -E "^N=|^ +(160|256) " | sed "s/^/$2 /" \
    | tee -a $OUT/all.log)
}
if [ "$PART" = 5 ]; then  # session 54: the bridge alone at 256 rows, 74a2896 / NEW / NEW / 74a2896 while time is left
  MODEL=$(python3 -c "import sys; sys.path.insert(0, 'bench'); from common import config_dir, LLAMA3_8B; print(config_dir(LLAMA3_8B))")
  for t in "$ROOT/.reference 74a2896 1" "$ROOT $NEW 1" "$ROOT $NEW 2" "$ROOT/.reference 74a2896 2"; do set -- $t
    [ $(( $(date +%s) - T0 )) -lt ${STOP_AFTER:-300} ] || break
    stamp "bridge.py decode --batches 256, $2, round $3"
    SWIFTLLM_COMMIT=$2 PYTHONPATH=$1:/tmp/site timeout 110 python3 bench/bridge.py decode --batches 256 \
      --model $MODEL --label $2 --out $OUT/bridge_decode_$2_256_$3.json 2>&1 | grep "^N=" | sed "s/^/$2 /" \
      | tee -a $OUT/all.log
  done
  for r in 1 2; do
    [ -f $OUT/bridge_decode_74a2896_256_$r.json ] && [ -f $OUT/bridge_decode_${NEW}_256_$r.json ] && \
      python3 bench/bridge.py compare $OUT/bridge_decode_74a2896_256_$r.json $OUT/bridge_decode_${NEW}_256_$r.json \
      2>&1 | tee -a $OUT/all.log
  done
elif [ "$PART" = 4 ]; then  # offline: decode-only steps of 129-256 rows are most of its steps
  for t in "$ROOT/.before 99c73b4" "$ROOT $NEW" "$ROOT $NEW" "$ROOT/.before 99c73b4"; do set -- $t
    stamp "throughput.py longest-first, greedy, $2"
    (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/offline_$2_$RANDOM timeout 110 python3 \
      bench/throughput.py --schedule-policy longest-first --temperatures 0 2>&1 | tail -3 | sed "s/^/$2 /" \
      | tee -a $OUT/all.log)
  done
elif [ "$PART" = 3 ]; then  # where the split pays: unfused from 65 rows against the shipped 129, at 96 and 128 rows
  export PYTHONPATH=$ROOT:/tmp/site
  for round in 1 2; do
    for patch in none rotary_unfused_from=65; do
      name=${patch%%=*}_$round
      stamp "patched_latency_s52.py $patch --batches 96,128 ($NEW), round $round"
      timeout 110 python3 bench/results/h200/patched_latency_s52.py $patch --temperature 0 --batches 96,128 \
        > $OUT/$name.log 2>&1
      grep -A2 "  N  ms/step" $OUT/$name.log | tail -2 | sed "s/^/$patch /" | tee -a $OUT/all.log
    done
  done
elif [ "$PART" = 1 ]; then
  stamp "check_kernels --quick --model-only ($NEW)"
  PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW BENCH_OUT=$OUT/ck timeout 150 python3 bench/check_kernels.py \
    --quick --model-only > $OUT/check_kernels.log 2>&1
  tail -4 $OUT/check_kernels.log | tee -a $OUT/all.log
  stamp "check_kernels --quick --model-only ($NEW, FUSED_ROTARY_MAX_ROWS = 1)"
  PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW BENCH_OUT=$OUT/ck1 timeout 150 python3 -c "
import runpy, sys
import swiftllm.worker.backend_triton as backend
backend.FUSED_ROTARY_MAX_ROWS = 1
sys.argv = ['check_kernels.py', '--quick', '--model-only']
sys.path.insert(0, 'bench')
runpy.run_path('bench/check_kernels.py', run_name='__main__')
" > $OUT/check_kernels_unfused.log 2>&1
  tail -4 $OUT/check_kernels_unfused.log | tee -a $OUT/all.log
  latency $ROOT/.before 99c73b4
  latency $ROOT $NEW
else
  latency $ROOT $NEW
  latency $ROOT/.before 99c73b4
  MODEL=$(python3 -c "import sys; sys.path.insert(0, 'bench'); from common import config_dir, LLAMA3_8B; print(config_dir(LLAMA3_8B))")
  for t in "$ROOT/.reference 74a2896" "$ROOT $NEW"; do set -- $t
    [ $(( $(date +%s) - T0 )) -lt 420 ] || break
    stamp "bridge.py decode --batches 256, $2"
    SWIFTLLM_COMMIT=$2 PYTHONPATH=$1:/tmp/site timeout 100 python3 bench/bridge.py decode --batches 256 \
      --model $MODEL --label $2 --out $OUT/bridge_decode_$2_256.json 2>&1 | grep "^N=" | sed "s/^/$2 /" \
      | tee -a $OUT/all.log
  done
fi
rm -f $OUT/*.png $OUT/*/*.png
stamp done
