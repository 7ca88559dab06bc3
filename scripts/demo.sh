#!/usr/bin/env bash
# Set up nntutor in .venv and run it on the bundled examples (README command 1).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e . >/dev/null
set +e
.venv/bin/nntutor check examples/
status=$?
set -e
echo
echo "nntutor exited with $status (1 = it found the bugs planted in examples/)."
echo "Try: .venv/bin/nntutor explain double-softmax"
[ "$status" -le 1 ]
