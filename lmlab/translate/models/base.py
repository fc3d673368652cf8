"""What every translation network honours: encode once, then decode a step at a time or a whole target at once.

The contract, with B sentences, S source and T target positions, V target ids (0 is padding everywhere)::

    memory          = net.encode(src (B, S), src_mask (B, S))       src_mask True at real tokens
    memory, state   = net.start(memory)                             precomputes what every step reuses
    logits, state, attention = net.step(memory, state, y_prev (B,))    logits (B, V) of the next token
    out             = net(src, src_mask, tgt_in (B, T))             teacher forcing: Seq2SeqOutput(logits (B, T, V),
                                                                    attention (B, L, h, T, S) or None)

``step`` returns ``attention`` (B, L, h, S) for the token it predicts (L layers of h heads; 1 x 1 for the RNN
attention models), or None for a model without attention (a Transformer computes its weights only when asked,
``need_weights=True``, as they cost it the fused attention kernel). Every tensor in ``memory`` and ``state`` is
batch first, so :func:`select_rows` reorders or repeats both for beam search (reusing the encoder's output and the
decoder's recurrent state or KV cache) without knowing the model. ``forward(..., tf_mask=M)`` feeds the model its own
greedy prediction at the steps where ``M`` is False (scheduled sampling; Bengio et al. 2015), which trains the
RNN models with a teacher-forcing ratio below one.

The teacher-forced ``forward`` of a family may be a fast path (the whole target through a fused RNN, or causal
self-attention); :meth:`TranslationNet.unrolled` is the readable path it must equal, one :meth:`step` at a time.

References: Sutskever, Vinyals & Le 2014; Bengio, Vinyals, Jaitly & Shazeer 2015, "Scheduled Sampling for
Sequence Prediction with Recurrent Neural Networks".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.train.config import check_positive, check_probability


class Memory(NamedTuple):
    """What the encoder gives the decoder; every tensor batch first."""

    outputs: Tensor  # (B, S, D): one vector per source position
    mask: Tensor  # (B, S): True at real tokens
    final: Any = None  # the encoder's final state (RNNs), batch first
    extra: Any = None  # what ``start`` precomputes for every step (projected keys, cross-attention keys/values)


class Seq2SeqOutput(NamedTuple):
    logits: Tensor  # (B, T, V)
    attention: Tensor | None = None  # (B, L, h, T, S) when asked for and the model has attention


def select_rows(tree: Any, index: Tensor) -> Any:
    """Every tensor of a nest of tuples, lists and dicts with its rows (dim 0) taken at ``index``.

    >>> t = {"a": torch.tensor([[1], [2]]), "b": (torch.tensor([3, 4]), None, 7)}
    >>> select_rows(t, torch.tensor([1, 1, 0]))
    {'a': tensor([[2],
            [2],
            [1]]), 'b': (tensor([4, 4, 3]), None, 7)}
    """
    if isinstance(tree, Tensor):
        return tree.index_select(0, index)
    if isinstance(tree, Memory):
        return Memory(*(select_rows(t, index) for t in tree))
    if isinstance(tree, (tuple, list)):
        return type(tree)(select_rows(t, index) for t in tree)
    if isinstance(tree, dict):
        return {k: select_rows(v, index) for k, v in tree.items()}
    return tree


@dataclass(kw_only=True)
class TranslationConfig:
    """Fields every translation model has; the vocabulary sizes come from the data."""

    family: ClassVar[str] = ""  # set by each family's subclass: its name in TRANSLATORS

    src_vocab_size: int  # ids the encoder reads, padding (0) included
    tgt_vocab_size: int  # ids the decoder reads and predicts, padding (0) included
    bos_id: int  # the decoder's first input (<s>)
    eos_id: int  # the end of every target (</s>)
    max_len: int = 256  # longest source or target in tokens, </s> included (positions of a Transformer)
    dropout: float = 0.1

    def __post_init__(self):
        for name in ("src_vocab_size", "tgt_vocab_size", "max_len"):
            check_positive(getattr(self, name), name)
        for name in ("bos_id", "eos_id"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and 0 < v < self.tgt_vocab_size):
                raise LmlabError(f"{name} must be in [1, {self.tgt_vocab_size}), got {v!r}")
        check_probability(self.dropout, "dropout")


def check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise LmlabError(f"--{name.replace('_', '-')} must be one of {', '.join(allowed)}, got {value!r}")


def check_ratio(value: Any, name: str) -> None:
    """A probability in [0, 1] (a teacher-forcing ratio)."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1):
        raise LmlabError(f"--{name.replace('_', '-')} must be in [0, 1], got {value!r}")


