"""The memory-mapped model file and the compiled scorer: the same numbers as the numpy path and as the model in
memory, and a damaged file refused in one line without reading past its end."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmlab.errors import LmlabError
from lmlab.lm.ngram import fast
from lmlab.lm.ngram.arpa import read_arpa
from lmlab.lm.ngram.binary import (
    HEADER,
    hash_slots,
    layout,
    map_binary,
    mix,
    slot_count,
    slot_width,
    write_hash_slots,
)
from lmlab.lm.ngram.external import _count
from lmlab.lm.ngram.model import WEIGHTS_FILE, NgramLM
from lmlab.lm.ngram.modelfile import HEADER_BYTES, ModelFile
from lmlab.lm.run import load_model, save_run
from lmlab.runconfig import RunInfo

from .helpers import LINES, fit

needs_fast = pytest.mark.skipif(not fast.available(), reason=f"compiled scorer not built: {fast.BUILD_HINT}")

# unseen words, an empty line, a line longer than any in training, and no </s> at the very end
TEXT = ["the cat slept on the log", "", "a bird sat on the mat and the cat sat on the dog", "zebra"]


def _models():
    return {
        "mkn5": fit(LINES * 3, order=5),
        "mkn2": fit(LINES, order=2),
        "stupid-backoff": fit(LINES * 2, order=4, smoothing="stupid-backoff"),
        "witten-bell": fit(LINES, order=3, smoothing="witten-bell"),
        "effective-order": fit(["a b", "b a"], order=6),  # orders 5 and 6 empty: scores as order 4
        "unigram": fit(LINES, order=1),
    }


def _ids(model, text=TEXT):
    ids = model.tokenizer.encode_lines(text).ids
    return ids[:-1]  # the last line without its </s>


@needs_fast
@pytest.mark.parametrize("name", list(_models()))
def test_compiled_scorer_equals_numpy_path_bit_for_bit(name):
    model = _models()[name]
    ids = _ids(model)
    a, b = fast.log10_stream(model, ids), model.log10_stream_numpy(ids)
    assert a.dtype == b.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    # the stream as lmlab itself scores it, and one token long
    np.testing.assert_array_equal(fast.log10_stream(model, ids[:1]), model.log10_stream_numpy(ids[:1]))
    assert fast.log10_stream(model, ids[:0]).size == 0


@needs_fast
@pytest.mark.parametrize(
    "dtype, bad", [(np.int32, -1), (np.int32, "V"), (np.int64, -1), (np.int64, "V"), (np.int64, 2**32 + 3)]
)
def test_compiled_scorer_refuses_ids_outside_the_vocabulary(dtype, bad):
    model = fit(LINES, order=3)
    bad = model.vocab_size if bad == "V" else bad  # 2**32 + 3 would be 3 if narrowed to int32 unchecked
    ids = np.array([3, bad, 2], dtype=dtype)
    with pytest.raises(LmlabError, match=rf"token ids must be in \[0, {model.vocab_size}\), got {bad}"):
        model.log10_stream(ids)


def test_without_the_extension_models_score_on_the_numpy_path(monkeypatch):
    model = fit(LINES * 3, order=4)
    ids = _ids(model)
    expected = model.log10_stream_numpy(ids)
    monkeypatch.setattr(fast, "_score", None)
    assert not fast.available()
    np.testing.assert_array_equal(model.log10_stream(ids), expected)
    with pytest.raises(RuntimeError, match="not built"):
        fast.log10_stream(model, ids)


@needs_fast
def test_compiled_scorer_on_kenlm_models_that_are_not_suffix_closed(kenlm_fixtures):
    """An ARPA model from elsewhere may lack an n-gram's suffix: both paths still look every order up."""
    model = read_arpa(kenlm_fixtures / "tiny.3gram.fallback.arpa")
    text = (kenlm_fixtures / "tiny.txt").read_text().splitlines() + ["unseen words here", "a"]
    ids = model.tokenizer.encode_lines(text).ids
    np.testing.assert_array_equal(fast.log10_stream(model, ids), model.log10_stream_numpy(ids))


