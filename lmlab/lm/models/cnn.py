"""A convolutional language model: causal, dilated 1-D convolutions over token embeddings (WaveNet-style).

Layer l has kernel size k and dilation d_l = g^l, and sees only the past::

    z   = W_f *_{d_l} x  ,  g = W_g *_{d_l} x                       (dilated causal convolutions)
    x'  = x + W_r (tanh(z) * sigmoid(g))                            (gated activation, residual)
    p(w_{t+1} | w_<=t) = softmax(W_o relu(x_L[t]))

The receptive field, the tokens one prediction reads, is ``1 + sum_l (k - 1) d_l`` (64 for six layers with
k = 2 and dilations 1..32). The model's state is its window, the last ``receptive_field - 1`` tokens, so scoring,
generation and training share the MLP's code path and are exact: every prediction reads its full field, with
``</s>`` before the start of a stream.

References: van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio"; Karpathy's makemore part 5
(the hierarchical character model); Bai, Kolter & Koltun 2018 (temporal convolutional networks).
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
class CNNConfig(TrainConfig):
    """Architecture of the convolutional model and its training recipe."""

    family: ClassVar[str] = "cnn"

    n_layer: int = 6  # dilated layers; dilation g^l for l = 0..n_layer-1
    kernel_size: int = 2  # k, the taps of each causal convolution
    dilation_growth: int = 2  # g: layer l looks g^l tokens apart
    channels: int = 128  # width of the residual stream
    d_embed: int = 32  # token embedding size
    dropout: float = 0.1  # on the embeddings and each layer's output
    # recipe: random blocks with their receptive field as context, AdamW, the rate decayed to 0 over the run (its
    # steps, or its --max-seconds), dropout 0.1: tinyshakespeare test perplexity after 1 minute, 5 minutes and all
    # 10 epochs, at a constant rate without dropout 7.25 (load 4), 6.30, 6.55; with the decay 6.13, 6.01, 6.44 (it
    # overfits); with the decay and dropout 0.1 6.56, 5.88, 5.79 (2026-12-07, load ~2)
    batch_size: int = 32
    seq_len: int = 64
    lr: float = 2e-3
    schedule: str = "cosine"

    def __post_init__(self):
        super().__post_init__()
        for name in ("n_layer", "kernel_size", "dilation_growth", "channels", "d_embed"):
            check_positive(getattr(self, name), name)
        check_probability(self.dropout, "dropout")
        if self.receptive_field > 1 << 16:
            raise LmlabError(f"a receptive field of {self.receptive_field} tokens is too large; use fewer layers")

    @property
    def receptive_field(self) -> int:
        return 1 + sum((self.kernel_size - 1) * self.dilation_growth**layer for layer in range(self.n_layer))


class GatedConvLayer(nn.Module):
    """One dilated causal layer with a gated activation and a residual connection (valid convolution: the
    output is shorter than the input by ``(k - 1) * dilation``, the positions without a full past)."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.shrink = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(channels, 2 * channels, kernel_size, dilation=dilation)  # W_f and W_g stacked
        self.res = nn.Conv1d(channels, channels, 1)  # W_r
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        z, g = self.conv(x).chunk(2, dim=1)  # (B, C, T - shrink) each
        return x[:, :, self.shrink :] + self.drop(self.res(torch.tanh(z) * torch.sigmoid(g)))


class CNNNet(nn.Module):
    """Token ids (B, T) and the ``receptive_field - 1`` tokens before them -> logits (B, T, V)."""

    def __init__(self, cfg: CNNConfig, vocab_size: int, pad_id: int):
        super().__init__()
        self.pad_id = pad_id
        self.receptive_field = cfg.receptive_field
        self.context_size = cfg.receptive_field - 1
        self.embed = nn.Embedding(vocab_size, cfg.d_embed)
        self.condition = LabelEmbedding(cfg.num_labels, cfg.d_embed)  # a label's vector added to each token's (if any)
        self.inp = nn.Conv1d(cfg.d_embed, cfg.channels, 1)
        self.layers = nn.ModuleList(
            GatedConvLayer(cfg.channels, cfg.kernel_size, cfg.dilation_growth**layer, cfg.dropout)
            for layer in range(cfg.n_layer)
        )
        self.out = nn.Sequential(nn.ReLU(), nn.Conv1d(cfg.channels, cfg.channels, 1), nn.ReLU())
        self.head = nn.Linear(cfg.channels, vocab_size)

    def init_state(self, batch_size: int) -> tuple[Tensor]:
        device = self.embed.weight.device
        return (torch.full((batch_size, self.context_size), self.pad_id, dtype=torch.long, device=device),)

    def state_from_context(self, context: Tensor) -> tuple[Tensor]:
        return (context[:, context.size(1) - self.context_size :],)

    def forward(self, idx: Tensor, state: tuple[Tensor], cond: Tensor | None = None) -> tuple[Tensor, tuple[Tensor]]:
        tokens = torch.cat([state[0], idx], dim=1)  # (B, R - 1 + T)
        x = self.inp(self.condition(self.embed(tokens), cond).transpose(1, 2))  # (B, C, R - 1 + T)
        for layer in self.layers:
            x = layer(x)  # shrinks by (k - 1) d_l each: (B, C, T) at the end
        logits = self.head(self.out(x).transpose(1, 2))  # (B, T, V)
        return logits, (tokens[:, tokens.size(1) - self.context_size :],)


class CNNLM(NeuralLM):
    """The dilated convolutional model under the language-model contract."""

    family = "cnn"
    config_class = CNNConfig
    batching = "blocks"

    @classmethod
    def build_network(cls, config: CNNConfig, tokenizer: Tokenizer) -> nn.Module:
        if not isinstance(config, CNNConfig):
            raise LmlabError(f"a CNN model needs a CNNConfig, got {type(config).__name__}")
        return CNNNet(config, tokenizer.vocab_size, tokenizer.eos_id)

    @property
    def receptive_field(self) -> int:
        return self.net.receptive_field


__all__ = ["CNNLM", "CNNConfig", "CNNNet"]
