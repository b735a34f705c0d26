"""Session 32: run a script or module with the scheduler's longest-first pacing floor set from PACED_MIN
(swiftllm.controller.scheduler.PACED_MIN_TOKENS, 256 in the tree), to time the floor without a flag.

    PACED_MIN=160 python3 bench/results/h200/paced_min_s32.py bench/throughput.py ARGS...
    PACED_MIN=160 python3 bench/results/h200/paced_min_s32.py -m swiftllm.launch.cli launch ARGS..."""

import os
import runpy
import sys

import swiftllm.controller.scheduler as scheduler

scheduler.PACED_MIN_TOKENS = int(os.environ.get("PACED_MIN", scheduler.PACED_MIN_TOKENS))
print(f"PACED_MIN_TOKENS = {scheduler.PACED_MIN_TOKENS}", file=sys.stderr)
if sys.argv[1] == "-m":
    sys.argv = [sys.argv[2], *sys.argv[3:]]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))  # as `python3 script` would
    runpy.run_path(sys.argv[0], run_name="__main__")
