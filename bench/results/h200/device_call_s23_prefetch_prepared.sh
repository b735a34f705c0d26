#!/bin/bash
# (Run by session 24 as part of device_call_s24_prefetch_silu.sh: the prefetch lost. Its diff was renamed to l2_prefetch_attention_lost_s24.diff.)
# PREPARED, NOT RUN (session 23 had no device time left): the A/B of decode attention's L2 prefetch before its
# PDL wait. .head = main; .pfa = main + l2_prefetch_attention_lost_s24.diff (pdl.prefetch_l2; decode attention
# reads the context lengths and the block table before its wait and asks the L2 for its chunk's first K/V tile).
# l2_prefetch_gemv_untimed_s23.diff (the GEMV's 2-64-row forms prefetching their first 1 KB a weight row, applied
# on top) is NOT in this call: session 12 timed that idea at 1,024 columns and it lost 0.7-3 % (README,
# "Tried and reverted (session 12)"), which session 23 found only after writing it.
# Build on the developer machine (COMMIT = main's hash):
#   for t in .head .pfa; do rm -rf $t; mkdir -p $t; git archive COMMIT swiftllm bench | tar -x -C $t --exclude=bench/results; mkdir -p $t/bench/results; done
#   (cd .pfa && git apply ../bench/results/h200/l2_prefetch_attention_lost_s24.diff)
#   mkdir -p .run && cp bench/results/h200/device_call_s23_prefetch_prepared.sh .run/ && cp bench/results/h200/step_ab_s23.py .run/step_ab.py
# Run (~6 min): run(command="bash .run/device_call_s23_prefetch_prepared.sh", carry=[".whl", ".head", ".pfa", ".run"])
# What would decide: step_ab's bare step at 1-64 rows and the mixed step, in both rounds, against .head; and
# check_kernels ALL OK.
# sm_90 (bench/sm90_resources.py on the CPU, sm90_resources_l2_prefetch_untimed_s23.json): decode attention 106 /
# 107 / 107 registers at 1 / 8 / 64 splits (main: 106 / 123 / 107), 4 programs an SM, 4 CCTL.E.PF2 before its
# ACQBULK wait; the GEMV unchanged.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 585 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
B=1,2,4,8,16,32,64
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 80 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .head head; ab .pfa pf-attn; done
stamp "check_kernels --quick on .pfa (every kernel and both models with the prefetch)"
(cd .pfa && BENCH_OUT=/tmp/ck PYTHONPATH=.:/tmp/site timeout 150 python3 bench/check_kernels.py --quick 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|kernel " | tee -a $OUT/all.log)
cp /tmp/ck/*.json $OUT/check_kernels.pfa.json 2>/dev/null
for t in .head .pfa; do
  if [ $(left) -gt 60 ]; then
    stamp "latency.py --temperature 0 --batches 1,8,32,64 on $t"
    (cd $t && BENCH_OUT=/tmp/lat$t SWIFTLLM_COMMIT=${t#.} PYTHONPATH=.:/tmp/site timeout $(( $(left) > 100 ? 100 : $(left) )) python3 bench/latency.py --temperature 0 --batches 1,8,32,64 2>&1 | grep -v capturing | tail -6 | tee -a $OUT/all.log)
    cp /tmp/lat$t/*.json $OUT/latency$t.json 2>/dev/null
  fi
done
stamp done
kill $SMI
