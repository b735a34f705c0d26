#!/bin/bash
# Prepared in session 52, not yet run: the 256-row decode step with one suspect at a time switched off
# (bench/results/h200/patched_latency_s52.py: rotary and the KV store outside decode attention at 129+ rows, or
# torch.argmax for greedy tokens, as 74a2896 had both), against the tree as shipped, alternated, two rounds,
# each a fresh process running bench/latency.py --temperature 0 --batches 256 (~85 s). Carry .whl.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD:/tmp/site
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for round in ${ROUNDS:-1 2}; do  # session 53 call 2: ROUNDS=1
  for patch in none rotary_unfused_from=129 torch_argmax; do
    name=${patch%%=*}_$round
    timeout 110 python3 bench/results/h200/patched_latency_s52.py $patch --temperature 0 --batches 256 \
      > $OUT/$name.log 2>&1
    echo "$patch round $round: $(grep -E '^N=256' $OUT/$name.log)" | tee -a $OUT/all.log
    grep -A1 "  N  ms/step" $OUT/$name.log | tail -1 | tee -a $OUT/all.log
  done
done
