"""A BiLSTM-CRF tagger (``bilstm-crf``): the BiLSTM tagger's encoder, and a linear-chain CRF over its scores, so the
tags of a sentence are chosen together (an ``I-PER`` is unlikely after ``B-LOC``, whatever the words).

The encoder gives emission scores E_t(y) (B, T, K) for words w_1 .. w_n; the CRF adds a transition score A[i, j]
from tag i to tag j, and start and end scores::

    s(y) = start[y_1] + sum_t E_t(y_t) + sum_{t=2..n} A[y_{t-1}, y_t] + end[y_n]
    p(y | w) = exp s(y) / Z,        Z = sum over all K^n tag sequences y' of exp s(y')

``log Z`` by the forward algorithm, in log space (alpha_t(j): the log of the summed scores of every sequence of the
first t words ending in tag j)::

    alpha_1(j) = start[j] + E_1(j)
    alpha_t(j) = log sum_i exp(alpha_{t-1}(i) + A[i, j]) + E_t(j)
    log Z      = log sum_j exp(alpha_n(j) + end[j])

The loss is the negative log-likelihood of the true tags, ``log Z - s(y)``, summed over the batch's sentences and
divided by its words (nats per word, as the softmax taggers' cross-entropy). Decoding is Viterbi: the same
recursion with max in place of log-sum-exp, and back-pointers to read the best sequence back. The tests check
both against brute-force enumeration of all K^n sequences.

References: Lafferty, McCallum & Pereira 2001 (linear-chain CRFs); Lample, Ballesteros, Subramanian, Kawakami &
Dyer 2016, "Neural Architectures for Named Entity Recognition" (BiLSTM-CRF with character BiLSTMs); Huang, Xu & Yu
2015, "Bidirectional LSTM-CRF Models for Sequence Tagging"; Viterbi 1967.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lmlab.tag.models.base import TagBatch, TaggerNet
from lmlab.tag.models.bilstm import BiLSTMTaggerConfig, SentenceBiLSTM


@dataclass(kw_only=True)
class BiLSTMCRFConfig(BiLSTMTaggerConfig):
    """Lample et al.'s tagger: the BiLSTM encoder (100 units per direction) and a CRF."""

    family: ClassVar[str] = "bilstm-crf"


class LinearChainCRF(nn.Module):
    """Transition, start and end scores over K tags; :meth:`log_partition`, :meth:`score`, :meth:`nll` and
    :meth:`viterbi` on emission scores (B, T, K) with a mask (B, T) that is True at real words (padding at the end;
    every sentence has at least one word)."""

    def __init__(self, num_tags: int):
        super().__init__()
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))  # A[i, j]: from tag i to tag j
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        nn.init.uniform_(self.transitions, -0.1, 0.1)

    def _tables(self, emissions: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """E, A, start, end in float32 at least (bf16 emissions under autocast; float64 in the tests)."""
        dtype = torch.promote_types(emissions.dtype, torch.float32)
        return emissions.to(dtype), self.transitions.to(dtype), self.start.to(dtype), self.end.to(dtype)

    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """log Z (B,) by the forward algorithm."""
        E, A, start, end = self._tables(emissions)
        alpha = start + E[:, 0]  # (B, K)
        for t in range(1, E.size(1)):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + A, dim=1) + E[:, t]  # (B, K): sum over the previous tag i
            alpha = torch.where(mask[:, t : t + 1], nxt, alpha)  # a finished sentence keeps its alpha
        return torch.logsumexp(alpha + end, dim=1)

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """s(y) (B,) of the tag sequences ``tags`` (B, T) (padding positions ignored)."""
        E, A, start, end = self._tables(emissions)
        m = mask.to(E.dtype)
        emit = (E.gather(2, tags.unsqueeze(2)).squeeze(2) * m).sum(dim=1)  # sum_t E_t(y_t)
        trans = (A[tags[:, :-1], tags[:, 1:]] * m[:, 1:]).sum(dim=1)  # sum_t A[y_t-1, y_t]
        last = tags.gather(1, (mask.sum(dim=1, keepdim=True) - 1)).squeeze(1)  # y_n of each sentence
        return start[tags[:, 0]] + emit + trans + end[last]

    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """sum_b (log Z_b - s_b(y_b)) / (the batch's words)."""
        return (self.log_partition(emissions, mask) - self.score(emissions, tags, mask)).sum() / mask.sum()

    def viterbi(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """The best tag sequence of every sentence (B, T), 0 at padding::

        delta_1(j) = start[j] + E_1(j);  delta_t(j) = max_i (delta_{t-1}(i) + A[i, j]) + E_t(j),  psi_t(j) = argmax_i
        y_n = argmax_j (delta_n(j) + end[j]);  y_{t-1} = psi_t(y_t)
        """
        E, A, start, end = self._tables(emissions)
        B, T, _ = E.shape
        lengths = mask.sum(dim=1)  # (B,)
        delta = start + E[:, 0]  # (B, K)
        back = []
        for t in range(1, T):
            best, psi = (delta.unsqueeze(2) + A).max(dim=1)  # (B, K) each: over the previous tag i
            back.append(psi)
            delta = torch.where(mask[:, t : t + 1], best + E[:, t], delta)
        y = (delta + end).argmax(dim=1)  # y_n (B,)
        path = torch.zeros(B, T, dtype=torch.long, device=E.device)
        cur = y
        for t in range(T - 1, -1, -1):
            cur = torch.where(lengths - 1 == t, y, cur)  # a sentence's last word takes y_n
            alive = t < lengths
            path[:, t] = torch.where(alive, cur, torch.zeros_like(cur))
            if t > 0:
                prev = back[t - 1].gather(1, cur.unsqueeze(1)).squeeze(1)  # psi_t(y_t)
                cur = torch.where(alive, prev, cur)
        return path


class BiLSTMCRFTagger(TaggerNet):
    """The BiLSTM tagger's encoder and output layer as emission scores, and a linear-chain CRF over them."""

    def __init__(self, cfg: BiLSTMCRFConfig):
        super().__init__()
        self.config = cfg
        self.encoder = SentenceBiLSTM(cfg)
        self.out = nn.Linear(self.encoder.d_output, cfg.num_tags)
        self.crf = LinearChainCRF(cfg.num_tags)

    def emissions(self, batch: TagBatch) -> Tensor:
        return self.out(self.encoder(batch))  # (B, T, K)

    def loss(self, scores: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        return self.crf.nll(scores, tags, mask)

    def decode(self, scores: Tensor, mask: Tensor) -> Tensor:
        return self.crf.viterbi(scores, mask)


__all__ = ["BiLSTMCRFConfig", "BiLSTMCRFTagger", "LinearChainCRF"]
