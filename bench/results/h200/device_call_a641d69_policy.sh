#!/bin/bash
# Session 13, call 2: a 256-token mixed step kernel by kernel; offline longest-first at floors 256 (default), 384, 512;
# all 200 at once served, fcfs against longest-first.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .clean
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
mkdir -p /tmp/r
stamp profile_step mixed 127 decode rows at context 430 + one 129-token chunk
timeout 150 python3 bench/profile_step.py --batches 127 --context 430 --prefill-chunks 1x129 > /tmp/r/prof.log 2>&1
grep -v capturing /tmp/r/prof.log | tail -40 | tee -a $OUT/all.log
run() {  # name, floor, extra args
  local name=$1 floor=$2; shift 2
  stamp "throughput $name (floor $floor) $*"
  mkdir -p /tmp/r/$name
  SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/$name timeout 170 python3 -c "
import runpy, sys
import swiftllm.controller.scheduler as scheduler
scheduler.PACED_MIN_TOKENS = $floor
sys.path.insert(0, 'bench'); sys.argv = ['bench/throughput.py'] + sys.argv[1:]
runpy.run_path('bench/throughput.py', run_name='__main__')
" "$@" > /tmp/r/$name.log 2>&1
  grep -v capturing /tmp/r/$name.log | tail -12 | tee -a $OUT/all.log
  cp /tmp/r/$name/*.json $OUT/throughput_${name}_$C.json 2>/dev/null
}
run longest-first 256 --schedule-policy longest-first
run longest-first-floor384 384 --schedule-policy longest-first --temperatures 0
run longest-first-floor512 512 --schedule-policy longest-first --temperatures 0
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
for policy in fcfs longest-first; do
  stamp serving inf $policy
  LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy $policy"
  SWIFTLLM_COMMIT=$C timeout 140 python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "$LAUNCH" --out /tmp/r/sv_$policy.json > /tmp/r/sv.log 2>&1
  tail -14 /tmp/r/sv.log | tee -a $OUT/all.log
  cp /tmp/r/sv_$policy.json $OUT/serving_H200_${C}_inf_$policy.json
  cp /tmp/r/sv_${policy}_server.log $OUT/serving_server_${C}_inf_$policy.log 2>/dev/null
done
stamp done
