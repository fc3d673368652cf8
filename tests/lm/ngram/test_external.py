"""The compiled sort and join of streaming estimation (lmlab/lm/ngram/_count.c) against the numpy path."""

from __future__ import annotations

import numpy as np
import pytest

from lmlab.lm.ngram import external
from lmlab.lm.ngram.external import key_view, search_sorted, sort_records, sort_records_numpy

needs_compiled = pytest.mark.skipif(external._count is None, reason="the _count extension is not built")


def _records(n, k, high, seed=0, extra=(("c", "<i8"),)):
    rng = np.random.default_rng(seed)
    rec = np.empty(n, dtype=[(f"w{j}", "<i4") for j in range(k)] + list(extra))
    for j in range(k):
        rec[f"w{j}"] = rng.integers(0, high, n)
    for name, _ in extra:
        rec[name] = rng.integers(0, 1000, n)
    return rec


@needs_compiled
@pytest.mark.parametrize(
    "n, k, high, extra",
    [
        (5000, 3, 20, (("c", "<i8"),)),  # many equal keys
        (5000, 5, 70_000, (("c", "<i8"),)),  # ids above 16 bits: two digits a word
        (3000, 2, 2**31 - 1, (("a", "<f8"), ("g", "<f8"))),
        (4000, 10, 5, (("p", "<f8"),)),  # a row size the scatter has no constant for
        (1, 4, 9, (("c", "<i8"),)),
    ],
)
def test_compiled_sort_equals_numpy_and_is_stable(n, k, high, extra):
    rec = _records(n, k, high, extra=extra)
    key = [f"w{j}" for j in range(k)]
    fast = sort_records(rec.copy(), key)
    slow = sort_records_numpy(rec, key)
    assert np.array_equal(key_view(fast, key), key_view(slow, key))
    # stable: equal keys keep their order of arrival, as numpy's stable sort keeps them
    assert fast.tobytes() == rec[np.argsort(key_view(rec, key), kind="stable")].tobytes()


@needs_compiled
def test_sort_of_a_view_leaves_the_array_alone():
    rec = _records(100, 2, 10)
    before = rec.tobytes()
    out = sort_records(rec[10:90], ["w0", "w1"])
    assert rec.tobytes() == before and out.size == 80


@needs_compiled
@pytest.mark.parametrize("sorted_needles", [True, False])
def test_compiled_search_equals_searchsorted(sorted_needles):
    key3 = ["w0", "w1", "w2"]
    hay = sort_records_numpy(_records(3000, 3, 12, seed=1), key3)
    needles = _records(2000, 4, 14, seed=2, extra=(("p", "<f8"),))
    if sorted_needles:
        needles = sort_records_numpy(needles, ["w0", "w1", "w2", "w3"])
    for key in (key3, key3[:2], key3[:1]):
        expected = np.searchsorted(key_view(hay, key), key_view(needles, key))
        assert np.array_equal(search_sorted(hay, needles, key), expected)
    assert search_sorted(hay[:0], needles, key3).tolist() == [0] * needles.size


@needs_compiled
def test_compiled_combine_equals_numpy():
    key = ["w0", "w1"]
    rec = sort_records_numpy(_records(5000, 2, 15, seed=3), key)
    expected = external.combine_sorted_numpy(rec, key, "c")
    assert expected.size < rec.size
    fast = external.combine_sorted(rec.copy(), key, "c")
    assert fast.tobytes() == expected.tobytes()
    assert external.combine_sorted(rec[:0].copy(), key, "c").size == 0


@needs_compiled
@pytest.mark.parametrize("count", ["<u4", "<i8"])
def test_compiled_combine_of_4_and_8_byte_counts_equals_numpy(count):
    key = ["w0", "w1"]
    rec = sort_records_numpy(_records(5000, 2, 15, seed=4, extra=(("c", count),)), key)
    expected = external.combine_sorted_numpy(rec, key, "c")
    assert expected.size < rec.size and expected.dtype == rec.dtype
    assert external.combine_sorted(rec.copy(), key, "c").tobytes() == expected.tobytes()


