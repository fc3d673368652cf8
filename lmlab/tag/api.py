"""A trained tagger through :func:`lmlab.load`: the tags of sentences, and each word's distribution over the tags.

::

    m = lmlab.load("runs/bilstm-crf")
    m.predict(["The old man the boat ."])   # [{"tokens": ["The", ...], "tags": ["DET", ...], ...}]
    m.explain("The old man the boat .")     # probabilities (tokens x tags), and a CRF's transition scores

A sentence is a string, split at whitespace as ``lmlab tag`` splits it (give it tokenized as the training data
was), or a list of tokens. ``predict`` gives what ``lmlab tag RUN --text ... --json`` prints.

``explain`` gives, for every word, a distribution over the tags:

- the softmax taggers (``window``, ``bilstm``, ``transformer``): p(y_t | sentence), the softmax of the word's
  scores; its argmax is the predicted tag;
- ``bilstm-crf``: the CRF's marginals p(y_t = j | sentence), summed over every tag sequence by the
  forward-backward algorithm (:func:`chain_marginals`); the predicted tags are the best *sequence* (Viterbi),
  which may differ from each word's most probable tag. Its ``transitions`` (start, tag-to-tag and end scores)
  come with it;
- ``hmm``: the posterior p(y_t = j | w_1..n) of the HMM's joint probability (</s> included), by the same
  forward-backward on log P(j | i) and log P(w_t | j); its ``transitions`` are the log probabilities.

References: Rabiner 1989 (the forward-backward algorithm); Lafferty, McCallum & Pereira 2001 (CRF marginals);
Jurafsky & Martin, "Speech and Language Processing", appendix A (HMM posteriors).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.api import TrainedRun, inputs_list, json_ready, nonempty_text
from lmlab.errors import LmlabError

MAX_EXPLAIN_TOKENS = 1000  # words of one explained sentence: the matrix is words x tags


def log_sum_exp(x: np.ndarray, axis: int) -> np.ndarray:
    """log sum_i exp(x_i) along ``axis``, stable, and -inf where every term is -inf.

    >>> log_sum_exp(np.array([[0.0, np.log(3.0)], [-np.inf, -np.inf]]), axis=1).round(4).tolist()
    [1.3863, -inf]
    """
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(x - m).sum(axis=axis)) + np.squeeze(m, axis=axis)


def chain_marginals(start: np.ndarray, transitions: np.ndarray, end: np.ndarray, emissions: np.ndarray) -> np.ndarray:
    """p(y_t = j | x) (n, K) of the linear chain scoring y_1..n as start[y_1] + sum_t E_t(y_t) +
    sum_t A[y_{t-1}, y_t] + end[y_n] (log space; a CRF's scores, or an HMM's log probabilities)::

        alpha_1(j) = start[j] + E_1(j);     alpha_t(j) = log sum_i exp(alpha_{t-1}(i) + A[i, j]) + E_t(j)
        beta_n(i)  = end[i];                beta_t(i)  = log sum_j exp(A[i, j] + E_{t+1}(j) + beta_{t+1}(j))
        p(y_t = j | x) = exp(alpha_t(j) + beta_t(j) - log Z),    log Z = log sum_j exp(alpha_n(j) + end[j])

    >>> chain_marginals(np.zeros(2), np.zeros((2, 2)), np.zeros(2), np.log([[1.0, 3.0]])).round(6).tolist()
    [[0.25, 0.75]]
    """
    E = np.asarray(emissions, dtype=np.float64)  # (n, K)
    A = np.asarray(transitions, dtype=np.float64)  # (K, K)
    n, K = E.shape
    alpha = np.empty((n, K))
    beta = np.empty((n, K))
    alpha[0] = start + E[0]
    for t in range(1, n):
        alpha[t] = log_sum_exp(alpha[t - 1][:, None] + A, axis=0) + E[t]
    beta[n - 1] = end
    for t in range(n - 2, -1, -1):
        beta[t] = log_sum_exp(A + (E[t + 1] + beta[t + 1])[None, :], axis=1)
    log_z = log_sum_exp(alpha[n - 1] + end, axis=0)
    return np.exp(alpha + beta - log_z)


def sentence_tokens(sentence: Any) -> list[str]:
    """The words of a sentence: a string split at whitespace (as ``lmlab tag`` does), or a list of tokens.

    >>> sentence_tokens("The  old man"), sentence_tokens(["New York", "is"])
    (['The', 'old', 'man'], ['New York', 'is'])
    """
    if isinstance(sentence, str):
        return nonempty_text(sentence, "sentence").split()
    if isinstance(sentence, (list, tuple)):
        if not sentence:
            raise LmlabError("the sentence has no tokens; give at least one word")
        for i, token in enumerate(sentence):
            if not isinstance(token, str) or not token.strip():
                raise LmlabError(f"token {i} of the sentence must be a non-empty string, got {token!r}")
        return list(sentence)
    raise LmlabError(f"a sentence must be a string or a list of tokens, got {type(sentence).__name__}")


class TaggerRun(TrainedRun):
    """A trained tagger of any family of :data:`lmlab.tag.models.TAGGERS` (see the module docstring)."""

    task = "tag"

    def __init__(self, path: str | Path, config: dict[str, Any], tagger: Any):
        super().__init__(path, config)
        self.tagger = tagger
        self.tags: list[str] = list(tagger.tags)

    def num_parameters(self) -> int:
        return int(self.tagger.num_parameters())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "tags": self.tags, "scheme": self.config.get("scheme")}

    def _tokens(self, sentence: Any) -> list[str]:
        tokens = sentence_tokens(sentence)
        limit = getattr(getattr(self.tagger, "cfg", None), "max_len", None)  # a Transformer's positions
        if limit is not None and len(tokens) > limit:
            raise LmlabError(f"the sentence has {len(tokens):,} words; this {self.family} tagger reads at most {limit}")
        return tokens

    def predict(self, sentences: Sequence[Any]) -> list[dict[str, Any]]:
        """For each sentence its ``tokens`` and their ``tags``, and which tokens the vocabulary holds
        (``known``: the others are read as the unknown word, by their characters where the family reads them)."""
        words = [self._tokens(s) for s in inputs_list(sentences, "sentences")]
        tags = self.tagger.predict(words) if words else []
        index = self.tagger.vocab.word_index
        return json_ready([{"tokens": w, "tags": t, "known": [x in index for x in w]} for w, t in zip(words, tags)])

    def explain(self, sentence: Any) -> dict[str, Any]:
        """Each token's distribution over the run's ``tags`` (``probabilities``, tokens x tags, rows summing to
        one; ``kind`` says which distribution), the ``predicted`` tags (as :meth:`predict`), and for the CRF and
        the HMM their ``transitions`` (rows ``<s>`` and the tags, columns the tags and ``</s>``)."""
        tokens = self._tokens(sentence)
        if len(tokens) > MAX_EXPLAIN_TOKENS:
            raise LmlabError(f"explain reads at most {MAX_EXPLAIN_TOKENS:,} words, got {len(tokens):,}")
        out: dict[str, Any] = {"tokens": tokens, "tags": self.tags, "predicted": self.tagger.predict([tokens])[0]}
        if hasattr(self.tagger, "logA"):
            out.update(self._explain_hmm(tokens))
        else:
            out.update(self._explain_network(tokens))
        return json_ready(out)

    def _explain_hmm(self, tokens: list[str]) -> dict[str, Any]:
        logA, logB = self.tagger.logA, self.tagger.logB  # (K + 1, K + 1) with <s> row K and </s> column K; (K, V)
        K = len(self.tags)
        ids = [self.tagger.vocab.word_id(w) for w in tokens]
        p = chain_marginals(logA[K, :K], logA[:K, :K], logA[:K, K], logB[:, ids].T)
        return {
            "probabilities": p,
            "kind": "HMM posterior p(tag | sentence) (forward-backward); the predicted tags are the Viterbi path",
            "transitions": self._transitions(logA[K, :K], logA[:K, :K], logA[:K, K], "log P(column | row)"),
        }

    def _explain_network(self, tokens: list[str]) -> dict[str, Any]:
        import torch

        from lmlab.tag.task import EncodedSentences, to_batch

        tagger = self.tagger
        net = tagger.net
        net.eval()
        encoded = EncodedSentences(tagger.vocab, [tokens], getattr(tagger.cfg, "max_word_len", 30))
        arrays, _ = encoded.arrays([0])
        with torch.inference_mode():
            scores = net(to_batch(arrays, next(net.parameters()).device)).scores[0].double().cpu()  # (T, K)
        crf = getattr(net, "crf", None)
        if crf is None:
            return {
                "probabilities": torch.softmax(scores, dim=-1).numpy(),
                "kind": "softmax p(tag | sentence) of each word; the predicted tags are the argmax",
            }
        start, A, end = (x.detach().double().cpu().numpy() for x in (crf.start, crf.transitions, crf.end))
        return {
            "probabilities": chain_marginals(start, A, end, scores.numpy()),
            "kind": "CRF marginals p(tag | sentence) (forward-backward); the predicted tags are the Viterbi path",
            "transitions": self._transitions(start, A, end, "CRF score (start, transition, end)"),
        }

    def _transitions(self, start: np.ndarray, A: np.ndarray, end: np.ndarray, kind: str) -> dict[str, Any]:
        """One (K + 1) x (K + 1) table: row ``<s>`` the start scores, column ``</s>`` the end scores (``<s>``
        straight to ``</s>``, an empty sentence, has none)."""
        K = len(self.tags)
        table = np.full((K + 1, K + 1), np.nan)
        table[0, :K] = start
        table[1:, :K] = A
        table[1:, K] = end
        return {"rows": ["<s>", *self.tags], "columns": [*self.tags, "</s>"], "scores": table, "kind": kind}


def load_run(path: str | Path) -> TaggerRun:
    """The tagging run at ``path`` (what :func:`lmlab.load` returns for it)."""
    from lmlab.tag.task import load_tagger

    tagger, config = load_tagger(path)
    return TaggerRun(path, config, tagger)


__all__ = ["TaggerRun", "chain_marginals", "load_run", "log_sum_exp", "sentence_tokens"]
