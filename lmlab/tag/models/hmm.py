"""A bigram hidden Markov model tagger (``hmm``): counted, not trained by gradient; decoded by Viterbi.

Tags are the hidden states, words the observations. With ``<s>`` before a sentence and ``</s>`` after it::

    p(w_1..n, y_1..n) = prod_t P(y_t | y_{t-1}) P(w_t | y_t)  *  P(</s> | y_n),      y_0 = <s>

    P(j | i) = (c(i, j) + k_A) / (c(i) + k_A (K + 1))          transitions, over the K tags and </s>
                                                               (over the K tags alone after <s>)
    P(w | t) = (c(t, w) + k_B) / (c(t) + k_B (V + 1))          emissions, add-k over the V training words and <unk>

A word never seen in training is read as ``<unk>``, whose emission probability is the add-k share alone, k_B /
(c(t) + k_B (V + 1)): small tags get more of it than large ones. The best tags maximise the joint probability, found
by Viterbi in log space in O(n K^2)::

    delta_1(j) = log P(j | <s>) + log P(w_1 | j)
    delta_t(j) = max_i [delta_{t-1}(i) + log P(j | i)] + log P(w_t | j),     psi_t(j) = the argmax i
    y_n = argmax_j [delta_n(j) + log P(</s> | j)],   y_{t-1} = psi_t(y_t)

The tests check the decoding against enumeration of all K^n tag sequences. ``most_frequent_tags`` is the baseline
below it: each known word's most frequent training tag (88.75% of the words of UD English GUM's test split).

References: Church 1988; Brants 2000, "TnT - A Statistical Part-of-Speech Tagger"; Jurafsky & Martin, "Speech and
Language Processing", ch. 8 (HMM part-of-speech tagging, the most-frequent-tag baseline); Viterbi 1967.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lmlab.errors import LmlabError
from lmlab.tag.vocab import PAD, UNK, VOCAB_FILE, Vocabulary

WEIGHTS_FILE = "model.safetensors"


@dataclass(kw_only=True)
class HMMConfig:
    """Add-k smoothing of both tables; the sizes come from the data."""

    family: ClassVar[str] = "hmm"

    vocab_size: int = 2  # word ids: padding, <unk>, the training words (set from the data)
    num_tags: int = 2  # K (set from the data)
    emission_k: float = 0.001  # k_B: little mass for unseen (tag, word) pairs: most words have one or two tags
    transition_k: float = 0.1  # k_A: every tag bigram stays possible

    def __post_init__(self):
        for name in ("emission_k", "transition_k"):
            k = getattr(self, name)
            if not (isinstance(k, (int, float)) and not isinstance(k, bool) and math.isfinite(k) and k > 0):
                raise LmlabError(f"--{name.replace('_', '-')} must be a number > 0, got {k!r}")
        for name in ("vocab_size", "num_tags"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and 2 <= v <= 2**26):
                raise LmlabError(f"{name} must be an integer from 2 to 2**26, got {v!r}")


def hmm_train_config(config_class: type) -> type:
    """The flags of ``--model hmm`` are its config's fields: it has no training recipe (one pass of counting)."""
    return config_class


