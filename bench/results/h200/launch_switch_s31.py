"""Session 31: `swiftctl launch` with the controller's GIL switch interval set from SWITCH_S (Python's
default is 0.005 s), to see whether the engine thread waits on the REST event loop for the GIL.

    python3 bench/results/h200/launch_switch_s31.py launch --model ... (swiftctl's arguments)"""

import os
import runpy
import sys

sys.setswitchinterval(float(os.environ.get("SWITCH_S", "0.0005")))
sys.argv = ["swiftctl", *sys.argv[1:]]
runpy.run_module("swiftllm.launch.cli", run_name="__main__")
