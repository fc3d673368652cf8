"""Character-level tokenizer: every character of the training text is a token."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from lmlab.tokenizers.base import EOS_ID, SPECIALS, UNK_ID, EncodedText, VocabTokenizer

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from typing import Any

try:
    from lmlab.tokenizers._words import WordIndex
except ImportError:  # pragma: no cover - installed without a C compiler
    WordIndex = None


class CharTokenizer(VocabTokenizer):
    """Each character is a token; the newline ending a line is ``</s>``.

    >>> tok = CharTokenizer.train(["abca"])
    >>> tok.encode("cab"), tok.decode(tok.encode("cab"))
    ([5, 3, 4], 'cab')
    """

    kind = "char"

    @classmethod
    def train(cls, lines: Iterable[str]) -> CharTokenizer:
        """Vocabulary: the special tokens, then every character seen, in code-point order."""
        chars: set[str] = set()
        for line in lines:
            chars.update(line)
        return cls(list(SPECIALS) + sorted(chars))

    def split(self, text: str) -> list[str]:
        return list(text)

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.id_to_token(i) for i in ids if i not in (self.bos_id, self.eos_id))

    def encode_lines(self, lines: Sequence[str]) -> EncodedText:
        """Vectorised: code points of the whole text mapped through a look-up table; newlines become ``</s>``."""
        import numpy as np  # here: training a tokenizer, or encoding a line, imports no NumPy

        text = "\n".join(lines) + "\n" if lines else ""
        cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        uniq, inverse = np.unique(cps, return_inverse=True)
        table = np.array([EOS_ID if c == 10 else self._index.get(chr(c), -1) for c in uniq.tolist()], dtype=np.int64)
        ids = table[inverse]
        oov = ids < 0
        n_oov = int(oov.sum())
        ids[oov] = UNK_ID
        return EncodedText(ids.astype(np.int32), len(lines), n_oov)

    def compiled_encoder(self) -> Callable[[Sequence[str]], tuple[bytearray, int]] | None:
        """Look up each character in C (lmlab/tokenizers/_words.c, the word tokenizer's index cutting at every
        character): :meth:`encode_lines`'s ids as int32 bytes and the OOV count, without NumPy; None where the
        extension was not built."""
        if WordIndex is None:  # pragma: no cover - installed without a C compiler
            return None
        if self._compiled is None:
            self._compiled = WordIndex(self._tokens)
        index = self._compiled

        def encode(lines: Sequence[str]) -> tuple[bytearray, int]:
            return index.encode_lines(lines, EOS_ID, UNK_ID, True)

        return encode

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokens": self._tokens}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CharTokenizer:
        return cls(d["tokens"])