def count_tables(
    sentences: Sequence[Sequence[int]], tag_ids: Sequence[Sequence[int]], num_tags: int, vocab_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Transition counts (K + 1, K + 1) (row K is <s>, column K is </s>) and emission counts (K, V).

    >>> A, B = count_tables([[2, 3]], [[0, 1]], num_tags=2, vocab_size=4)
    >>> A.tolist(), B.tolist()
    ([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    """
    K = num_tags
    A = np.zeros((K + 1, K + 1))
    B = np.zeros((K, vocab_size))
    for words, tags in zip(sentences, tag_ids):
        path = [K, *tags, K]  # <s> y_1 .. y_n </s>
        np.add.at(A, (path[:-1], path[1:]), 1)
        np.add.at(B, (list(tags), list(words)), 1)
    return A, B


def log_probabilities(
    A: np.ndarray, B: np.ndarray, transition_k: float, emission_k: float
) -> tuple[np.ndarray, np.ndarray]:
    """Add-k log probabilities of the count tables (see the module docstring). Transitions into <s> and the
    emission of padding (column 0) are impossible (-inf); every other row sums to one.

    >>> logA, logB = log_probabilities(*count_tables([[2, 3]], [[0, 1]], 2, 4), 1.0, 1.0)
    >>> np.exp(logA[2]).round(3).tolist(), np.exp(logB[0]).round(3).tolist()
    ([0.667, 0.333, 0.0], [0.0, 0.25, 0.5, 0.25])
    """
    K = B.shape[0]
    counts = A.copy()
    counts[K, K] = 0.0  # <s> straight to </s>: an empty sentence, which never happens
    outcomes = np.full((K + 1, 1), K + 1.0)  # the K tags and </s> ...
    outcomes[K] = K  # ... but after <s>, the K tags only
    with np.errstate(divide="ignore"):
        logA = np.log(counts + transition_k) - np.log(counts.sum(axis=1, keepdims=True) + transition_k * outcomes)
        logB = np.log(B + emission_k) - np.log(B.sum(axis=1, keepdims=True) + emission_k * (B.shape[1] - 1))
    logA[K, K] = -np.inf
    logB[:, PAD] = -np.inf
    return logA, logB


def viterbi(logA: np.ndarray, logB: np.ndarray, words: Sequence[int]) -> list[int]:
    """The most probable tag ids of a sentence's word ids (see the module docstring).

    >>> logA = np.log([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.5, 0.5, 1e-9]])
    >>> logB = np.log([[1e-9, 0.15, 0.8, 0.05], [1e-9, 0.1, 0.1, 0.8]])
    >>> viterbi(logA, logB, [2, 2, 3])
    [0, 0, 1]
    """
    K = logB.shape[0]
    delta = logA[K, :K] + logB[:, words[0]]  # (K,)
    back = []
    for w in words[1:]:
        cand = delta[:, None] + logA[:K, :K]  # (K_prev, K)
        psi = cand.argmax(axis=0)
        delta = cand[psi, np.arange(K)] + logB[:, w]
        back.append(psi)
    y = int((delta + logA[:K, K]).argmax())
    path = [y]
    for psi in reversed(back):
        y = int(psi[y])
        path.append(y)
    return path[::-1]


def joint_log_probability(logA: np.ndarray, logB: np.ndarray, words: Sequence[int], tags: Sequence[int]) -> float:
    """log p(w_1..n, y_1..n), the quantity Viterbi maximises."""
    K = logB.shape[0]
    path = [K, *tags, K]
    return float(sum(logA[a, b] for a, b in zip(path[:-1], path[1:])) + sum(logB[t, w] for t, w in zip(tags, words)))


class HMMTagger:
    """A counted bigram HMM with its vocabulary and tags; ``predict`` tags sentences of words."""

    family = "hmm"

    def __init__(self, cfg: HMMConfig, vocab: Vocabulary, tags: Sequence[str], logA: np.ndarray, logB: np.ndarray):
        self.cfg, self.vocab, self.tags = cfg, vocab, list(tags)
        self.logA, self.logB = logA, logB

    @classmethod
    def fit(cls, cfg: HMMConfig, vocab: Vocabulary, tags: Sequence[str], sentences: Any) -> HMMTagger:
        """Count ``sentences`` (a :class:`lmlab.tag.data.Sentences`) into the two tables."""
        index = {t: i for i, t in enumerate(tags)}
        words = [[vocab.word_id(w) for w in s] for s in sentences.words]
        tag_ids = [[index[t] for t in s] for s in sentences.tags]
        A, B = count_tables(words, tag_ids, len(tags), vocab.size)
        logA, logB = log_probabilities(A, B, cfg.transition_k, cfg.emission_k)
        return cls(cfg, vocab, tags, logA, logB)

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        return [[self.tags[i] for i in viterbi(self.logA, self.logB, [self.vocab.word_id(w) for w in s])]
                for s in sentences]  # fmt: skip

    def num_parameters(self) -> int:
        return int(self.logA.size + self.logB.size)

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save

        from lmlab.io import atomic_open

        self.vocab.save(directory / VOCAB_FILE)
        data = save({"log_transitions": self.logA, "log_emissions": self.logB}, metadata={"family": "hmm"})
        with atomic_open(directory / WEIGHTS_FILE, "wb") as f:
            f.write(data)


def train_hmm(cfg: HMMConfig, data: Any, vocab: Vocabulary, opts: Any, out: Path) -> HMMTagger:
    """Count the training sentences and write a run directory at ``out`` (no engine: one pass of counting)."""
    from lmlab.io import write_json
    from lmlab.runconfig import RunInfo, run_envelope
    from lmlab.rundir import replace_run

    t0 = time.perf_counter()
    model = HMMTagger.fit(cfg, vocab, data.tags, data.train)
    seconds = time.perf_counter() - t0
    stats = {
        "status": "completed",
        "train_tokens": data.train.tokens,
        "train_seconds": round(seconds, 3),
        "tokens_per_s": round(data.train.tokens / max(seconds, 1e-9), 1),
        "parameters": model.num_parameters(),
    }
    info = RunInfo(data=opts.data_info, command=opts.command, stats=stats)
    run = run_envelope("tag", "hmm", asdict(cfg), info, tags=list(data.tags), scheme=data.scheme, vocab=vocab.record())
    with replace_run(out, opts.command or None) as tmp:
        model.save(tmp)
        write_json(tmp / "config.json", run)
    return model


def load_hmm(run_dir: Path, run_cfg: dict[str, Any]) -> HMMTagger:
    """The HMM of a run: the vocabulary checked against its recorded hash, the tables' shapes and types against the
    configuration before they are read."""
    from lmlab.runfiles import config_from_json, read_safetensors_arrays

    where = str(run_dir / "config.json")
    cfg = config_from_json(HMMConfig, run_cfg.get("model"), where, "model.")
    vocab = Vocabulary.load(run_dir, run_cfg.get("vocab"), where)
    tags = run_cfg["tags"]
    if cfg.vocab_size != vocab.size or cfg.num_tags != len(tags):
        raise LmlabError(f"{run_dir}: the configuration does not match its {VOCAB_FILE} or its tags")
    K, V = cfg.num_tags, cfg.vocab_size
    expected = {"log_transitions": (K + 1, K + 1), "log_emissions": (K, V)}
    _, arrays = read_safetensors_arrays(
        run_dir / WEIGHTS_FILE, expected, {"log_transitions": "F64", "log_emissions": "F64"}
    )
    if set(arrays) != set(expected):
        raise LmlabError(f"{run_dir / WEIGHTS_FILE}: expected the tensors {', '.join(expected)}")
    return HMMTagger(cfg, vocab, tags, arrays["log_transitions"], arrays["log_emissions"])


def most_frequent_tags(train: Any, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """The most-frequent-tag baseline: each word's most frequent tag in ``train`` (a
    :class:`lmlab.tag.data.Sentences`), words compared lowercased; a word never seen in training is ``PROPN`` when
    capitalised, ``NUM`` when it holds a digit, else ``NOUN`` (UD's open classes; without them in the tag set, the most
    frequent training tag). Ties go to the tag seen first in training.

    >>> from lmlab.tag.data import Sentences
    >>> train = Sentences([["The", "dog", "runs"], ["Rex", "runs", "2", "miles"]],
    ...                   [["DET", "NOUN", "VERB"], ["PROPN", "VERB", "NUM", "NOUN"]])
    >>> most_frequent_tags(train, [["the", "Runs", "Ada", "42", "cat"]])
    [['DET', 'VERB', 'PROPN', 'NUM', 'NOUN']]
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    overall: Counter[str] = Counter()
    for words, tags in zip(train.words, train.tags):
        for w, t in zip(words, tags):
            counts[w.lower()][t] += 1
            overall[t] += 1
    best = {w: c.most_common(1)[0][0] for w, c in counts.items()}  # ties: the tag seen first
    top = overall.most_common(1)[0][0]

    def unknown(word: str) -> str:
        guess = "PROPN" if word[:1].isupper() else "NUM" if any(c.isdigit() for c in word) else "NOUN"
        return guess if guess in overall else top

    return [[best.get(w.lower()) or unknown(w) for w in s] for s in sentences]


__all__ = [
    "UNK",
    "HMMConfig",
    "HMMTagger",
    "count_tables",
    "hmm_train_config",
    "joint_log_probability",
    "load_hmm",
    "log_probabilities",
    "most_frequent_tags",
    "train_hmm",
    "viterbi",
]
