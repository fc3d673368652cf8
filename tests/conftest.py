"""Shared test fixtures: where the real corpora and the KenLM reference files are.

``../shared`` beside the repository (or ``LMLAB_SHARED_DIR``) holds them; tests that need them are skipped
when they are absent, so the suite also runs on a machine without them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LMLAB_SHARED_DIR", REPO.parent / "shared")).resolve()
SHARED_DATA = SHARED / "data"
KENLM_FIXTURES = SHARED / "fixtures" / "kenlm"

# Every training of the suite on one fixed thread count (PyTorch's default: the usable cores), as --threads would:
# a test that compares two runs (an exact resume, a repeat) needs both to add in the same order. The tests of the
# adaptive choice (tests/train/test_threads.py) remove it.
os.environ.setdefault("LMLAB_THREADS", str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


@pytest.fixture
def shared_data() -> Path:
    """The real datasets (ptb, wikitext-2, ...) as a data directory; the test is skipped without them."""
    if not (SHARED_DATA / "SHA256SUMS").is_file():
        pytest.skip(f"real datasets not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def kenlm_fixtures() -> Path:
    if not (KENLM_FIXTURES / "README.md").is_file():
        pytest.skip(f"KenLM reference files not found at {KENLM_FIXTURES}")
    return KENLM_FIXTURES
