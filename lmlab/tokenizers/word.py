"""Word-level tokenizer: whitespace-separated words, with ``<unk>`` for words unseen in training."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from lmlab.errors import LmlabError
from lmlab.tokenizers.base import BOS, EOS, SPECIALS, UNK, EncodedText, VocabTokenizer

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from typing import Any

try:
    from lmlab.tokenizers._words import WordIndex, count_words
except ImportError:  # pragma: no cover - installed without a C compiler
    WordIndex = count_words = None

#: Lines whose words are counted at a time in C when training (:func:`count_words`)
COUNT_LINES = 65536


class WordTokenizer(VocabTokenizer):
    """Splits on whitespace, keeps case unless ``lowercase``; a literal ``<unk>`` in the text is ``<unk>``.

    >>> tok = WordTokenizer.train(["the cat sat", "the <unk> sat"])
    >>> tok.encode("the dog sat"), tok.decode(tok.encode("the dog sat"))
    ([4, 0, 3], 'the <unk> sat')
    """

    kind = "word"

    def __init__(self, tokens, *, lowercase: bool = False):
        super().__init__(tokens)
        self.lowercase = lowercase

    @classmethod
    def train(
        cls,
        lines: Iterable[str],
        *,
        lowercase: bool = False,
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> WordTokenizer:
        """Vocabulary: special tokens, then words by falling frequency (ties by string), filtered.

        ``min_freq``: keep words seen at least this often; ``max_size``: keep at most this many tokens in all,
        the three special tokens included.
        """
        if min_freq < 1:
            raise LmlabError(f"min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < len(SPECIALS) + 1:
            raise LmlabError(f"max_size must be at least {len(SPECIALS) + 1}, got {max_size}")
        counts: Counter[str] = Counter()
        if count_words is None:  # pragma: no cover - installed without a C compiler
            for line in lines:
                counts.update((line.lower() if lowercase else line).split())
        else:  # the same counts, split and counted in C (lmlab/tokenizers/_words.c), a few times faster
            it = iter(lines)
            while batch := list(itertools.islice(it, COUNT_LINES)):
                counts.update(count_words([line.lower() for line in batch] if lowercase else batch))
        for bad in (BOS, EOS):
            if bad in counts:
                raise LmlabError(
                    f"the text contains the reserved token {bad!r}; lines are sentences already "
                    "(remove the markers from the text)"
                )
        counts.pop(UNK, None)
        words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: max_size - len(SPECIALS)]
        return cls(list(SPECIALS) + words, lowercase=lowercase)

    def split(self, text: str) -> list[str]:
        return (text.lower() if self.lowercase else text).split()

    def encode_lines(self, lines: Sequence[str]) -> EncodedText:
        """Encode a corpus: each line's ids, then ``</s>``; counts out-of-vocabulary words.

        Split and looked up in C (lmlab/tokenizers/_words.c) where it was built: the same ids as the readable path
        (:meth:`encode_lines_python`), ten times faster.

        >>> tok = WordTokenizer.train(["the cat sat", "the <unk> sat"])
        >>> enc = tok.encode_lines(["the dog  sat", "", "<unk>"])
        >>> enc.ids.tolist(), enc.n_lines, enc.n_oov
        ([4, 0, 3, 2, 2, 0, 2], 3, 1)
        """
        encode = self.compiled_encoder()
        if encode is None:  # pragma: no cover - installed without a C compiler
            return self.encode_lines_python(lines)
        ids, n_oov = encode(lines)
        import numpy as np  # here: training a tokenizer, or encoding a line, imports no NumPy

        return EncodedText(np.frombuffer(ids, dtype=np.int32), len(lines), n_oov)

    def compiled_encoder(self) -> Callable[[Sequence[str]], tuple[bytearray, int]] | None:
        """Split and look up in C (lmlab/tokenizers/_words.c): :meth:`encode_lines`'s ids as int32 bytes and the
        OOV count, without NumPy; None where the extension was not built."""
        if WordIndex is None:  # pragma: no cover - installed without a C compiler
            return None
        if self._compiled is None:
            self._compiled = WordIndex(self._tokens)
        index, eos_id, unk_id, lowercase = self._compiled, self.eos_id, self.unk_id, self.lowercase

        def encode(lines: Sequence[str]) -> tuple[bytearray, int]:
            if lowercase:
                lines = [line.lower() for line in lines]
            return index.encode_lines(lines, eos_id, unk_id)

        return encode

    def encode_lines_python(self, lines: Sequence[str]) -> EncodedText:
        """The readable path of :meth:`encode_lines`: each line split and looked up in a dict."""
        return super().encode_lines(lines)

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.id_to_token(i) for i in ids if i not in (self.bos_id, self.eos_id))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase, "tokens": self._tokens}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordTokenizer:
        return cls(d["tokens"], lowercase=bool(d.get("lowercase", False)))
