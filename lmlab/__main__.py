"""``python -m lmlab``: the same as the ``lmlab`` command."""

from lmlab.cli.main import entry

if __name__ == "__main__":
    entry()
