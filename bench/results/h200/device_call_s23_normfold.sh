#!/bin/bash
# Session 23, call 2: the norm fold (branch norm-fold: RMSNorm in the GEMV that reads it, residual add in the
# projection that writes it, norm weights folded into qkv / gate_up) against main (67413f2), in one call.
# carry: .whl, .head (git archive 67413f2 swiftllm bench), .nf (norm-fold's working tree: swiftllm, bench),
# .run (this file, step_ab.py = step_ab_s23.py). Run as: bash .run/device_call_s23_normfold.sh
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 585 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
B=1,2,4,8,16,32,64,128
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 90 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .head head; ab .nf normfold; done
stamp "check_kernels --quick on .nf (every kernel, the GEMV's norm and residual forms, both models)"
(cd .nf && BENCH_OUT=/tmp/ck PYTHONPATH=.:/tmp/site timeout 170 python3 bench/check_kernels.py --quick 2>&1 | grep -i "gemv\|rmsnorm\|model \|by phase\|ALL OK\|FAIL\|Error\|kernel " | tee -a $OUT/all.log)
cp /tmp/ck/*.json $OUT/check_kernels.nf.json 2>/dev/null
for t in .head .nf; do
  stamp "latency.py --temperature 0 --batches 1,8,32,128 on $t"
  (cd $t && BENCH_OUT=/tmp/lat$t SWIFTLLM_COMMIT=${t#.} PYTHONPATH=.:/tmp/site timeout $(( $(left) > 110 ? 110 : $(left) )) python3 bench/latency.py --temperature 0 --batches 1,8,32,128 2>&1 | grep -v capturing | tail -7 | tee -a $OUT/all.log)
  cp /tmp/lat$t/*.json $OUT/latency$t.json 2>/dev/null
done
(cd .head && PYTHONPATH=.:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null)
for t in .nf .head; do
  if [ $(left) -gt 50 ]; then
    stamp "serving.py: all 200 requests at once on $t"
    (cd $t && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=${t#.} timeout $(( $(left) - 5 )) python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200$t \
      --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
      --out /tmp/serving$t.json 2>&1 | tail -14 | grep "rate inf\|  inf" | tee -a $OUT/all.log)
  fi
done
stamp done
kill $SMI