@pytest.mark.parametrize("compiled", [True, False])
def test_a_count_past_4_bytes_is_refused_in_one_line(compiled):
    if compiled and external._count is None:
        pytest.skip("the _count extension is not built")
    rec = np.array([(1, 2**32 - 5), (1, 5), (2, 1)], dtype=[("w0", "<i4"), ("c", "<u4")])
    with pytest.raises(external.LmlabError, match="counted more than 4,294,967,295 times"):
        external.combine_sorted(rec, ["w0"], "c", compiled=compiled)
    ok = np.array([(1, 2**32 - 5), (1, 4)], dtype=rec.dtype)
    assert external.combine_sorted(ok, ["w0"], "c", compiled=compiled).tolist() == [(1, 2**32 - 1)]


def _sorter_result(tmp_path, batches, dtype, key, combine, budget_rows, compiled, presorted=False, runs=3):
    with external.SpillDir(tmp_path) as spill:
        sorter = external.Sorter(spill, dtype, key, budget_rows=budget_rows, combine=combine)
        if not compiled:
            sorter._merged = sorter._merged_numpy
        for batch in batches:
            if presorted:  # sorted and combined batches are held as they are, then merged
                batch = sort_records_numpy(batch, key)
                batch = external.combine_sorted_numpy(batch, key, combine) if combine else batch
                sorter.add(batch, presorted=True)
            else:
                sorter.add(batch.copy())  # a batch that owns its memory is sorted in place
        assert len(sorter.runs) >= runs  # merged from several runs, buffers refilled
        out = sorter.result()
        return np.array(out[: out.size])


@pytest.mark.parametrize(
    "k, high, extra, combine",
    [
        (3, 6, (("c", "<u4"),), "c"),  # equal keys in every run, combined across runs and buffer refills
        (2, 40, (("n", "<i8"),), "n"),
        (4, 1000, (("p", "<f8"),), None),  # distinct keys, nothing to combine
    ],
)
def test_merge_of_runs_equals_one_sort_of_everything(tmp_path, k, high, extra, combine):
    key = [f"w{j}" for j in range(k)]
    batches = [_records(700, k, high, seed=s, extra=extra) for s in range(6)]
    if combine is None:  # distinct keys: w0 numbers the record
        for s, b in enumerate(batches):
            b["w0"] = np.arange(s * 700, (s + 1) * 700)[::-1]
    everything = sort_records_numpy(np.concatenate(batches), key)
    expected = external.combine_sorted_numpy(everything, key, combine) if combine else everything
    for compiled in [True, False] if external._count is not None else [False]:
        combined = [external.combine_sorted_numpy(sort_records_numpy(b, key), key, combine) for b in batches]
        largest = max(b.size for b in combined) if combine else 700
        for presorted, budget_rows, runs in [(False, 500, 3), (True, int(2.5 * largest), 2), (True, 10_000, 0)]:
            # presorted: two batches a run, merged in memory before it is spilled; or all of them, in memory
            got = _sorter_result(
                tmp_path, batches, expected.dtype, key, combine, budget_rows, compiled, presorted, runs
            )
            assert got.tobytes() == expected.tobytes(), (compiled, presorted, budget_rows)
        # merged as read (result(once=True)): the same records, read through chunks and a reader, files removed
        for rows in (1, 64, 5000):
            with external.SpillDir(tmp_path) as spill:
                sorter = external.Sorter(spill, expected.dtype, key, budget_rows=500, combine=combine)
                if not compiled:
                    sorter._merged = sorter._merged_numpy
                for batch in batches:
                    sorter.add(batch.copy())
                merged = sorter.result(once=True)
                assert isinstance(merged, external.MergedRuns) and merged.size >= expected.size
                got = np.concatenate([c for _, c in external.chunks(merged, rows, group=key[:1])])
                assert got.tobytes() == expected.tobytes(), (compiled, rows)
                spill.remove()  # waits for the runs' removal
                assert not spill.path.exists()
            with external.SpillDir(tmp_path) as spill:
                sorter = external.Sorter(spill, expected.dtype, key, budget_rows=500, combine=combine)
                for batch in batches:
                    sorter.add(batch.copy())
                reader = external.SortedReader(sorter.result(once=True), key, rows)
                parts = [reader.upto(bound)[1] for bound in (expected[i : i + 1] for i in range(0, expected.size, 97))]
                parts.append(reader.upto(expected[-1:])[1])
                assert np.concatenate(parts).tobytes() == expected.tobytes()
                assert reader.upto(expected[-1:])[1].size == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("compiled", [True, False])