def _long_text(words: list[str], n_lines: int, seed: int = 0) -> list[str]:
    """Lines of 0 to 7 random words: a stream long enough for the compiled scorer to walk it in parts."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=rng.integers(0, 8))) for _ in range(n_lines)]


@needs_fast
@pytest.mark.parametrize("name", ["mkn5", "stupid-backoff", "effective-order"])
def test_compiled_scorer_walks_a_long_stream_in_parts_with_the_same_numbers(name):
    model = _models()[name]
    text = _long_text(["the", "cat", "sat", "on", "mat", "dog", "a", "b", "zebra"], 12_000)
    ids = model.tokenizer.encode_lines(text).ids
    assert ids.size > 8 * 4096  # every part of the walk (lmlab/lm/ngram/_score.c: WALKS, MIN_PART) in use
    np.testing.assert_array_equal(fast.log10_stream(model, ids), model.log10_stream_numpy(ids))
    np.testing.assert_array_equal(fast.log10_stream(model, ids[:-1]), model.log10_stream_numpy(ids[:-1]))


#: a model whose tables hold n-grams across a line's end ("b </s> <s>", "</s> <s> a"): where the stream is cut
#: into parts, a part's start must see the previous part's end, as the numpy path's single walk does
ACROSS_LINES_ARPA = """\\data\\
ngram 1=5
ngram 2=6
ngram 3=3

\\1-grams:
-1.0\t<unk>\t0
-99\t<s>\t-0.25
-0.7\t</s>\t-0.125
-0.5\ta\t-0.5
-0.6\tb\t-0.375

\\2-grams:
-0.3\t<s> a\t-0.0625
-0.4\ta b\t-0.03125
-0.2\tb </s>\t-0.015625
-0.35\ta </s>\t-0.1
-0.5\t</s> <s>\t-0.2
-0.45\tb a\t-0.3

\\3-grams:
-0.1\tb </s> <s>
-0.15\t</s> <s> a
-0.05\t<s> a b

\\end\\
"""


@needs_fast
def test_compiled_scorer_parts_see_ngrams_that_cross_a_line_end(tmp_path):
    (tmp_path / "across.arpa").write_text(ACROSS_LINES_ARPA)
    model = read_arpa(tmp_path / "across.arpa")
    ids = model.tokenizer.encode_lines(_long_text(["a", "b", "c"], 20_000)).ids
    np.testing.assert_array_equal(fast.log10_stream(model, ids), model.log10_stream_numpy(ids))


def _keys_crowding_the_last_slot(n: int) -> np.ndarray:
    """n keys of which a third have the last slot as home, so that probing runs past the end."""
    size = slot_count(n)
    candidates = np.arange(200 * n)
    last = candidates[(mix(candidates) % np.uint64(size)) == size - 1][: n // 3]
    return np.unique(np.concatenate([last, np.random.default_rng(1).integers(10**6, 10**9, n - last.size)]))


@pytest.mark.parametrize("crowded", [False, True])
def test_hash_table_holds_every_ngram_once(crowded):
    rng = np.random.default_rng(0)
    keys = _keys_crowding_the_last_slot(300) if crowded else np.unique(rng.integers(0, 10**9, size=3000))
    logp, bow = -rng.random(keys.size), -rng.random(keys.size)
    slots = hash_slots(keys, logp, bow)
    assert slots.shape == (slot_count(keys.size), 4)
    full = slots[:, 0] >= 0
    assert full.sum() == keys.size
    rows = slots[full, 1]
    np.testing.assert_array_equal(keys[rows], slots[full, 0])
    np.testing.assert_array_equal(logp[rows], slots[full, 2].view(np.float64))
    np.testing.assert_array_equal(bow[rows], slots[full, 3].view(np.float64))
    # linear probing's invariant: every slot from a key's home slot to its own is full
    size = slots.shape[0]
    home = (mix(slots[full, 0]) % np.uint64(size)).astype(np.int64)
    where = np.flatnonzero(full)
    wrapped = 0
    for h, w in zip(home.tolist(), where.tolist()):
        span = np.arange(h, w + (size if w < h else 0) + 1) % size
        assert full[span].all()
        wrapped += w < h
    assert wrapped > 0 or not crowded  # at 2/3 full a random table may wrap too


def test_highest_order_table_is_the_key_and_logp_of_the_full_one():
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 10**9, size=3000))
    logp, bow = -rng.random(keys.size), -rng.random(keys.size)
    full, narrow = hash_slots(keys, logp, bow), hash_slots(keys, logp, bow, width=2)
    assert narrow.shape == (slot_count(keys.size), 2) and narrow.nbytes == full.nbytes // 2
    np.testing.assert_array_equal(narrow, full[:, [0, 2]])
    assert keys.size / slot_count(keys.size) > 0.66  # version 2: 2/3 full whatever n (version 1: 1/3 to 2/3)


def test_version_1_tables_are_power_of_two_sized_and_four_wide():
    keys = np.arange(0, 3000, 3)
    old = hash_slots(keys, -np.ones(keys.size), np.zeros(keys.size), version=1)
    assert old.shape == (slot_count(keys.size, version=1), 4) == (2048, 4)
    assert [slot_width(k, 3, version=1) for k in (2, 3)] == [4, 4] and [slot_width(k, 3) for k in (2, 3)] == [4, 2]


@pytest.mark.parametrize("width", [4, 2])
@pytest.mark.parametrize("crowded", [False, True])
@pytest.mark.parametrize("block", [1, 7, 64, 1000, None])
def test_hash_table_written_in_regions_is_the_same_bytes(crowded, block, width):
    """A region of slots at a time (``block`` slots), n-grams carried from region to region and, crowded, past the
    table's end to the first free slots from 0: the bytes of the whole table made at once."""
    import io

    rng = np.random.default_rng(0)
    keys = _keys_crowding_the_last_slot(300) if crowded else np.unique(rng.integers(0, 10**9, size=3000))
    logp, bow = -rng.random(keys.size), -rng.random(keys.size)
    f = io.BytesIO()
    f.write(b"header")  # the table starts where the file is
    write_hash_slots(f, keys, logp, bow, width, block=block)
    assert f.getvalue() == b"header" + hash_slots(keys, logp, bow, width).tobytes()


