"""Conditioning a network on a label: the label's vector added to every input token's embedding.

For a label c (one of L) and the token w_t read at step t::

    e_t = E[w_t] + C[c]                  (d,)   E: (V, d) the token table, C: (L, d) the label table

which is the label fed with every input token, as the PyTorch tutorial "Generating names with a character-level
RNN" feeds the one-hot category beside each one-hot letter: ``[E; C]^T [onehot(w_t); onehot(c)]`` is the same
sum. Every language-model family reads its input through its token table, so one block conditions them all in the
same way, and a network given label c computes what the unconditioned network computes with every token vector
shifted by C[c]. A network built with no labels holds no table and takes no condition.

References: Mikolov & Zweig 2012, "Context Dependent Recurrent Neural Network Language Model" (a feature vector fed
to the network with every word); Robertson, PyTorch tutorials, "NLP From Scratch: Generating Names with a
Character-Level RNN".
"""

from __future__ import annotations

from torch import Tensor, nn


class LabelEmbedding(nn.Module):
    """``e + C[labels]`` at every position: token embeddings ``e`` (B, ..., d) and label ids (B,).

    >>> import torch
    >>> cond = LabelEmbedding(num_labels=2, dim=3)
    >>> e = torch.zeros(2, 4, 3)                                  # (B, T, d)
    >>> out = cond(e, torch.tensor([1, 0]))
    >>> bool((out[0] == cond.table.weight[1]).all()), bool((out[1] == cond.table.weight[0]).all())
    (True, True)
    >>> LabelEmbedding(0, 3)(e, None) is e                         # no labels: the embeddings as they are
    True
    """

    def __init__(self, num_labels: int, dim: int):
        super().__init__()
        self.num_labels = num_labels
        self.table = nn.Embedding(num_labels, dim) if num_labels else None  # C
        if self.table is not None:
            nn.init.uniform_(self.table.weight, -0.1, 0.1)  # as small as the token vectors start (N(0, 1) swamps them)

    def forward(self, e: Tensor, labels: Tensor | None) -> Tensor:
        if self.table is None:
            if labels is not None:
                raise ValueError("this network was built without labels and takes no condition")
            return e
        if labels is None:
            raise ValueError(f"this network is conditioned on a label: pass one of {self.num_labels} label ids per row")
        c = self.table(labels)  # (B, d)
        return e + c.view(c.size(0), *([1] * (e.dim() - 2)), c.size(1))  # (B, 1, ..., d): the same at every position


__all__ = ["LabelEmbedding"]
