"""``python -m lmlab``: the same as the ``lmlab`` command."""

import sys

from lmlab.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
