#!/bin/bash
# Session 24, call 2: the split-K output / down projections whose partial sums the next RMSNorm adds (branch
# splitk-norm). .head = git archive main (13c3e35: the kernels and worker of db9582c); .sk = the branch's
# swiftllm + bench. 1) bench/results/h200/splitk_norm_exp_s24.py in .sk: tile sweep against cuBLAS + norm at
# 96/128/256 rows; its shared tile (least total at 128 and 256) is written into .sk's SPLIT_TILES; 2) step_ab
# (step_ab_s23.py) at 96,128,256 + the mixed step, both trees, twice; 3) check_kernels --quick on .sk;
# 4) latency.py --batches 128,256 on both trees.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 570 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
stamp "splitk_norm_exp_s24.py (tile sweep, us per layer: projection + norm)"
(cd .sk && BENCH_OUT=$OUT PYTHONPATH=.:/tmp/site timeout 200 python3 bench/splitk_norm_exp_s24.py 2>&1 | grep -v "^\s*$" | tail -40 | tee -a $OUT/all.log)
if [ -f $OUT/shared_tile.txt ]; then
  read BM BN BK W S SP < $OUT/shared_tile.txt
  sed -i "s/^SPLIT_TILES = .*/SPLIT_TILES = SplitTiles(block_m=$BM, block_n=$BN, block_k=$BK, num_warps=$W, num_stages=$S, splits=$SP)/" .sk/swiftllm/kernels/splitk_linear.py
fi
grep "^SPLIT_TILES" .sk/swiftllm/kernels/splitk_linear.py | tee -a $OUT/all.log
B=96,128,256
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 90 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .head head; ab .sk splitk; done
stamp "check_kernels --quick on .sk"
(cd .sk && BENCH_OUT=/tmp/ck PYTHONPATH=.:/tmp/site timeout 130 python3 bench/check_kernels.py --quick 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|kernel \|^rmsnorm" | tee -a $OUT/all.log)
cp /tmp/ck/*.json $OUT/check_kernels.sk.json 2>/dev/null
for t in .head .sk; do
  if [ $(left) -gt 50 ]; then
    stamp "latency.py --temperature 0 --batches 128,256 on $t"
    (cd $t && BENCH_OUT=/tmp/lat$t SWIFTLLM_COMMIT=${t#.} PYTHONPATH=.:/tmp/site timeout $(( $(left) > 80 ? 80 : $(left) )) python3 bench/latency.py --temperature 0 --batches 128,256 2>&1 | grep -v capturing | tail -4 | tee -a $OUT/all.log)
    cp /tmp/lat$t/*.json $OUT/latency$t.json 2>/dev/null
  fi
done
stamp done
kill $SMI
