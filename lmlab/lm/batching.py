"""Training batches from a token stream kept on disk (a numpy memmap), so memory stays flat as corpora grow.

The training split is encoded once into a flat file of token ids, ``</s>`` first (the start context, as in
scoring) and after every line. Two layouts read it:

* :class:`StreamBatches`, for recurrent models (truncated backpropagation through time). The stream is cut into
  B equal parallel streams, one per batch row, and read T tokens at a time; the hidden state is carried from one
  batch to the next and detached, so gradients flow back at most T steps. With the alphabet as the stream, B = 4,
  T = 2::

      stream  a b c d e f g h i j k l m n o p q r s t u v w x y z
      rows    a b c d e f | g h i j k l | m n o p q r | s t u v w x      (26 // 4 = 6 per row, z dropped)

              batch 0          batch 1
              x     y          x     y
              a b   b c        c d   d e
              g h   h i        i j   j k
              m n   n o        o p   p q
              s t   t u        u v   v w                (then epoch 2; (6 - 1) // 2 = 2 batches per epoch)

  (the picture of the PyTorch word_language_model example's ``batchify``, rows as batch rows).

* :class:`RandomBlocks`, for feed-forward models: B blocks of T tokens at random places, each with the
  ``context`` tokens just before it (``</s>`` before the start of the stream). With T = 1 and context n - 1 these
  are the n-token windows of Bengio et al.'s MLP; blocks for step s depend only on (seed, s), so a resumed run draws
  the same ones.

* :class:`LineExamples` (``--examples lines``), for corpora of independent lines (names, words, sentences): each
  example is one line from its start, exactly as the line is seen when scored on its own. The input starts with the
  ``</s>`` before the line, the context before it is padding, and positions after the line's ``</s>`` are padding
  whose target is -1 (not scored; the loss averages over the line tokens only). This is makemore's recipe: a model
  trained on stream blocks spends capacity on the previous lines, which a line scored alone never has. Lines longer
  than T are cut to their first T tokens. With the lines ``ab`` and ``c``, T = 4::

      stream   </s> a b </s> c </s>
      x        </s> a    b    </s>        </s> c    </s> </s>
      y        a    b    </s> -1          c    </s> -1   -1
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError
from lmlab.tokenizers import Tokenizer


def write_token_file(path: str | Path, lines: Sequence[str], tokenizer: Tokenizer, *, chunk: int = 20_000) -> np.memmap:
    """Encode ``lines`` into a flat file of ids (``</s>``, then each line and its ``</s>``) and map it.

    Lines are encoded ``chunk`` at a time, so only one chunk's ids are in memory besides the mapping.
    """
    dtype = np.uint16 if tokenizer.vocab_size <= np.iinfo(np.uint16).max + 1 else np.int32
    path = Path(path)
    n = 1
    with open(path, "wb") as f:
        f.write(np.array([tokenizer.eos_id], dtype=dtype).tobytes())
        for start in range(0, len(lines), chunk):
            ids = tokenizer.encode_lines(lines[start : start + chunk]).ids.astype(dtype)
            f.write(ids.tobytes())
            n += ids.size
    return np.memmap(path, dtype=dtype, mode="r", shape=(n,))


def stream_sha256(data: np.ndarray) -> str:
    """Hash of a token stream (to tell, on resume, whether the training data is the same)."""
    h = hashlib.sha256()
    for start in range(0, data.size, 1 << 22):
        h.update(np.ascontiguousarray(data[start : start + (1 << 22)], dtype=np.int64).tobytes())
    return h.hexdigest()


class StreamBatches:
    """B parallel streams read T tokens at a time: ``x`` and ``y = x`` shifted by one, each (B, T).

    >>> sb = StreamBatches(np.arange(26), batch_size=4, seq_len=2)
    >>> sb.rows.tolist()[0], len(sb)
    ([0, 1, 2, 3, 4, 5], 2)
    >>> x, y = sb[1]
    >>> x.tolist(), y.tolist()
    ([[2, 3], [8, 9], [14, 15], [20, 21]], [[3, 4], [9, 10], [15, 16], [21, 22]])
    """

    def __init__(self, data: np.ndarray, batch_size: int, seq_len: int):
        row_len = data.size // batch_size  # L, tokens per row
        if row_len < seq_len + 1:
            raise LmlabError(
                f"the training split has {data.size:,} tokens: too few for --batch-size {batch_size} streams of "
                f"--seq-len {seq_len} + 1 tokens; lower --batch-size or --seq-len, or use more text"
            )
        self.rows = data[: batch_size * row_len].reshape(batch_size, row_len)  # (B, L), still a view of the memmap
        self.seq_len = seq_len

    def __len__(self) -> int:
        """Batches per epoch; the last incomplete batch is dropped, so every batch is (B, T)."""
        return (self.rows.shape[1] - 1) // self.seq_len

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a = i * self.seq_len
        block = np.asarray(self.rows[:, a : a + self.seq_len + 1], dtype=np.int64)  # (B, T + 1)
        return block[:, :-1], block[:, 1:]


class RandomBlocks:
    """B random blocks of T tokens and the ``context`` tokens before each: ``(x, y, ctx)``, (B, T) and (B, context).

    >>> rb = RandomBlocks(np.arange(100), batch_size=2, seq_len=3, context=2, seed=0, pad_id=-1)
    >>> x, y, ctx = rb.batch(step=7)
    >>> bool((y == x + 1).all()) and bool((ctx[:, -1] == x[:, 0] - 1).all())
    True
    >>> [a.shape for a in rb.batch(step=7)] == [a.shape for a in (x, y, ctx)], len(rb)
    (True, 17)
    """

    def __init__(self, data: np.ndarray, batch_size: int, seq_len: int, context: int, seed: int, pad_id: int):
        if data.size < seq_len + 1:
            raise LmlabError(
                f"the training split has {data.size:,} tokens: too few for blocks of --seq-len {seq_len} + 1; "
                "lower --seq-len or use more text"
            )
        self.data, self.batch_size, self.seq_len, self.context = data, batch_size, seq_len, context
        self.seed, self.pad_id = seed, pad_id

    def __len__(self) -> int:
        """Batches per epoch: as many targets as the stream has tokens."""
        return max(1, -(-(self.data.size - 1) // (self.batch_size * self.seq_len)))

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng((self.seed, step))
        starts = rng.integers(0, self.data.size - self.seq_len, size=self.batch_size)  # (B,)
        offsets = np.arange(-self.context, self.seq_len + 1)  # context, then T + 1 tokens
        index = starts[:, None] + offsets  # (B, context + T + 1)
        block = np.asarray(self.data[np.maximum(index, 0)], dtype=np.int64)
        block[index < 0] = self.pad_id  # before the start of the stream
        c = self.context
        return block[:, c:-1], block[:, c + 1 :], block[:, :c]


class LineExamples:
    """B random lines, each from its start: ``(x, y, ctx)`` as :class:`RandomBlocks`, with ``y = -1`` after the
    line's end (see the module's picture).

    >>> le = LineExamples(np.array([9, 1, 2, 9, 3, 9]), eos_id=9, batch_size=2, seq_len=4, context=1, seed=0)
    >>> len(le.starts), len(le)
    (2, 1)
    >>> rows = set()
    >>> for step in range(8):
    ...     x, y, ctx = le.batch(step)
    ...     rows |= {(tuple(a), tuple(b)) for a, b in zip(x.tolist(), y.tolist())}
    >>> sorted(rows)
    [((9, 1, 2, 9), (1, 2, 9, -1)), ((9, 3, 9, 9), (3, 9, -1, -1))]
    >>> ctx.tolist()
    [[9], [9]]
    >>> le.lines(step).tolist() == [0 if row[1] == 1 else 1 for row in x.tolist()]   # which line each row reads
    True
    """

    def __init__(self, data: np.ndarray, eos_id: int, batch_size: int, seq_len: int, context: int, seed: int):
        ends = np.flatnonzero(np.asarray(data) == eos_id)  # the stream starts with </s>, and each line ends with one
        if ends.size < 2:
            raise LmlabError("--examples lines needs at least one line in the training split")
        self.starts = ends[:-1]  # the </s> before each line (its first input)
        self.lengths = np.diff(ends)  # tokens to predict per line, its </s> included
        self.data, self.eos_id, self.batch_size, self.seq_len = data, eos_id, batch_size, seq_len
        self.context, self.seed = context, seed

    def __len__(self) -> int:
        """Batches per epoch: as many examples as the training split has lines."""
        return max(1, -(-self.starts.size // self.batch_size))

    def lines(self, step: int) -> np.ndarray:
        """The lines (their numbers in the split, from 0) of the examples of step ``step``, (B,)."""
        rng = np.random.default_rng((self.seed, step))
        return rng.integers(0, self.starts.size, size=self.batch_size)

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pick = self.lines(step)  # (B,)
        T = self.seq_len
        index = np.minimum(self.starts[pick, None] + np.arange(T + 1), self.data.size - 1)  # (B, T + 1)
        block = np.asarray(self.data[index], dtype=np.int64)
        x, y = block[:, :-1].copy(), block[:, 1:].copy()
        after = np.arange(T)[None, :] >= self.lengths[pick, None]  # (B, T): past the line's </s>
        x[after], y[after] = self.eos_id, -1
        ctx = np.full((self.batch_size, self.context), self.eos_id, dtype=np.int64)
        return x, y, ctx


__all__ = ["LineExamples", "RandomBlocks", "StreamBatches", "stream_sha256", "write_token_file"]
