"""The MLP window language model of Bengio et al.: the previous n tokens' embeddings, a tanh layer, a softmax.

For the token after position t, with C the embedding table (V, d) and n = ``context_len``::

    x   = [C[w_{t-n+1}] ; ... ; C[w_t]]            (n * d,)   the window's embeddings, concatenated
    h   = tanh(d_h + H x)                          (d_hidden,)
    y   = b + U h  (+ W x)                         (V,)       W: the optional direct connections
    p(w_{t+1} = i | window) = softmax(y)_i

Positions before the start of a stream read ``</s>``. In this contract the model's state is its window: the last
n - 1 tokens, so the same chunked scoring, generation and training code serve it and the recurrent models.

References: Bengio, Ducharme, Vincent & Jauvin 2003, "A Neural Probabilistic Language Model" (JMLR 3); Karpathy's
makemore (the same model on names, character level).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.lm.config import TrainConfig
from lmlab.lm.models.neural import NeuralLM
from lmlab.nn.condition import LabelEmbedding
from lmlab.tokenizers import Tokenizer
from lmlab.train.config import check_positive, check_probability


@dataclass
class MLPConfig(TrainConfig):
    """Architecture of the MLP window model and its training recipe (see :class:`TrainConfig`)."""

    family: ClassVar[str] = "mlp"

    context_len: int = 8  # n, tokens in the window (Bengio et al.: 5 words; makemore: 3 to 8 characters)
    d_embed: int = 24  # d, per-token embedding size
    d_hidden: int = 256  # hidden tanh units
    direct: bool = False  # Bengio et al.'s direct connections W from the window to the output
    dropout: float = 0.0  # on the hidden layer
    # recipe: random windows (T = 1 target per window), AdamW, the rate decayed to 0 over the run (its steps, or its
    # --max-seconds): tinyshakespeare test perplexity after 120 s 5.96, at a constant rate 6.81 (2026-12-07, load ~2)
    batch_size: int = 128
    seq_len: int = 1
    lr: float = 3e-3
    schedule: str = "cosine"

    def __post_init__(self):
        super().__post_init__()
        for name in ("context_len", "d_embed", "d_hidden"):
            check_positive(getattr(self, name), name)
        check_probability(self.dropout, "dropout")


class MLPNet(nn.Module):
    """The network: token ids (B, T) and the n - 1 tokens before them -> logits (B, T, V)."""

    def __init__(self, cfg: MLPConfig, vocab_size: int, pad_id: int):
        super().__init__()
        n, d = cfg.context_len, cfg.d_embed
        self.context_len, self.pad_id = n, pad_id
        self.context_size = n - 1  # tokens before a block the window needs
        self.embed = nn.Embedding(vocab_size, d)  # C
        self.condition = LabelEmbedding(cfg.num_labels, d)  # a label's vector added to each token's (if any)
        self.hidden = nn.Linear(n * d, cfg.d_hidden)  # H, d_h
        self.drop = nn.Dropout(cfg.dropout)
        self.output = nn.Linear(cfg.d_hidden, vocab_size)  # U, b
        self.direct = nn.Linear(n * d, vocab_size, bias=False) if cfg.direct else None  # W
        if self.direct is not None:
            nn.init.zeros_(self.direct.weight)  # start as the plain MLP

    def init_state(self, batch_size: int) -> tuple[Tensor]:
        """A window of ``</s>``: the start of a stream."""
        return (
            torch.full((batch_size, self.context_size), self.pad_id, dtype=torch.long, device=self.embed.weight.device),
        )

    def state_from_context(self, context: Tensor) -> tuple[Tensor]:
        return (context[:, context.size(1) - self.context_size :],)

    def forward(self, idx: Tensor, state: tuple[Tensor], cond: Tensor | None = None) -> tuple[Tensor, tuple[Tensor]]:
        n = self.context_len
        tokens = torch.cat([state[0], idx], dim=1)  # (B, n - 1 + T)
        windows = tokens.unfold(1, n, 1)  # (B, T, n): window ending at each position
        x = self.condition(self.embed(windows), cond).flatten(2)  # (B, T, n * d)
        h = torch.tanh(self.hidden(x))  # (B, T, d_hidden)
        logits = self.output(self.drop(h))  # (B, T, V)
        if self.direct is not None:
            logits = logits + self.direct(x)
        return logits, (tokens[:, tokens.size(1) - self.context_size :],)


class MLPLM(NeuralLM):
    """Bengio et al.'s window model under the language-model contract."""

    family = "mlp"
    config_class = MLPConfig
    batching = "blocks"

    @classmethod
    def build_network(cls, config: MLPConfig, tokenizer: Tokenizer) -> nn.Module:
        if not isinstance(config, MLPConfig):
            raise LmlabError(f"an MLP model needs an MLPConfig, got {type(config).__name__}")
        return MLPNet(config, tokenizer.vocab_size, tokenizer.eos_id)


__all__ = ["MLPLM", "MLPConfig", "MLPNet"]
