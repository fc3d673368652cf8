#!/usr/bin/env bash
# Set up lmlab in ./.venv. PyTorch 2.13.0 is installed first when no torch is present, so that pip never pulls
# the registry's newest torch with its gigabytes of CUDA packages. Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check --quiet "$@"; }
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup: installing torch 2.13.0 (CPU)" >&2
  pip install "torch==2.13.0"
fi
# editable_mode=compat: the checkout is found through a plain path in a .pth file, not setuptools' default import
# finder, whose module imports pathlib and importlib.util at every Python start (about 20 ms of every lmlab command;
# the C extensions are built in place either way, and edits stay live)
compat=(--config-settings editable_mode=compat)
if [ "${1:-}" = "--test" ]; then
  pip install -e ".[test,serve]" "${compat[@]}"
  # one test opens the compare report in headless Chromium (Debian's package)
  if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium for the report test" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 ||
      echo "setup: could not install chromium; the browser test will be skipped" >&2
  fi
else
  pip install -e ".[serve]" "${compat[@]}"
fi
