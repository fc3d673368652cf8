#!/usr/bin/env bash
# Set up with the test extras and run the whole test suite (lint included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
source scripts/env.sh
.venv/bin/ruff check lmlab tests bench
.venv/bin/ruff format --check lmlab tests bench
.venv/bin/python -m pytest -q "$@"
