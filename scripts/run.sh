#!/usr/bin/env bash
# Set up (if needed), then run SwiftLLM on the embedded SmolLM2-135M-Instruct model.
# Extra arguments go to `swiftctl launch` (e.g. --port 8001 --workers 1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if .venv/bin/swiftctl launch --help >/dev/null 2>&1; then
  exec .venv/bin/swiftctl launch "$@"
fi
exec .venv/bin/swiftctl generate --chat --prompt "What is paged attention, in one sentence?" "$@"
