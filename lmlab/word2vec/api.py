"""A trained word2vec run through :func:`lmlab.load`: nearest words, analogies, and words drawn in two dimensions.

::

    m = lmlab.load("runs/sgns")
    m.predict(["king"], topn=5)          # [{"word": "king", "neighbours": [{"word": "queen", "cosine": 0.71}, ...]}]
    m.analogy("man", "king", "woman")    # man : king :: woman : ?   (king - man + woman, 3CosAdd)
    m.explain("king queen man woman")    # the four vectors on their first two principal axes

``predict`` gives what ``lmlab similar`` prints; ``analogy(a, b, c)`` answers "a is to b as c is to ?", which is
``lmlab analogy RUN b a c`` (the command takes ``A - B + C``). A word outside the vocabulary is an error naming it,
with the spelling the vocabulary has when it differs only in case or is close (:func:`difflib.get_close_matches`
over the most frequent words).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.api import TrainedRun, bounded_int, inputs_list, json_ready, nonempty_text
from lmlab.errors import LmlabError
from lmlab.word2vec.plot import pca_2d
from lmlab.word2vec.runs import Word2VecRun
from lmlab.word2vec.runs import load_run as load_word2vec_run
from lmlab.word2vec.vectors import ANALOGY_METHODS, WordVectors

MAX_TOPN = 1000  # neighbours or answers per query (or the whole vocabulary, as lmlab similar --top can ask)
MAX_EXPLAIN_WORDS = 500  # points of one projection
SPELLING_SEARCH = 20_000  # the most frequent words searched for a close spelling of an unknown word (~50 ms)


class Word2VecTrainedRun(TrainedRun):
    """Trained word vectors (``skipgram`` or ``cbow``) with their vocabulary, most frequent first."""

    task = "word2vec"
    inputs = "word"
    verbs = ("analogy",)

    def __init__(self, path: str | Path, config: dict[str, Any], run: Word2VecRun):
        super().__init__(path, config)
        self.run: Word2VecRun | None = run
        self.vectors: WordVectors = run.vectors

    @classmethod
    def from_vectors_file(cls, path: str | Path) -> Word2VecTrainedRun:
        """The vectors of a word2vec text or binary file (either variant), which ``lmlab similar`` and ``lmlab
        analogy`` read where they read a run: no run configuration, no counts, no training statistics."""
        vectors = WordVectors.load(path)
        m = cls.__new__(cls)
        TrainedRun.__init__(m, path, {"task": cls.task, "source": str(path)})
        m.run, m.vectors = None, vectors
        return m

    def num_parameters(self) -> int:
        return self.run.num_parameters() if self.run is not None else int(self.vectors.vectors.size)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "vocab_size": len(self.vectors), "dim": self.vectors.dim}

    def word(self, word: Any) -> str:
        """``word`` if the vocabulary has it, else an LmlabError naming it (and a close spelling it has)."""
        word = nonempty_text(word, "word").strip()
        if word not in self.vectors:
            raise LmlabError(f"{word!r} is not in the vocabulary ({len(self.vectors):,} words){self._hint(word)}")
        return word

    def _hint(self, word: str) -> str:
        cased = [w for w in (word.lower(), word.capitalize(), word.upper()) if w != word and w in self.vectors]
        close = cased or difflib.get_close_matches(word, self.vectors.words[:SPELLING_SEARCH], n=1)
        return f"; did you mean {close[0]!r}?" if close else ""

    def _restrict(self, restrict_vocab: int | None) -> int | None:
        return None if restrict_vocab is None else bounded_int(restrict_vocab, "restrict_vocab", 1, len(self.vectors))

    def predict(self, words: Sequence[str], topn: int = 10, restrict_vocab: int | None = None) -> list[dict[str, Any]]:
        """For each word its ``topn`` nearest words by cosine, nearest first, the word itself left out (among the
        ``restrict_vocab`` most frequent words, or all)."""
        words = [self.word(w) for w in inputs_list(words, "words")]
        topn = bounded_int(topn, "topn", 1, max(MAX_TOPN, len(self.vectors)))
        restrict = self._restrict(restrict_vocab)
        return json_ready(
            [
                {
                    "word": w,
                    "count": self._count(w),
                    "neighbours": [
                        {"word": n, "cosine": c}
                        for n, c in self.vectors.most_similar([w], topn=topn, restrict_vocab=restrict)
                    ],
                }
                for w in words
            ]
        )

    def _count(self, word: str) -> int | None:
        counts = self.vectors.counts
        return None if counts is None else int(counts[self.vectors.word_index(word)])

    def analogy(
        self,
        a: str,
        b: str,
        c: str,
        topn: int = 10,
        method: str = "3cosadd",
        restrict_vocab: int | None = None,
    ) -> dict[str, Any]:
        """ "``a`` is to ``b`` as ``c`` is to ?": the ``topn`` best answers, a, b and c left out.

        3CosAdd ranks by the ``cosine`` of each answer with b - a + c (the unit vectors' normalised sum); 3CosMul
        (Levy & Goldberg 2014) by its own ``score``, the answer's ``cosine`` with b - a + c given beside it.
        """
        a, b, c = self.word(a), self.word(b), self.word(c)
        topn = bounded_int(topn, "topn", 1, max(MAX_TOPN, len(self.vectors)))
        if method not in ANALOGY_METHODS:
            raise LmlabError(f"method must be one of {', '.join(ANALOGY_METHODS)}, got {method!r}")
        restrict = self._restrict(restrict_vocab)
        wv = self.vectors
        answers = wv.analogy(a, b, c, method=method, topn=topn, restrict_vocab=restrict)
        target = wv.unit(wv.word_index(b)) - wv.unit(wv.word_index(a)) + wv.unit(wv.word_index(c))
        target /= max(float(np.linalg.norm(target)), 1e-30)  # b - a + c of unit vectors, made unit
        return json_ready(
            {
                "question": f"{a} : {b} :: {c} : ?",
                "a": a,
                "b": b,
                "c": c,
                "method": method,
                "answers": [
                    {"word": w, "score": s, "cosine": float(np.dot(wv.unit(wv.word_index(w)), target))}
                    for w, s in answers
                ],
            }
        )

    def explain(self, words: Sequence[str] | str) -> dict[str, Any]:
        """The vectors of ``words`` (a list, or one string of words separated by spaces; repeats dropped) centred
        and projected on their first two principal axes (PCA by SVD, as ``lmlab plot --words`` draws them), with
        the share of their variance each axis shows."""
        given = nonempty_text(words, "list of words").split() if isinstance(words, str) else inputs_list(words, "words")
        words = list(dict.fromkeys(self.word(w) for w in given))
        if not 2 <= len(words) <= MAX_EXPLAIN_WORDS:
            raise LmlabError(f"explain projects 2 to {MAX_EXPLAIN_WORDS} distinct words, got {len(words)}")
        x = np.stack([self.vectors[w] for w in words]).astype(np.float64)  # (N, D)
        points = pca_2d(x)  # (N, 2)
        total = float(((x - x.mean(axis=0)) ** 2).sum())
        explained = (points**2).sum(axis=0) / total if total > 0 else np.zeros(2)
        return json_ready(
            {
                "words": words,
                "points": [{"word": w, "x": p[0], "y": p[1]} for w, p in zip(words, points.tolist())],
                "explained_variance": explained,  # share of the words' variance along x and along y
                "method": "PCA (SVD of the centred vectors)",
            }
        )


def load_run(path: str | Path) -> Word2VecTrainedRun:
    """The word2vec run at ``path`` (what :func:`lmlab.load` returns for it)."""
    from lmlab.runfiles import read_versioned_json

    run = load_word2vec_run(path)
    config = read_versioned_json(Path(path) / "config.json", "lmlab-run", 1, "run configuration")
    return Word2VecTrainedRun(path, config, run)


__all__ = ["Word2VecTrainedRun", "load_run"]
