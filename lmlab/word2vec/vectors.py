"""Trained word vectors as an object of their own: lookup, nearest neighbours, analogies, evaluations.

:class:`WordVectors` holds the words (most frequent first) and their vectors, separate from the trainer, like
gensim's ``KeyedVectors``; it reads and writes the word2vec text and binary formats
(:mod:`lmlab.data.vectors`) and lmlab's word2vec runs.

Similarity is the cosine, cos(x, y) = x . y / (|x| |y|). An analogy "a is to b as c is to ?" is answered by

- 3CosAdd (Mikolov et al. 2013c): argmax_x cos(x, b - a + c) over unit vectors, i.e. the word nearest the mean of
  b, c and -a normalised (gensim's ``most_similar(positive=[b, c], negative=[a])``);
- 3CosMul (Levy & Goldberg 2014, eq. 4): argmax_x cos'(x, b) cos'(x, c) / (cos'(x, a) + 1e-6) with
  cos' = (1 + cos) / 2 in [0, 1] (gensim's ``most_similar_cosmul``),

never answering one of a, b, c. :meth:`WordVectors.evaluate_analogies` and
:meth:`WordVectors.evaluate_similarity` follow gensim's ``evaluate_word_analogies`` and ``evaluate_word_pairs``
(case-insensitive by default, the most frequent spelling standing for each word, only the first
``restrict_vocab`` words considered) so that their numbers can be compared with papers and with gensim.

References: Mikolov et al. 2013c, "Linguistic Regularities in Continuous Space Word Representations"; Levy &
Goldberg 2014, "Linguistic Regularities in Sparse and Explicit Word Representations"; Řehůřek & Sojka 2010 (gensim).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.errors import LmlabError
from lmlab.word2vec.evaluation import pearson, read_analogies, read_word_pairs, spearman

ANALOGY_METHODS = ("3cosadd", "3cosmul")
COSMUL_EPSILON = 1e-6  # gensim's; Levy & Goldberg used 0.001
ANALOGY_CANDIDATES = 5  # the C tool's compute-accuracy and gensim look at the 5 best answers, skipping the question's
ANALOGY_RESTRICT = 30_000  # Mikolov et al. 2013a's limit on the questions' vocabulary
SIMILARITY_RESTRICT = 300_000  # gensim's evaluate_word_pairs default
_BLOCK = 1024  # questions scored per matrix product


class WordVectors:
    """Words and their vectors, most frequent first.

    >>> wv = WordVectors(["king", "queen", "man", "woman"], np.array([[1, 1], [1, -1], [2, 1], [2, -1]], np.float32))
    >>> wv["queen"].tolist(), round(wv.similarity("king", "man"), 4)
    ([1.0, -1.0], 0.9487)
    >>> [(w, round(score, 4)) for w, score in wv.analogy("man", "king", "woman")]   # man : king :: woman : ?
    [('queen', 0.8646)]
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray, counts: np.ndarray | None = None):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(words):
            raise LmlabError(f"vectors must have shape ({len(words)}, D), not {vectors.shape}")
        self.words = list(words)
        self.vectors = np.ascontiguousarray(vectors)
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self.index: dict[str, int] = {}
        for i, w in enumerate(self.words):
            self.index.setdefault(w, i)  # a word listed twice: the first (more frequent) one, as gensim
        self._norms: np.ndarray | None = None

    # ---- reading and writing
    @classmethod
    def load(cls, path: str | os.PathLike, *, limit: int | None = None, encoding_errors: str = "strict") -> WordVectors:
        """Vectors from an lmlab word2vec run directory, or a word2vec text or binary file (either variant)."""
        path = Path(path)
        if path.is_dir():
            from lmlab.word2vec.runs import load_run

            return load_run(path).vectors
        from lmlab.data.vectors import read_word2vec

        words, vectors = read_word2vec(path, limit=limit, encoding_errors=encoding_errors)
        return cls(words, vectors)

    def save_word2vec(self, path: str | os.PathLike, *, binary: bool = False) -> None:
        """Write the word2vec text (or binary) format, which gensim, the C tool and most tools read."""
        from lmlab.data.vectors import write_word2vec

        write_word2vec(path, self.words, self.vectors, binary=binary)

    # ---- lookup
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.word_index(word)]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def word_index(self, word: str) -> int:
        if word not in self.index:
            raise LmlabError(f"{word!r} is not in the vocabulary ({len(self):,} words)" + _case_hint(self, word))
        return self.index[word]

    @property
    def norms(self) -> np.ndarray:
        if self._norms is None:
            self._norms = np.linalg.norm(self.vectors, axis=1)
        return self._norms

    def unit(self, i: int) -> np.ndarray:
        """Row i scaled to length 1 (a zero vector stays zero)."""
        n = self.norms[i]
        return self.vectors[i] / n if n > 0 else self.vectors[i]

    # ---- similarity and analogies
    def similarity(self, a: str, b: str) -> float:
        """cos(v_a, v_b)."""
        return float(np.dot(self.unit(self.word_index(a)), self.unit(self.word_index(b))))

    def cosines(self, target: np.ndarray, restrict_vocab: int | None = None) -> np.ndarray:
        """cos(v_x, target) for the first ``restrict_vocab`` words x, ``target`` of length 1."""
        end = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.nan_to_num(self.vectors[:end] @ target / self.norms[:end], nan=-1.0)

    def _mean_unit(self, positive: Sequence[int], negative: Sequence[int]) -> np.ndarray:
        mean = np.zeros(self.dim, dtype=np.float32)
        for i in positive:
            mean += self.unit(i)
        for i in negative:
            mean -= self.unit(i)
        mean /= np.float32(len(positive) + len(negative))
        n = np.linalg.norm(mean)
        return mean / n if n > 0 else mean

    def most_similar(
        self,
        positive: Sequence[str] | str = (),
        negative: Sequence[str] | str = (),
        *,
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """The ``topn`` words nearest (by cosine) to the normalised mean of the unit vectors of ``positive`` and
        minus those of ``negative``, the query words left out: gensim's ``most_similar``."""
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive and not negative:
            raise LmlabError("most_similar needs at least one word")
        pos = [self.word_index(w) for w in positive]
        neg = [self.word_index(w) for w in negative]
        scores = self.cosines(self._mean_unit(pos, neg), restrict_vocab)
        return self._best(scores, set(pos + neg), topn)

    def most_similar_cosmul(
        self,
        positive: Sequence[str] | str = (),
        negative: Sequence[str] | str = (),
        *,
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """3CosMul: the words x maximising prod_p cos'(x, p) / (prod_n cos'(x, n) + 1e-6), cos' = (1 + cos) / 2."""
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive:
            raise LmlabError("most_similar_cosmul needs at least one positive word")
        pos = [self.word_index(w) for w in positive]
        neg = [self.word_index(w) for w in negative]
        scores = _cosmul(
            [self.cosines(self.unit(i), restrict_vocab) for i in pos],
            [self.cosines(self.unit(i), restrict_vocab) for i in neg],
        )
        return self._best(scores, set(pos + neg), topn)

    def _best(self, scores: np.ndarray, exclude: set[int], topn: int) -> list[tuple[str, float]]:
        k = min(len(scores), topn + len(exclude))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in top.tolist() if i not in exclude][:topn]

    def analogy(
        self, a: str, b: str, c: str, *, method: str = "3cosadd", topn: int = 1, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """ "a is to b as c is to ?": the best answers by 3CosAdd (b - a + c) or 3CosMul, with their scores."""
        _check_method(method)
        if method == "3cosadd":
            return self.most_similar([b, c], [a], topn=topn, restrict_vocab=restrict_vocab)
        return self.most_similar_cosmul([b, c], [a], topn=topn, restrict_vocab=restrict_vocab)

    # ---- evaluation
    def _case_vocab(self, restrict_vocab: int | None, case_insensitive: bool) -> dict[str, int]:
        """The first ``restrict_vocab`` words (uppercased when case-insensitive) -> index; of several spellings of
        one word, the most frequent (first) stands for it."""
        ok: dict[str, int] = {}
        for i, w in enumerate(self.words[:restrict_vocab]):
            ok.setdefault(w.upper() if case_insensitive else w, i)
        return ok

    def evaluate_analogies(
        self,
        path: str | os.PathLike,
        *,
        restrict_vocab: int = ANALOGY_RESTRICT,
        case_insensitive: bool = True,
        method: str = "3cosadd",
    ) -> dict[str, Any]:
        """Accuracy on an analogy file, overall and per section, as gensim's ``evaluate_word_analogies``.

        A question counts only when its four words are among the first ``restrict_vocab`` words (the others are
        reported as ``oov_questions``). Its answer is the best of the 5 nearest words that is not a, b or c
        (compared case-insensitively when ``case_insensitive``), the 5 found with a, b, c themselves left out.
        """
        _check_method(method)
        questions = read_analogies(path)
        ok = self._case_vocab(restrict_vocab, case_insensitive)
        fold = str.upper if case_insensitive else str
        asked, oov = [], 0
        for q in questions:
            words = tuple(fold(w) for w in q.words)
            if all(w in ok for w in words):
                asked.append((q, words))
            else:
                oov += 1
        if not asked:
            raise LmlabError(
                f"{path}: none of its {len(questions):,} questions has all four words among the first "
                f"{min(restrict_vocab, len(self)):,} words of the vocabulary; nothing to evaluate"
            )
        end = min(restrict_vocab, len(self))
        unit = self.vectors[:end] / np.where(self.norms[:end] > 0, self.norms[:end], 1)[:, None]
        correct = np.zeros(len(asked), dtype=bool)
        for start in range(0, len(asked), _BLOCK):
            block = asked[start : start + _BLOCK]
            ids = np.array([[ok[w] for w in words] for _, words in block])  # (B, 4)
            scores = self._analogy_scores(ids, unit, method)  # (B, end)
            for r, (_, words) in enumerate(block):
                a, b, c, expected = words
                row = scores[r]
                query = {int(ids[r, 0]), int(ids[r, 1]), int(ids[r, 2])}
                k = min(len(row), ANALOGY_CANDIDATES + len(query))
                top = np.argpartition(-row, k - 1)[:k]
                top = [i for i in top[np.argsort(-row[top], kind="stable")].tolist() if i not in query]
                predicted = None
                for i in top[:ANALOGY_CANDIDATES]:  # as gensim: the first not spelling a, b or c, else the last
                    predicted = fold(self.words[i])
                    if predicted in ok and predicted not in (a, b, c):
                        break
                correct[start + r] = predicted == expected
        sections: dict[str, list[int]] = {}
        for (q, _), right in zip(asked, correct):
            tally = sections.setdefault(q.section, [0, 0])
            tally[0] += int(right)
            tally[1] += 1
        # sections in file order, with the ones no question of which could be asked reported as 0 of 0
        names = list(dict.fromkeys(q.section for q in questions))
        return {
            "accuracy": float(correct.mean()),
            "correct": int(correct.sum()),
            "total": len(asked),
            "questions": len(questions),
            "oov_questions": oov,
            "restrict_vocab": restrict_vocab,
            "method": method,
            "sections": [
                {
                    "section": name,
                    "correct": sections.get(name, [0, 0])[0],
                    "total": sections.get(name, [0, 0])[1],
                    "accuracy": sections[name][0] / sections[name][1] if name in sections else None,
                }
                for name in names
            ],
        }

    def _analogy_scores(self, ids: np.ndarray, unit: np.ndarray, method: str) -> np.ndarray:
        """Each question's score of every candidate: (B, end)."""
        a, b, c = unit[ids[:, 0]], unit[ids[:, 1]], unit[ids[:, 2]]
        norms = np.where(self.norms[: len(unit)] > 0, self.norms[: len(unit)], 1)
        if method == "3cosadd":
            mean = (b + c - a) / np.float32(3)
            mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), np.float32(1e-30))
            return (mean @ self.vectors[: len(unit)].T) / norms
        return _cosmul([b @ unit.T, c @ unit.T], [a @ unit.T])

    def evaluate_similarity(
        self,
        path: str | os.PathLike,
        *,
        restrict_vocab: int = SIMILARITY_RESTRICT,
        case_insensitive: bool = True,
    ) -> dict[str, Any]:
        """Spearman's and Pearson's correlation between the cosines and the human scores of a word-pair file, as
        gensim's ``evaluate_word_pairs``: pairs with a word outside the first ``restrict_vocab`` words are left out
        and counted (``oov_pairs``)."""
        pairs = read_word_pairs(path)
        ok = self._case_vocab(restrict_vocab, case_insensitive)
        fold = str.upper if case_insensitive else str
        gold, model = [], []
        for a, b, score, _ in pairs:
            a, b = fold(a), fold(b)
            if a in ok and b in ok:
                gold.append(score)
                model.append(float(np.dot(self.unit(ok[a]), self.unit(ok[b]))))
        oov = len(pairs) - len(gold)
        if not gold:
            raise LmlabError(
                f"{path}: all {len(pairs):,} word pairs are out of the vocabulary (the first "
                f"{min(restrict_vocab, len(self)):,} words); no similarity to report"
            )
        if len(gold) < 3:
            raise LmlabError(f"{path}: only {len(gold)} pair(s) in the vocabulary; a correlation needs at least 3")
        rho, r = spearman(np.array(gold), np.array(model)), pearson(np.array(gold), np.array(model))
        if not (np.isfinite(rho) and np.isfinite(r)):
            raise LmlabError(
                f"{path}: the scores or the cosines of its {len(gold)} pairs are all equal: no correlation"
            )
        return {
            "spearman": rho,
            "pearson": r,
            "pairs": len(gold),
            "oov_pairs": oov,
            "oov_ratio": oov / len(pairs),
            "restrict_vocab": restrict_vocab,
        }


def _cosmul(positive: list[np.ndarray], negative: list[np.ndarray]) -> np.ndarray:
    """prod (1 + cos_p) / 2 over positive / (prod (1 + cos_n) / 2 over negative + 1e-6)."""
    num = np.prod([(1 + p) / 2 for p in positive], axis=0)
    den = np.prod([(1 + n) / 2 for n in negative], axis=0) if negative else np.ones_like(num)
    return num / (den + COSMUL_EPSILON)


def _as_list(words: Sequence[str] | str) -> list[str]:
    return [words] if isinstance(words, str) else list(words)


def _check_method(method: str) -> None:
    if method not in ANALOGY_METHODS:
        raise LmlabError(f"unknown analogy method {method!r}; choose one of: {', '.join(ANALOGY_METHODS)}")


def _case_hint(wv: WordVectors, word: str) -> str:
    variants = [w for w in (word.lower(), word.capitalize(), word.upper()) if w != word and w in wv.index]
    return f"; did you mean {variants[0]!r}?" if variants else ""


__all__ = ["ANALOGY_METHODS", "ANALOGY_RESTRICT", "WordVectors"]