@pytest.mark.skipif(_count is None, reason="the compiled writer is not built")
@pytest.mark.parametrize("S", [1, 2, 3, 7, 1000, 2**31 - 1, 2**32, 2**32 + 15, 2**40 + 1, 2**62 + 7, 2**63 - 25])
def test_compiled_home_slots_are_the_exact_remainders(S):
    """The compiled writer's home slots (mix(key) mod S) are Python's exact remainders, for keys whose hashes span
    the 64 bits (the extremes included) and table sizes from 1 to near 2^63."""
    rng = np.random.default_rng(S % 1000)
    keys = np.concatenate(
        [
            np.array([0, 1, 2, -1, -2, 2**62, -(2**63)], dtype=np.int64),
            rng.integers(-(2**63), 2**63 - 1, 20_000, dtype=np.int64),
        ]
    )
    idx, home = np.empty(keys.size, dtype=np.int64), np.empty(keys.size, dtype=np.int64)
    assert _count.slot_homes(keys, S, 0, S, idx, home) == keys.size
    expected = [int(h) % S for h in mix(keys).tolist()]
    assert home.tolist() == expected and idx.tolist() == list(range(keys.size))


def test_hash_table_of_memory_mapped_tables_within_a_small_memory_is_the_same_bytes(tmp_path):
    import io

    rng = np.random.default_rng(2)
    keys = np.unique(rng.integers(0, 10**12, size=300_000))
    logp, bow = -rng.random(keys.size), -rng.random(keys.size)
    mapped = []
    for name, array in (("keys", keys), ("logp", logp), ("bow", bow)):
        array.tofile(tmp_path / name)
        mapped.append(np.memmap(tmp_path / name, dtype=array.dtype, mode="r"))
    f = io.BytesIO()
    write_hash_slots(f, *mapped, memory=2**20)  # the smallest region budget, 16 MiB: four regions
    assert f.getvalue() == hash_slots(keys, logp, bow).tobytes()


def _saved(model, tmp_path) -> Path:
    run = tmp_path / "run"
    save_run(model, run, RunInfo(data={}, command="test", stats={}))
    return run


