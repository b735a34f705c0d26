#!/bin/bash
# Session 22, call 1: the rotary fusion (branch rotary-decode, f0cc659 = fc10614 + rotary_decode_untimed_s21.diff)
# against main (fc10614) in one call, and issue 16's decode and all-at-once figures of both trees.
# carry: .whl, .head (git archive fc10614 swiftllm bench), .rot (git archive f0cc659 swiftllm bench), .prof (.head +
# ceilings_warm_up_untimed_s21.diff), .run (this file, step_ab.py = step_ab_ef11845.py, ceil_ab.py = ceil_ab_s21.py)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 585 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
B=1,2,4,8,16,32,64
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 70 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step, ms, median of 5) at $B, interleaved twice"
for i in 1 2; do ab .head head; ab .rot rotary; done
stamp "check_kernels --quick --model-only on .rot (decode graphs run the fused kernel)"
(cd .rot && PYTHONPATH=.:/tmp/site timeout 100 python3 bench/check_kernels.py --quick --model-only 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error" | tee -a $OUT/all.log)
for t in .head .rot; do
  stamp "latency.py --temperature 0 (every N) on $t"
  (cd $t && BENCH_OUT=/tmp/lat$t SWIFTLLM_COMMIT=${t#.} PYTHONPATH=.:/tmp/site timeout 140 python3 bench/latency.py --temperature 0 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log)
  cp /tmp/lat$t/*.json $OUT/latency$t.json 2>/dev/null
done
(cd .head && PYTHONPATH=.:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null)
for t in .rot .head; do
  stamp "serving.py: all 200 requests at once on $t"
  (cd $t && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=${t#.} timeout 100 python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200$t \
    --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
    --out /tmp/serving$t.json 2>&1 | tail -14 | tee -a $OUT/all.log)
  cp /tmp/serving$t.json $OUT/serving$t.json 2>/dev/null
done
if [ $(left) -gt 70 ]; then
  stamp "throughput.py --schedule-policy longest-first --temperatures 0 on .rot"
  (cd .rot && BENCH_OUT=/tmp/tp SWIFTLLM_COMMIT=rot PYTHONPATH=.:/tmp/site timeout $(( $(left) - 5 )) python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 2>&1 | grep -v capturing | tail -12 | tee -a $OUT/all.log)
  cp /tmp/tp/*.json $OUT/throughput.rot.json 2>/dev/null
fi
stamp done
kill $SMI
