#!/bin/bash
# Session 21, call 1: bench/verify_on_gpu.sh at f1aa7b6 (its first run on a GPU), as it stood in that commit.
# The tree: git archive HEAD swiftllm bench | tar -x -C .head --exclude=bench/results && mkdir -p .head/bench/results,
# carried with .whl (pyzmq, gguf). Run as
bash .head/bench/verify_on_gpu.sh .head f1aa7b6 $OUT
# Its files, renamed here: all.log -> device_call_f1aa7b6_s21_verify.log, smi.csv -> smi_f1aa7b6_s21_verify.csv,
# latency.json -> latency_f1aa7b6_s21.json, throughput.json -> throughput_f1aa7b6_s21.json, serving.{json,png} ->
# serving_H200_inf_f1aa7b6.{json,png}.