def test_model_file_round_trip_is_mapped_and_scores_as_in_memory(tmp_path):
    model = fit(LINES * 3, order=4)
    run = _saved(model, tmp_path)
    loaded, _ = load_model(run)
    assert isinstance(loaded, NgramLM) and loaded.source == str(run / WEIGHTS_FILE)
    for k in range(model.order):
        np.testing.assert_array_equal(loaded.keys[k], model.keys[k])
        np.testing.assert_array_equal(loaded.logp[k], model.logp[k])
        np.testing.assert_array_equal(loaded.bow[k], model.bow[k])
        assert not loaded.keys[k].flags.writeable  # a view of the read-only mapping, not a copy
    ids = _ids(model)
    np.testing.assert_array_equal(loaded.log10_stream(ids), model.log10_stream_numpy(ids))
    np.testing.assert_array_equal(loaded.log10_stream_numpy(ids), model.log10_stream_numpy(ids))
    assert loaded.discounts == model.discounts
    np.testing.assert_array_equal(loaded.next_token_log10([3, 4]), model.next_token_log10([3, 4]))


def test_a_run_written_before_model_files_still_loads(tmp_path):
    from safetensors.numpy import save_file

    model = fit(LINES * 3, order=3)
    run = _saved(model, tmp_path)
    tensors = {}
    for k in range(1, 4):
        tensors |= {f"keys.{k}": model.keys[k - 1], f"logp.{k}": model.logp[k - 1], f"bow.{k}": model.bow[k - 1]}
    save_file(tensors, str(run / "model.safetensors"))
    (run / WEIGHTS_FILE).unlink()
    loaded, _ = load_model(run)
    ids = _ids(model)
    np.testing.assert_array_equal(loaded.log10_stream(ids), model.log10_stream_numpy(ids))


def test_stupid_backoff_weight_travels_in_the_file(tmp_path):
    model = fit(LINES, order=3, smoothing="stupid-backoff")
    loaded, _ = load_model(_saved(model, tmp_path))
    assert loaded.missing_context_bow == model.missing_context_bow != 0
    ids = _ids(model)
    np.testing.assert_array_equal(loaded.log10_stream(ids), model.log10_stream_numpy(ids))


def _as_version_1(path: Path) -> None:
    """Rewrite a model file as version 1 wrote it: the header's version 1 (checksum made anew), the sorted arrays as
    they are, every hash table a power of two of 4-field slots (lmlab before version 2 wrote such files)."""
    data = path.read_bytes()
    magic, _, order, vocab_size, mcb, *rest = HEADER.unpack(data[:HEADER_BYTES])
    sizes = list(rest[:10])
    body = HEADER.pack(magic, 1, order, vocab_size, mcb, *sizes, 0, 0)
    out = bytearray(HEADER.pack(magic, 1, order, vocab_size, mcb, *sizes, 0, zlib.crc32(body[:116])))
    new, _ = layout(sizes[:order])
    old, length = layout(sizes[:order], version=1)
    arrays = {name: np.frombuffer(data, dtype=dtype, count=count, offset=offset) for name, offset, count, dtype in new}
    for name, offset, count, _ in old:
        kind, k = name.split(".")
        if kind == "slots":
            k = int(k)
            table = hash_slots(*(arrays[f"{part}.{k}"] for part in ("keys", "logp", "bow")), version=1).reshape(-1)
        else:
            table = arrays[name]
        assert table.size == count
        out += bytes(offset - len(out)) + table.tobytes()
    path.write_bytes(bytes(out + bytes(length - len(out))))


@needs_fast
@pytest.mark.parametrize("pread", [False, True])
def test_a_version_1_file_still_loads_scores_the_same_and_is_saved_as_version_2(tmp_path, monkeypatch, pread):
    model = fit(LINES * 3, order=4)
    run = _saved(model, tmp_path)
    path = run / WEIGHTS_FILE
    v2 = path.read_bytes()
    _as_version_1(path)
    assert len(path.read_bytes()) > len(v2) and HEADER.unpack(path.read_bytes()[:HEADER_BYTES])[1] == 1
    monkeypatch.setattr(fast, "reads_by_pread", lambda *_: pread)
    loaded, _ = load_model(run)
    ids = _ids(model)
    np.testing.assert_array_equal(loaded.log10_stream(ids), model.log10_stream_numpy(ids))
    mapped = ModelFile(path)
    out = fast.log10_stream_file(
        mapped, np.ascontiguousarray(ids, np.int32), model.tokenizer.bos_id, model.tokenizer.eos_id
    )
    np.testing.assert_array_equal(np.frombuffer(out, np.float64), model.log10_stream_numpy(ids))
    again = tmp_path / "again"
    save_run(loaded, again, RunInfo(data={}, command="test", stats={}))
    assert (again / WEIGHTS_FILE).read_bytes() == v2  # the tables laid out anew, as version 2


