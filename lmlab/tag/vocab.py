"""A tagger's words and characters: ids for the network, and the run's ``vocab.txt``.

The vocabulary is every word form of the training sentences, as written, most frequent first (ties in code-point
order). Ids 0 and 1 are padding and the unknown word, so word i of the list has id i + 2. The characters are those
of the vocabulary's words, in code-point order, with the same two ids first; they are read back from ``vocab.txt``
alone, so the file is the whole of a tagger's vocabulary::

    vocab.txt:  the\\n,\\n.\\nof\\n...          ids: <pad> 0, <unk> 1, the 2, "," 3, "." 4, of 5, ...

The run's ``config.json`` records the file's name, size and sha256; :meth:`Vocabulary.load` reads only a plain file
name inside the run, at most the recorded size, and refuses a file whose hash differs (one with the same words in
another order would silently scramble the embeddings).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError
from lmlab.io import atomic_open

PAD, UNK = 0, 1
VOCAB_FILE = "vocab.txt"
#: a vocabulary file larger than this is not one lmlab wrote for a tagger
MAX_VOCAB_BYTES = 256 << 20


def cut_word(word: str, max_len: int) -> str:
    """The characters of ``word`` a character model reads: all of them, or the first and last ``max_len // 2``
    (rounded so that ``max_len`` are read) of a longer word.

    >>> cut_word("abcdefgh", 4), cut_word("abc", 4)
    ('abgh', 'abc')
    """
    if len(word) <= max_len:
        return word
    head = (max_len + 1) // 2
    return word[:head] + word[len(word) - (max_len - head) :]


class Vocabulary:
    """Word and character ids (see the module docstring)."""

    def __init__(self, words: Sequence[str]):
        self.words = list(words)
        if len(set(self.words)) != len(self.words):
            raise LmlabError("a tagger's vocabulary lists a word twice")
        self.word_index = {w: i + 2 for i, w in enumerate(self.words)}
        self.chars = sorted({c for w in self.words for c in w})
        self.char_index = {c: i + 2 for i, c in enumerate(self.chars)}

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]]) -> Vocabulary:
        """The vocabulary of the words of ``sentences``.

        >>> Vocabulary.build([["a", "b", "a"], ["c", "b", "a"]]).words
        ['a', 'b', 'c']
        """
        counts = Counter(w for words in sentences for w in words)
        return cls(sorted(counts, key=lambda w: (-counts[w], w)))

    @property
    def size(self) -> int:
        """Word ids: the words, padding and unknown."""
        return len(self.words) + 2

    @property
    def char_size(self) -> int:
        return len(self.chars) + 2

    def word_id(self, word: str) -> int:
        return self.word_index.get(word, UNK)

    def char_ids(self, word: str, max_len: int) -> np.ndarray:
        """The character ids of ``word`` (cut by :func:`cut_word`), 1 for a character never seen in training.

        >>> Vocabulary(["ab"]).char_ids("abz", 10).tolist()
        [2, 3, 1]
        """
        return np.array([self.char_index.get(c, UNK) for c in cut_word(word, max_len)], dtype=np.int64)

    def file_bytes(self) -> bytes:
        return "".join(w + "\n" for w in self.words).encode("utf-8", errors="surrogatepass")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.file_bytes()).hexdigest()

    def save(self, path: str | Path) -> None:
        if any("\n" in w for w in self.words):
            raise LmlabError("a word holds a line break; it cannot be saved in vocab.txt")
        with atomic_open(path, "wb") as f:
            f.write(self.file_bytes())

    def record(self) -> dict[str, object]:
        """What ``config.json`` records of the vocabulary."""
        return {"file": VOCAB_FILE, "words": len(self.words), "bytes": len(self.file_bytes()), "sha256": self.sha256}

    @classmethod
    def load(cls, run_dir: str | Path, recorded: object, where: str) -> Vocabulary:
        """The vocabulary of a run from the file ``recorded`` (config.json's ``vocab`` object) names, checked."""
        from lmlab.runfiles import check_fields, expect, plain_file_name, read_bytes

        if not isinstance(recorded, dict):
            raise LmlabError(f"{where}: field 'vocab' must be an object")
        schema = {
            "vocab.file": expect(str, required=True),
            "vocab.words": expect(int, required=True),
            "vocab.bytes": expect(int, required=True),
            "vocab.sha256": expect(str, required=True),
        }
        check_fields({"vocab": recorded}, schema, where)
        path = Path(run_dir) / plain_file_name(recorded["file"], where, "vocab.file")
        limit = min(int(recorded["bytes"]), MAX_VOCAB_BYTES)
        data = read_bytes(path, limit=limit, missing=f"{path} not found (the run's vocabulary)")
        actual = hashlib.sha256(data).hexdigest()
        if actual != recorded["sha256"]:
            raise LmlabError(
                f"{path} does not match the weights of this run (sha256 {actual[:16]}..., {where} records "
                f"{recorded['sha256'][:16]}...); restore the run's own {path.name}"
            )
        words = data.decode("utf-8", errors="surrogatepass").split("\n")[:-1]
        if len(words) != recorded["words"]:
            raise LmlabError(f"{path}: {len(words)} words, {where} records {recorded['words']}")
        return cls(words)


__all__ = ["MAX_VOCAB_BYTES", "PAD", "UNK", "VOCAB_FILE", "Vocabulary", "cut_word"]
