#!/usr/bin/env bash
# Set up (if needed), then lint and run the whole test suite on the CPU (Triton kernels in the interpreter).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check swiftllm tests bench examples
.venv/bin/ruff format --check swiftllm tests bench examples
exec .venv/bin/python -m pytest "$@"
