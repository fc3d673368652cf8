#!/usr/bin/env bash
# The main job: set up, train a 5-gram modified Kneser-Ney model on PTB, print its test perplexity and samples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
lmlab=.venv/bin/lmlab
$lmlab train --model ngram --order 5 --smoothing modified-kneser-ney --tokenizer word --data ptb --out runs/ptb-kn5
$lmlab eval runs/ptb-kn5 --split test
$lmlab generate runs/ptb-kn5 --num-samples 5 --seed 1