class TranslationNet(nn.Module):
    """Base of the translation networks (see the module docstring for the contract)."""

    config: TranslationConfig

    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:  # pragma: no cover - each family overrides
        raise NotImplementedError

    def start(self, memory: Memory) -> tuple[Memory, Any]:  # pragma: no cover - each family overrides
        raise NotImplementedError

    def step(
        self, memory: Memory, state: Any, y_prev: Tensor, need_weights: bool = False
    ) -> tuple[Tensor, Any, Tensor | None]:
        raise NotImplementedError  # pragma: no cover - each family overrides

    @property
    def has_attention(self) -> bool:
        return True

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor,
        tgt_in: Tensor,
        tf_mask: Tensor | None = None,
        need_weights: bool = False,
    ) -> Seq2SeqOutput:
        """Logits of every target position given the source and the target so far (teacher forcing).

        ``tf_mask`` (T,) bool: False at the steps that read the model's own previous prediction instead.
        """
        memory = self.encode(src, src_mask)
        if tf_mask is not None and not bool(tf_mask.all()):
            return self.unrolled(memory, tgt_in, tf_mask, need_weights)
        return self.teacher_forced(memory, tgt_in, need_weights)

    def teacher_forced(self, memory: Memory, tgt_in: Tensor, need_weights: bool = False) -> Seq2SeqOutput:
        """The whole target at once; families with a fast path override this."""
        return self.unrolled(memory, tgt_in, None, need_weights)

    def unrolled(
        self, memory: Memory, tgt_in: Tensor, tf_mask: Tensor | None = None, need_weights: bool = False
    ) -> Seq2SeqOutput:
        """One :meth:`step` per target position: the readable path, and scheduled sampling."""
        memory, state = self.start(memory)
        logits, weights = [], []
        y = tgt_in[:, 0]
        for t in range(tgt_in.size(1)):
            if t > 0:
                y = tgt_in[:, t]
                if tf_mask is not None and not bool(tf_mask[t]):
                    y = logits[-1].argmax(-1)  # the model's own guess (no gradient flows through a choice)
            out, state, w = self.step(memory, state, y, need_weights)
            logits.append(out)
            if need_weights and w is not None:
                weights.append(w)
        attention = torch.stack(weights, dim=3) if weights else None  # (B, L, h, T, S)
        return Seq2SeqOutput(torch.stack(logits, dim=1), attention)


def gaussian_init_(module: nn.Module, std: float) -> None:
    """Weights (dim >= 2) from N(0, std^2), recurrent matrices orthogonal, biases zero (Bahdanau et al.'s
    appendix); used by the attention RNNs' own initialisation."""
    for name, p in module.named_parameters():
        if p.dim() < 2:
            nn.init.zeros_(p)
        elif name.rsplit(".", 1)[-1].startswith("weight_hh"):
            H = p.size(1)
            for block in p.data.split(H, dim=0):
                nn.init.orthogonal_(block)
        else:
            nn.init.normal_(p, 0.0, std)


__all__ = [
    "Memory",
    "Seq2SeqOutput",
    "TranslationConfig",
    "TranslationNet",
    "check_choice",
    "check_ratio",
    "gaussian_init_",
    "select_rows",
]
