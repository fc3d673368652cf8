"""Test sets for word vectors: analogy questions and word-similarity judgements, and the statistics they need.

- Analogies (Mikolov et al. 2013a, ``questions-words.txt``): ``: section`` lines, then questions ``a b c d``,
  "a is to b as c is to d", answered by the word nearest to b - a + c.
- Word similarity (WordSim-353, SimLex-999, MEN, ...): ``word1 word2 score`` per line, tab-, comma- or
  space-separated; ``#`` starts a comment; a first line whose score is not a number is a header. The vectors'
  cosine similarities are compared with the human scores by Spearman's rank correlation (and Pearson's).

References: Mikolov et al. 2013a, "Efficient Estimation of Word Representations in Vector Space"; Finkelstein et
al. 2002 (WordSim-353); Hill et al. 2015 (SimLex-999); Spearman 1904.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError
from lmlab.runfiles import read_bytes

#: Largest test file read: 50 times questions-words.txt (600 KB), whose 19,544 questions are the usual set.
MAX_TEST_FILE_BYTES = 32 << 20


@dataclass(frozen=True)
class Question:
    section: str
    words: tuple[str, str, str, str]  # a b c d: a is to b as c is to d
    line: int


def _read_text(path: str | os.PathLike, flag: str) -> list[str]:
    path = Path(path)
    if path.is_dir():
        raise LmlabError(f"{flag} {path} is a directory; give a text file")
    data = read_bytes(path, limit=MAX_TEST_FILE_BYTES, missing=f"{flag} {path}: no such file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LmlabError(f"{path}: not valid UTF-8 at byte offset {e.start}") from None
    return text.splitlines()


def read_analogies(path: str | os.PathLike) -> list[Question]:
    """The questions of an analogy file in Mikolov's format; a line that is neither a ``:`` section nor four words
    is an error naming it.

    >>> import tempfile; f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    >>> _ = f.write(": capitals\\nAthens Greece Paris France\\n"); f.close()
    >>> read_analogies(f.name)
    [Question(section='capitals', words=('Athens', 'Greece', 'Paris', 'France'), line=2)]
    """
    questions = []
    section = ""
    for number, line in enumerate(_read_text(path, "--analogies"), start=1):
        if not line.strip():
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.split()
        if len(words) != 4:
            raise LmlabError(
                f"{path}:{number}: expected four words 'a b c d' (a is to b as c is to d) or a ': section' line, "
                f"found {len(words)} word{'s' if len(words) != 1 else ''}: {line.strip()[:60]!r}"
            )
        questions.append(Question(section, (words[0], words[1], words[2], words[3]), number))
    if not questions:
        raise LmlabError(f"{path} holds no analogy questions (lines 'a b c d' under ': section' headers)")
    return questions


def _fields(line: str) -> list[str]:
    if "\t" in line:
        return [f.strip() for f in line.split("\t")]
    if "," in line:
        return [f.strip() for f in line.split(",")]
    return line.split()


def read_word_pairs(path: str | os.PathLike) -> list[tuple[str, str, float, int]]:
    """``(word1, word2, score, line)`` for every judgement of a word-similarity file.

    >>> import tempfile; f = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
    >>> _ = f.write("Word 1,Word 2,Human (mean)\\ntiger,cat,7.35\\n"); f.close()
    >>> read_word_pairs(f.name)
    [('tiger', 'cat', 7.35, 2)]
    """
    pairs = []
    first = True
    for number, line in enumerate(_read_text(path, "--similarity"), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = _fields(line)
        score = _number(fields[2]) if len(fields) == 3 else None
        if score is None or not fields[0] or not fields[1]:
            if first and len(fields) == 3:
                first = False
                continue  # a header line
            raise LmlabError(
                f"{path}:{number}: expected 'word1 word2 score' (tab-, comma- or space-separated), "
                f"found {line.strip()[:60]!r}"
            )
        first = False
        pairs.append((fields[0], fields[1], score, number))
    if not pairs:
        raise LmlabError(f"{path} holds no word pairs (lines 'word1 word2 score')")
    return pairs


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks (as Spearman's coefficient needs).

    >>> average_ranks(np.array([10.0, 30.0, 20.0, 30.0])).tolist()
    [1.0, 3.5, 2.0, 3.5]
    """
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + end + 1) / 2  # mean of ranks start+1 .. end
            start = end
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation coefficient, or nan when either side is constant.

    >>> pearson(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0])).__round__(4)
    0.9934
    """
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    y = np.asarray(y, dtype=np.float64) - np.mean(y)
    denominator = math.sqrt(float(np.dot(x, x)) * float(np.dot(y, y)))
    return float(np.dot(x, y)) / denominator if denominator > 0 else math.nan


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's coefficient of the average ranks.

    >>> spearman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0]))
    0.8
    """
    return pearson(average_ranks(x), average_ranks(y))


__all__ = [
    "Question",
    "average_ranks",
    "pearson",
    "read_analogies",
    "read_word_pairs",
    "spearman",
]