@pytest.fixture
def run(tmp_path):
    return _saved(fit(LINES * 3, order=3), tmp_path)


def _damage(run: Path, edit) -> Path:
    path = run / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(edit(data)))
    return path


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d[: len(d) - 64], "(truncated)"),
        (lambda d: d[:100], "shorter than an n-gram model file's 128-byte header"),
        (lambda d: d + bytes(64), "(longer than its tables)"),
        (lambda d: b"NOTMODEL" + d[8:], "not an lmlab n-gram model file"),
        (
            lambda d: d[:8] + struct.pack("<I", 7) + d[12:],
            "version 7; this lmlab reads versions 1 and 2; a newer lmlab wrote it",
        ),
        (lambda d: d[:40] + bytes([d[40] ^ 1]) + d[41:], "header checksum does not match"),
    ],
)
def test_damaged_header_or_length_is_refused(run, edit, message):
    path = _damage(run, edit)
    with pytest.raises(LmlabError, match=r"model\.ngram: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        map_binary(path)


def _with_header(d: bytearray, **fields) -> bytearray:
    """The file with header fields replaced and its checksum made to match, so that only the fields are wrong."""
    magic, version, order, vocab_size, mcb, *rest = HEADER.unpack(bytes(d[:HEADER_BYTES]))
    sizes = rest[:10]
    for k, n in fields.pop("sizes", {}).items():
        sizes[k - 1] = n
    values = dict(magic=magic, version=version, order=order, vocab_size=vocab_size, mcb=mcb) | fields
    body = HEADER.pack(*values.values(), *sizes, 0, 0)
    return HEADER.pack(*values.values(), *sizes, 0, zlib.crc32(body[:116])) + d[HEADER_BYTES:]


def _boundaries(path: Path) -> list[int]:
    """Every place a model file shorter than its header declares could end: the header's end, each array's start
    and end, and 8 bytes before the file's end."""
    _, _, order, _, _, *rest = HEADER.unpack(path.read_bytes()[:HEADER_BYTES])
    arrays, length = layout(list(rest[:order]))
    ends = [offset + 8 * count for _, offset, count, _ in arrays]
    return sorted({HEADER_BYTES, *(offset for _, offset, _, _ in arrays), *ends, length - 8} - {length})


def test_truncated_at_every_section_boundary_is_refused(run):
    path = run / WEIGHTS_FILE
    whole = path.read_bytes()
    cuts = [0, 1, 8, 64, HEADER_BYTES - 1, *_boundaries(path)]
    assert len(cuts) > 10
    for cut in cuts:
        path.write_bytes(whole[:cut])
        expected = "(truncated)" if cut >= HEADER_BYTES else "shorter than an n-gram model file's 128-byte header"
        with pytest.raises(LmlabError, match=r"model\.ngram: " + f"{cut:,} bytes.*" + re.escape(expected)):
            map_binary(path)


@pytest.mark.parametrize(
    "fields, message",
    [
        (
            {"sizes": {2: 10**6}},
            "too short for the 1,000,000 n-grams its header declares",
        ),  # more n-grams than the file holds
        ({"sizes": {3: 2**63}}, "too short for the 9,223,372,036,854,775,808 n-grams"),  # an int64 overflow if trusted
        ({"sizes": {2: 2, 3: 1}}, r"but its header declares .* \(longer than its tables\)"),
        ({"sizes": {4: 5}}, "impossible order 3 or sizes"),  # n-grams above the order
        ({"order": 0}, "impossible order 0"),
        ({"order": 11}, "impossible order 11"),
        ({"vocab_size": 3}, "impossible order 3 or sizes"),  # the vocabulary is not the unigram count
        ({"mcb": float("nan")}, "missing-context weight nan that is not finite"),
        ({"version": 3}, "version 3; this lmlab reads versions 1 and 2; a newer lmlab wrote it"),
        ({"version": 0}, "version 0; this lmlab reads versions 1 and 2"),
        ({"version": 1}, r"but its header declares .* \(truncated\)"),  # version 1's tables are larger
        ({"magic": b"LMLABNGX"}, "not an lmlab n-gram model file"),
        ({"magic": b"\x00" * 8}, "not an lmlab n-gram model file"),
    ],
)
def test_header_with_a_matching_checksum_but_wrong_fields_is_refused(run, fields, message):
    path = _damage(run, lambda d: _with_header(d, **fields))
    with pytest.raises(LmlabError, match=r"model\.ngram: .*" + message):
        map_binary(path)


def test_a_file_that_is_not_regular_is_refused_without_reading_it(run, tmp_path):
    fifo = tmp_path / "fifo.ngram"
    os.mkfifo(fifo)
    with pytest.raises(LmlabError, match="is a FIFO"):
        map_binary(fifo)  # opening a FIFO for reading would block until a writer came


@needs_fast
@pytest.mark.parametrize(
    "damage, table",
    [("row outside the table", 0), ("no empty slot", 0), ("no empty slot", -1)],  # -1: the highest order's, (key, logp)
)
def test_damaged_hash_table_is_an_error_not_a_crash_or_a_hang(run, damage, table):
    model, _ = load_model(run)
    start = model.keys[0].__array_interface__["data"][0] - HEADER_BYTES
    offset = model.hash_tables()[table].__array_interface__["data"][0] - start
    n_slots, width = model.hash_tables()[table].shape
    del model

    def edit(d):
        slots = np.frombuffer(d, dtype=np.int64, count=width * n_slots, offset=offset).reshape(-1, width).copy()
        if damage == "row outside the table":
            slots[slots[:, 0] >= 0, 1] = 10**12
        else:
            slots[:, 0] = 10**15  # every slot full of a key no query asks for
        d[offset : offset + slots.nbytes] = slots.tobytes()
        return d

    _damage(run, edit)
    model, _ = load_model(run)
    with pytest.raises(LmlabError, match="damaged"):
        model.log10_stream(_ids(model))


def _lmlab(*args, cwd):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "lmlab", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env
    )


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d[: HEADER_BYTES + 8], "truncated"),
        (lambda d: _with_header(d, sizes={2: 10**6}), "too short for the 1,000,000 n-grams"),
        (lambda d: b"NOTMODEL" + d[8:], "not an lmlab n-gram model file"),
    ],
)
def test_cli_refuses_a_damaged_model_file_in_one_line(run, tmp_path, edit, message):
    (tmp_path / "t.txt").write_text("the cat sat\n")
    _damage(run, edit)
    r = _lmlab("eval", run, "--text", tmp_path / "t.txt", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and message in r.stderr and "Traceback" not in r.stderr


def test_ngram_train_eval_export_import_no_torch(tmp_path):
    (tmp_path / "c.txt").write_text("\n".join(LINES * 20) + "\n")
    code = """
import sys
from lmlab.cli.main import main
assert main(["train", "--model", "ngram", "--order", "3", "--tokenizer", "word", "--data", "c.txt", "--out", "r"]) == 0
assert main(["eval", "r", "--text", "c.txt"]) == 0
assert main(["export", "r", "--format", "arpa", "--out", "r.arpa"]) == 0
assert main(["eval", "r.arpa", "--text", "c.txt"]) == 0
loaded = [m for m in sys.modules if m == "torch" or m.startswith("torch.")]
assert not loaded, loaded[:5]
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]


def test_memory_mapped_tables_are_read_with_plain_reads_and_slices_through_the_mapping(tmp_path):
    from lmlab.lm.ngram.binary import read_rows

    np.arange(10, dtype=np.int64).tofile(tmp_path / "t")
    whole = np.memmap(tmp_path / "t", dtype=np.int64, mode="r")
    assert read_rows(whole, 3, 6).tolist() == [3, 4, 5] and not isinstance(read_rows(whole, 3, 6), np.memmap)
    assert read_rows(whole[2:], 3, 6).tolist() == [5, 6, 7]  # a slice keeps offset 0: read through the mapping
    assert read_rows(np.arange(5), 1, 3).tolist() == [1, 2]


@pytest.mark.skipif(not fast.available(), reason="the compiled scorer is not built")
@settings(max_examples=2000, deadline=None)
@given(
    st.integers(0, 2**64 - 1),
    st.integers(1, 2**64 - 1) | st.integers(1, 2**20) | st.sampled_from([1, 2, 3, 2**32, 2**63, 2**63 + 1, 2**64 - 1]),
)
def test_the_scorers_home_slot_is_the_remainder(x, d):
    """The scorer finds a key's home slot, mix(key) mod S, by multiplying by S's inverse (no division): exactly %."""
    assert fast._score.remainder(x, d) == x % d