def test_a_sort_by_leading_fields_of_records_that_come_in_order_gives_the_whole_order(tmp_path, compiled):
    """Records sorted by w0 w1 w2 and rotated to w1 w2 w0 need a sort by w1 w2 only (Sorter's sort_key), and back
    from there a sort by w0 alone: the sorter's result equals a sort by every field, in memory and merged."""
    if compiled and external._count is None:
        pytest.skip("the _count extension is not built")
    key = ["w0", "w1", "w2"]
    rec = sort_records_numpy(_records(4000, 3, 9, seed=7, extra=(("p", "<f8"),)), key)
    rec = rec[external.group_starts(rec, key)]  # distinct keys
    rotated = np.empty(rec.size, rec.dtype)
    for j in range(3):
        rotated[f"w{j}"] = rec[f"w{(j + 1) % 3}"]
    rotated["p"] = rec["p"]
    for budget_rows in (700, 10_000):
        with external.SpillDir(tmp_path) as spill:
            sorter = external.Sorter(spill, rec.dtype, key, budget_rows=budget_rows, sort_key=["w0", "w1"])
            if not compiled:
                sorter._merged = sorter._merged_numpy
            for start in range(0, rotated.size, 300):
                sorter.add(rotated[start : start + 300])
            out = sorter.result()
            got = np.array(out[: out.size])
        assert got.tobytes() == sort_records_numpy(rotated, key).tobytes(), budget_rows
        back = np.empty(got.size, rec.dtype)
        for j in range(3):
            back[f"w{(j + 1) % 3}"] = got[f"w{j}"]
        back["p"] = got["p"]
        one_pass = external.sort_records(back, ["w0"], compiled=compiled)
        assert one_pass.tobytes() == rec.tobytes()


@pytest.mark.parametrize("compiled", [True, False])
def test_prefix_counts_of_windows_equal_each_order_counted_on_its_own(compiled):
    """Every order's sorted counts from one sort of the windows of N words (stream.windows), against numpy's
    unique over each order's n-grams, counted one by one."""
    if compiled and external._count is None:
        pytest.skip("the _count extension is not built")
    from lmlab.lm.ngram.stream import windows

    rng = np.random.default_rng(5)
    V, N, eos = 12, 4, 2
    lines = [np.append(rng.integers(3, V, rng.integers(0, 7)), eos) for _ in range(300)]
    tokens = np.concatenate([np.append([1], line) for line in lines])  # <s> w .. </s>
    win = windows(tokens, eos, N, sentinel=V)
    win = external.combine_sorted_numpy(
        sort_records_numpy(win, [f"w{j}" for j in range(N)]), [f"w{j}" for j in range(N)], "c"
    )
    for k in range(1, N + 1):
        grams = [
            tuple(t[i : i + k])
            for t in np.split(tokens, np.flatnonzero(tokens == eos) + 1)
            for i in range(len(t) - k + 1)
        ]
        expected = sorted(
            (*g, c) for g, c in zip(*np.unique(np.array(grams).reshape(-1, k), axis=0, return_counts=True))
        )
        got = external.prefix_counts(win, N, k, V, compiled=compiled)
        assert got.dtype.names[-1] == "c" and got["c"].dtype == np.uint32
        assert [tuple(int(x) for x in r) for r in got.tolist()] == [tuple(int(x) for x in r) for r in expected], k


