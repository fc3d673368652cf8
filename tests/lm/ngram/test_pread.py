"""The compiled scorer reading a model file's hash tables with pread instead of through its mapping
(:func:`lmlab.lm.ngram.fast.reads_by_pread`): the same numbers bit for bit, a file changed under it refused in one
line, and none of the file's pages mapped into the process (issue 25: a few thousand look-ups in a 5 GB model file
mapped about 3 GB)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lmlab.errors import LmlabError
from lmlab.lm.ngram import fast
from lmlab.lm.ngram.model import WEIGHTS_FILE, NgramLM
from lmlab.lm.ngram.modelfile import ModelFile
from lmlab.lm.run import load_model, save_run
from lmlab.runconfig import RunInfo

from .helpers import LINES, fit

pytestmark = pytest.mark.skipif(not fast.available(), reason=f"compiled scorer not built: {fast.BUILD_HINT}")

TEXT = ["the cat slept on the log", "", "a bird sat on the mat and the cat sat on the dog", "zebra"] * 300


def _loaded(tmp_path: Path, order: int) -> NgramLM:
    model = fit(LINES * 3, order=order)
    save_run(model, tmp_path / "run", RunInfo(command="test"))
    return load_model(tmp_path / "run")[0]


@pytest.mark.parametrize("order", [2, 3, 5])
def test_pread_gives_the_bits_the_mapping_gives(order, tmp_path, monkeypatch):
    model = _loaded(tmp_path, order)
    ids = model.tokenizer.encode_lines(TEXT).ids
    scores = {}
    for pread in (False, True):
        monkeypatch.setattr(fast, "reads_by_pread", lambda slot_bytes, lookups, pread=pread: pread)
        mapped = ModelFile(tmp_path / "run" / WEIGHTS_FILE)
        file_bytes = bytes(fast.log10_stream_file(mapped, ids.astype(np.int32), model.tokenizer.bos_id, 2))
        scores[pread] = (fast.log10_stream(model, ids).tobytes(), file_bytes)
    assert scores[True] == scores[False]
    assert scores[False][0] == model.log10_stream_numpy(ids).tobytes() == scores[False][1]


def test_a_model_file_changed_under_a_loaded_model_is_one_line(tmp_path, monkeypatch):
    model = _loaded(tmp_path, 3)
    monkeypatch.setattr(fast, "reads_by_pread", lambda slot_bytes, lookups: True)
    path = tmp_path / "run" / WEIGHTS_FILE
    with open(path, "r+b") as f:  # through the mapping this would be a SIGBUS; read with pread, one line
        f.truncate(path.stat().st_size - 64)
    with pytest.raises(LmlabError, match="its length changed since it was loaded"):
        fast.log10_stream(model, model.tokenizer.encode_lines(TEXT[:4]).ids)


def test_the_rule_reads_with_pread_where_look_ups_are_fewer_than_pages():
    assert fast.reads_by_pread(1000 * fast.PAGE_BYTES, 999) and not fast.reads_by_pread(1000 * fast.PAGE_BYTES, 1000)


RSS = """
import json, os, sys
from lmlab.lm.ngram import fast
from lmlab.lm.run import load_model
model = load_model(sys.argv[1])[0]
ids = model.tokenizer.encode_lines(["the company said it expects to report a loss"] * 100).ids
if sys.argv[2] == "mapped":
    fast.reads_by_pread = lambda slot_bytes, lookups: False
def rss_mb():  # resident now (ru_maxrss is the peak, which loading may have set)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = rss_mb()
total = float(fast.log10_stream(model, ids).sum())
grown = rss_mb() - before
print(json.dumps({"grown_mb": grown, "total": total}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="resident memory read from Linux's /proc")
def test_scoring_a_few_tokens_with_pread_maps_none_of_the_file(shared_data, tmp_path):
    """PTB's 5-gram (a 229 MB file, 176 MB of hash tables): 1,000 tokens scored are 4,000 look-ups against 45,000
    pages, so the rule reads with pread; through the mapping the same look-ups grow the process by tens of MB."""
    lines = (shared_data / "ptb" / "ptb.train.txt").read_text().split("\n")[:-1]
    save_run(fit(lines, order=5), tmp_path / "ptb5", RunInfo(command="test"))
    got = {}
    for way in ("pread", "mapped"):
        r = subprocess.run([sys.executable, "-c", RSS, str(tmp_path / "ptb5"), way], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        got[way] = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["pread"]["total"] == got["mapped"]["total"]
    assert got["pread"]["grown_mb"] < 10 < 30 < got["mapped"]["grown_mb"], got


def _vm_flags(address: int) -> set[str]:
    """The VmFlags of the mapping of this process that holds ``address`` (/proc/self/smaps)."""
    lines = Path("/proc/self/smaps").read_text().splitlines()
    inside = False
    for line in lines:
        head = line.split()[0]
        if "-" in head and ":" not in head:
            lo, hi = (int(x, 16) for x in head.split("-"))
            inside = lo <= address < hi
        elif inside and head == "VmFlags:":
            return set(line.split()[1:])
    raise AssertionError(f"no mapping holds {address:#x}")


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="Linux's /proc")
@pytest.mark.parametrize("pread", [False, True])
def test_a_file_scored_through_its_mapping_asks_for_huge_pages(pread, tmp_path, monkeypatch):
    """Read through the mapping, the scorer first asks for 2 MiB pages (MADV_HUGEPAGE: the smaps flag ``hg``); read
    with pread, it leaves the mapping as it is (a large file's few look-ups would read 2 MiB each)."""
    import mmap

    probe = mmap.mmap(-1, mmap.PAGESIZE)
    try:
        probe.madvise(mmap.MADV_HUGEPAGE)
    except (AttributeError, OSError):
        pytest.skip("no transparent huge pages")
    finally:
        probe.close()
    model = _loaded(tmp_path, 3)
    monkeypatch.setattr(fast, "reads_by_pread", lambda slot_bytes, lookups: pread)
    mapped = ModelFile(tmp_path / "run" / WEIGHTS_FILE)
    address = np.frombuffer(mapped.mapping, dtype=np.uint8).__array_interface__["data"][0]
    assert "hg" not in _vm_flags(address)
    ids = model.tokenizer.encode_lines(TEXT).ids
    got = bytes(fast.log10_stream_file(mapped, ids.astype(np.int32), model.tokenizer.bos_id, 2))
    assert got == model.log10_stream_numpy(ids).tobytes()
    assert ("hg" in _vm_flags(address)) == (not pread)
