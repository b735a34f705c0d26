#!/bin/bash
# Session 14, call 3 at $1 (mixed steps on whole graphs): offline longest-first at temperatures 0 and 1,
# then the serving sweep at 2/4/8/16/inf (first come first served, as vLLM's figures).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
stamp "throughput lf at $C"
mkdir -p /tmp/r/lf
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lf timeout 170 python3 bench/throughput.py --schedule-policy longest-first > /tmp/r/lf.log 2>&1
grep -v capturing /tmp/r/lf.log | tail -26 | tee -a $OUT/all.log
cp /tmp/r/lf/*.json $OUT/throughput_lf_$C.json 2>/dev/null
stamp "throughput lf at $C, steps 700-719 profiled, SM clock and power sampled (diagnostic, not timed)"
mkdir -p /tmp/r/lfprof
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv,noheader -lms 500 > $OUT/smi_lfprof.csv 2>&1 &
SMI=$!
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lfprof timeout 170 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 --profile-steps 700:720 > /tmp/r/lfprof.log 2>&1
kill $SMI
grep -v capturing /tmp/r/lfprof.log | grep -v Warn | grep -A40 "under torch.profiler" | head -30 | tee -a $OUT/all.log
grep "by tenth" /tmp/r/lfprof.log | tee -a $OUT/all.log
awk -F', ' '{split($2,a," "); split($3,b," "); c[a[1]]++; if (b[1] > 300) {p+=b[1]; n++}} END {for (k in c) print c[k], "samples at", k, "MHz"; if (n) print "mean power above 300 W:", p/n, "W over", n, "samples"}' $OUT/smi_lfprof.csv | sort -rn | head -10 | tee -a $OUT/all.log
stamp "profile_step, scattered blocks"
timeout 100 python3 bench/profile_step.py --batches 127 --context 430 --prefill-chunks 1x129 --scatter > /tmp/r/prof.log 2>&1
grep -v capturing /tmp/r/prof.log | grep -v Warn | head -16 | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
stamp serving sweep
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=$C timeout 360 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf --seed 0 --label H200 --launch "$LAUNCH" --out $OUT/serving_H200_${C}.json > /tmp/r/sv.log 2>&1
tail -30 /tmp/r/sv.log | tee -a $OUT/all.log
stamp done