@pytest.mark.parametrize("rows", [1, 7, 50, 5000])
def test_chunks_and_sorted_reader_read_a_file_once_and_split_no_group(tmp_path, monkeypatch, rows):
    """Chunks of a sorted file (groups of equal w0 never split, some larger than a chunk) and a reader's records up
    to bounds: the same records as from the array in memory, each row of the file read once."""
    key = ["w0", "w1"]
    rec = sort_records_numpy(_records(2000, 2, 40, seed=9, extra=(("c", "<u4"),)), key)
    rec["w0"][300:500] = 7  # a group larger than most chunks
    rec = sort_records_numpy(rec, key)
    distinct = rec[external.group_starts(rec, key)]
    read_rows = []
    real_getitem = external.RecordFile.__getitem__

    def counting(self, rows_slice):
        out = real_getitem(self, rows_slice)
        read_rows.append(out.size)
        return out

    real_read_into = external.RecordFile.read_into

    def counting_into(self, start, out):
        read_rows.append(real_read_into(self, start, out))
        return read_rows[-1]

    monkeypatch.setattr(external.RecordFile, "__getitem__", counting)
    monkeypatch.setattr(external.RecordFile, "read_into", counting_into)
    with external.SpillDir(tmp_path) as spill:
        path = spill.new_file("t")
        spill.append(path, rec)
        spill.append(path2 := spill.new_file("d"), distinct)
        for source in (rec, external.read(path, rec.dtype)):
            read_rows.clear()
            got = list(external.chunks(source, rows, group=["w0"]))
            assert np.concatenate([c for _, c in got]).tobytes() == rec.tobytes()
            assert [start for start, _ in got] == np.cumsum([0] + [c.size for _, c in got])[:-1].tolist()
            for (_, a), (_, b) in zip(got, got[1:]):
                assert a["w0"][-1] != b["w0"][0]  # no group split
            assert sum(read_rows) == (rec.size if isinstance(source, external.RecordFile) else 0)
        for source in (distinct, external.read(path2, distinct.dtype)):
            read_rows.clear()
            reader = external.SortedReader(source, key, rows)
            handed = 0
            for bound in rec[::37]:  # sorted bounds, some equal to a record, some repeated
                first, part = reader.upto(np.array([bound]))
                upto = int(np.searchsorted(key_view(distinct, key), key_view(np.array([bound]), key), "right")[0])
                assert first == handed and part.tobytes() == distinct[handed:upto].tobytes()
                handed = upto
            assert sum(read_rows) <= distinct.size  # nothing read twice


@pytest.mark.parametrize("budget_rows", [150, 500, 10_000])
def test_records_made_in_a_reserved_part_of_the_buffer_sort_as_records_added(tmp_path, budget_rows):
    """Sorter.reserve hands out rows of its buffer to be filled in place (spilling the buffer first when it has no
    room), or, for more rows than a buffer holds, an array of their own added at the sorter's next call: the result
    is that of the same records added, whether it stays in memory, is one file or is merged as read."""
    key = ["w0", "w1"]
    batches = [_records(n, 2, 30, seed=s, extra=(("c", "<u4"),)) for s, n in enumerate([100, 120, 400, 7, 90])]
    for once in (False, True):
        results = []
        for reserved in (False, True):
            with external.SpillDir(tmp_path) as spill:
                sorter = external.Sorter(spill, batches[0].dtype, key, budget_rows=budget_rows, combine="c")
                for batch in batches:
                    if reserved:
                        sorter.reserve(batch.size)[:] = batch  # filled in place, after the call
                    else:
                        sorter.add(batch.copy())
                out = sorter.result(once=once)
                results.append(np.concatenate([c for _, c in external.chunks(out, 64)]))
        assert results[1].tobytes() == results[0].tobytes(), (budget_rows, once)
        expected = external.combine_sorted_numpy(sort_records_numpy(np.concatenate(batches), key), key, "c")
        assert results[0].tobytes() == expected.tobytes()
    assert list(tmp_path.iterdir()) == []
