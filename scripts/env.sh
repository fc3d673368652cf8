# Sourced by the scripts: use ../shared/data as the data directory when it exists and none is set.
if [ -z "${LMLAB_DATA_DIR:-}" ] && [ -d "$(dirname "${BASH_SOURCE[0]}")/../../shared/data" ]; then
  LMLAB_DATA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../shared/data" && pwd)"
  export LMLAB_DATA_DIR
fi
