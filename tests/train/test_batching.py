"""Batch layouts: BPTT streams (pytorch/examples' batchify picture), random blocks with context, memmaps."""

from __future__ import annotations

import numpy as np
import pytest

from lmlab.errors import LmlabError
from lmlab.lm.batching import LineExamples, RandomBlocks, StreamBatches, stream_sha256, write_token_file
from lmlab.tokenizers import WordTokenizer


def test_streams_follow_the_batchify_picture():
    letters = np.arange(26)  # a .. z
    sb = StreamBatches(letters, batch_size=4, seq_len=2)
    assert sb.rows.shape == (4, 6)  # z is dropped
    assert sb.rows[:, 0].tolist() == [0, 6, 12, 18]  # each row a contiguous stretch: a, g, m, s
    assert len(sb) == 2
    # consecutive batches continue each row, so a carried state sees the stream in order
    x0, y0 = sb[0]
    x1, y1 = sb[1]
    assert x0.tolist() == [[0, 1], [6, 7], [12, 13], [18, 19]]
    assert (x1[:, 0] == x0[:, -1] + 1).all() and (y0 == x0 + 1).all() and (y1 == x1 + 1).all()
    assert x0.dtype == np.int64


def test_every_training_pair_is_seen_once_per_epoch():
    data = np.arange(1000)
    sb = StreamBatches(data, batch_size=7, seq_len=5)
    pairs = {(int(a), int(b)) for i in range(len(sb)) for a, b in zip(sb[i][0].ravel(), sb[i][1].ravel())}
    assert len(pairs) == len(sb) * 7 * 5
    assert all(b == a + 1 for a, b in pairs)


def test_too_short_for_the_batch_shape():
    with pytest.raises(LmlabError, match="too few for --batch-size 10 streams of --seq-len 5"):
        StreamBatches(np.arange(50), batch_size=10, seq_len=5)
    with pytest.raises(LmlabError, match="too few for blocks of --seq-len 50"):
        RandomBlocks(np.arange(50), 2, 50, 0, 0, 0)


def test_random_blocks_carry_their_context_and_depend_only_on_the_step():
    data = np.arange(10, 110)
    rb = RandomBlocks(data, batch_size=8, seq_len=4, context=3, seed=1, pad_id=-1)
    x, y, ctx = rb.batch(5)
    assert x.shape == y.shape == (8, 4) and ctx.shape == (8, 3)
    assert (y == x + 1).all()
    for row_x, row_c in zip(x, ctx):
        full = np.concatenate([row_c, row_x])
        real = full[full >= 0]
        assert (np.diff(real) == 1).all()  # context then block: contiguous
    again = rb.batch(5)
    assert all((a == b).all() for a, b in zip(again, (x, y, ctx)))
    assert not (rb.batch(6)[0] == x).all()
    # near the start the context is padded
    rb0 = RandomBlocks(np.arange(6), batch_size=50, seq_len=1, context=3, seed=0, pad_id=-1)
    _, _, c = rb0.batch(0)
    assert (c == -1).any()


def test_token_file_is_a_memmap_of_the_encoded_stream(tmp_path):
    lines = ["the cat sat", "a dog", "the end"] * 5
    tok = WordTokenizer.train(lines)
    data = write_token_file(tmp_path / "train.bin", lines, tok, chunk=4)
    assert isinstance(data, np.memmap) and data.dtype == np.uint16
    expected = np.concatenate([[tok.eos_id], tok.encode_lines(lines).ids])
    np.testing.assert_array_equal(np.asarray(data), expected)
    assert stream_sha256(data) == stream_sha256(expected)
    sb = StreamBatches(data, batch_size=2, seq_len=3)
    assert isinstance(sb.rows.base, np.memmap) or isinstance(sb.rows, np.memmap)


def test_line_examples_start_each_line_at_its_start_and_pad_after_its_end():
    tok = WordTokenizer.train(["a b c", "d", "e f"])
    eos = tok.eos_id
    stream = np.concatenate([[eos], tok.encode_lines(["a b c", "d", "e f", "a b c d e f"]).ids])
    le = LineExamples(stream, eos, batch_size=64, seq_len=5, context=2, seed=3)
    assert len(le.starts) == 4 and len(le) == 1
    x, y, ctx = le.batch(step=0)
    assert (x[:, 0] == eos).all() and (ctx == eos).all()  # each example starts from </s>, nothing before it
    seen = set()
    for row_x, row_y in zip(x, y):
        n = int((row_y >= 0).sum())
        words = tok.decode(row_y[: n - 1]) if n > 1 else ""
        seen.add(words)
        assert (row_y[:n] >= 0).all() and (row_y[n:] == -1).all()  # padding only after the line
        assert (row_x[1:n] == row_y[: n - 1]).all()  # y is x shifted by one inside the line
        if n < 5:
            assert row_y[n - 1] == eos  # the line's </s> is predicted
    assert seen == {"a b c", "d", "e f", "a b c d"}  # the long line is cut to its first 5 tokens
    assert np.array_equal(le.batch(step=7)[0], LineExamples(stream, eos, 64, 5, 2, seed=3).batch(step=7)[0])
    with pytest.raises(LmlabError, match="at least one line"):
        LineExamples(np.array([eos]), eos, 4, 5, 0, 0)
