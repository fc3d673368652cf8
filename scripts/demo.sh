#!/usr/bin/env bash
# The main job: set up, then compare every model family on tinyshakespeare (characters) in about five minutes
# on 2 CPU cores, and print the table. The report is in runs/compare-shakespeare/report.md and report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
.venv/bin/lmlab compare --data tinyshakespeare --tokenizer char --models ngram,mlp,rnn,lstm,gru,cnn,transformer \
  --budget-minutes 3 --out runs/compare-shakespeare "$@"
