"""A GPT-style decoder-only Transformer language model.

For token ids w_1..w_T (T <= block_size)::

    h_0 = E[w_t] + P[t]  (+ C[c])                         token, position (and label) embeddings (B, T, C)
    h_l = h_{l-1} + MHA(LN(h_{l-1}), causal)              pre-LN blocks, l = 1..n_layer
    h_l = h_l + FFN(LN(h_l))
    p(w_{t+1} | w_<=t) = softmax(LN(h_L) E^T)_t           output layer tied to the token embeddings

Generation keeps each layer's keys and values (a KV cache), so a new token costs one position's work; once the
context reaches ``block_size`` the oldest tokens are dropped and the cache is rebuilt, exactly what a model
without the cache computes. Scoring a stream longer than the block slides a window of ``block_size`` tokens by
half a block at a time: every token after the first half block is scored with at least ``block_size / 2``
tokens of context (Hugging Face's strided perplexity).

References: Vaswani et al. 2017; Radford et al. 2019 ("Language Models are Unsupervised Multitask Learners",
GPT-2: pre-LN, learned positions, tied embeddings); Karpathy's nanoGPT (the training recipes of the presets).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.lm.config import TrainConfig
from lmlab.lm.models.neural import NeuralLM
from lmlab.nn.condition import LabelEmbedding
from lmlab.nn.positional import LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding
from lmlab.nn.transformer import EncoderLayer, LayerConfig
from lmlab.tokenizers import Tokenizer
from lmlab.train.config import check_positive, check_probability

POSITIONS = ("learned", "sinusoidal", "rotary")


@dataclass
class TransformerConfig(TrainConfig):
    """Architecture of the GPT-style model and its training recipe. The defaults are sized for minutes on a laptop
    CPU (2 layers of width 128 over blocks of 64, batches of 32, AdamW at 4e-3): on tinyshakespeare's characters
    they reached test perplexity 6.85 in 60 s where nanoGPT's CPU configuration (4 layers, batches of 12, 1e-3,
    the preset ``nanogpt-cpu``) reached 8.49 beside the same load."""

    family: ClassVar[str] = "transformer"

    n_layer: int = 2  # blocks
    n_head: int = 4  # attention heads per block
    d_model: int = 128  # C, the residual stream's width
    block_size: int = 64  # longest context the model reads (positions 0..block_size-1)
    dropout: float = 0.0  # after attention, feed-forward and embeddings
    bias: bool = False  # biases in linear layers and LayerNorms (nanoGPT: off is a little better and faster)
    positions: str = "learned"  # learned (GPT-2), sinusoidal (Vaswani et al.) or rotary (Su et al.)
    activation: str = "gelu"  # feed-forward nonlinearity, gelu or relu
    tie_weights: bool = True  # output layer shares the token embedding matrix
    # recipe: random blocks of block_size tokens, AdamW, warm-up then cosine decay
    seq_len: int = 64
    batch_size: int = 32
    lr: float = 4e-3
    min_lr: float = 4e-4
    schedule: str = "cosine"
    warmup_steps: int = 100
    beta2: float = 0.99
    weight_decay: float = 0.1
    clip: float | None = 1.0
    epochs: int = 10  # passes of batch_size x seq_len tokens over the training tokens

    def __post_init__(self):
        super().__post_init__()
        for name in ("n_layer", "n_head", "d_model", "block_size"):
            check_positive(getattr(self, name), name)
        check_probability(self.dropout, "dropout")
        if self.d_model % self.n_head:
            raise LmlabError(f"--d-model ({self.d_model}) must be divisible by --n-head ({self.n_head})")
        if self.positions not in POSITIONS:
            raise LmlabError(f"--positions must be one of {', '.join(POSITIONS)}, got {self.positions!r}")
        if self.activation not in ("gelu", "relu"):
            raise LmlabError(f"--activation must be gelu or relu, got {self.activation!r}")
        if self.seq_len > self.block_size:
            raise LmlabError(f"--seq-len ({self.seq_len}) cannot exceed --block-size ({self.block_size})")


class GPTNet(nn.Module):
    """Token ids (B, T) -> logits (B, T, V); with a KV cache, only the new positions are computed."""

    context_size = 0  # each training block stands alone

    def __init__(self, cfg: TransformerConfig, vocab_size: int):
        super().__init__()
        self.block_size = cfg.block_size
        self.tok_emb = nn.Embedding(vocab_size, cfg.d_model)
        self.condition = LabelEmbedding(cfg.num_labels, cfg.d_model)  # a label's vector added to each token's (if any)
        self.pos = {
            "learned": lambda: LearnedPositionalEmbedding(cfg.d_model, cfg.block_size),
            "sinusoidal": lambda: SinusoidalPositionalEncoding(cfg.d_model, cfg.block_size),
            "rotary": lambda: None,
        }[cfg.positions]()
        self.drop = nn.Dropout(cfg.dropout)
        layer = LayerConfig(
            d_model=cfg.d_model,
            n_head=cfg.n_head,
            d_ff=4 * cfg.d_model,
            dropout=cfg.dropout,
            activation=cfg.activation,
            norm_first=True,
            bias=cfg.bias,
        )
        self.blocks = nn.ModuleList(EncoderLayer(layer) for _ in range(cfg.n_layer))
        if cfg.positions == "rotary":
            rope = RotaryEmbedding(cfg.d_model // cfg.n_head, cfg.block_size)
            for block in self.blocks:
                block.self_attn.rotary = rope
        self.ln_f = nn.LayerNorm(cfg.d_model, bias=cfg.bias)
        self.head = nn.Linear(cfg.d_model, vocab_size, bias=False)
        self._init_weights(cfg)
        if cfg.tie_weights:
            self.head.weight = self.tok_emb.weight

    def _init_weights(self, cfg: TransformerConfig) -> None:
        # GPT-2: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer) so the stream's variance stays put
        for name, p in self.named_parameters():
            if p.dim() == 2 and "pos" not in name:
                std = 0.02 / (2 * cfg.n_layer) ** 0.5 if name.endswith(("out_proj.weight", "linear2.weight")) else 0.02
                nn.init.normal_(p, mean=0.0, std=std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def init_state(self, batch_size: int) -> tuple:
        return ()

    def state_from_context(self, context: Tensor) -> tuple:
        return ()

    def forward(
        self,
        idx: Tensor,
        state: tuple = (),
        cond: Tensor | None = None,
        *,
        past: list | None = None,
        need_weights: bool = False,
    ):
        """Logits (B, T, V). ``cond``: the label ids (B,) of a conditioned model. With ``past`` (one (k, v) per layer,
        or None entries) positions continue after it and the new cache is returned in place of the state;
        ``need_weights`` adds every layer's attention."""
        offset = 0 if not past or past[0] is None else past[0][0].size(2)
        if offset + idx.size(1) > self.block_size:
            raise ValueError(f"{offset + idx.size(1)} positions exceed the block size {self.block_size}")
        x = self.condition(self.tok_emb(idx), cond)  # (B, T, C)
        if self.pos is not None:
            x = self.pos(x, offset)
        x = self.drop(x)
        present, weights = [], []
        for i, block in enumerate(self.blocks):
            x, w, kv = block(x, is_causal=True, need_weights=need_weights, past_kv=None if not past else past[i])
            present.append(kv)
            weights.append(w)
        logits = self.head(self.ln_f(x))  # (B, T, V)
        if need_weights:
            return logits, weights
        return logits, (present if past is not None else ())


class TransformerLM(NeuralLM):
    """The GPT-style model under the language-model contract."""

    family = "transformer"
    config_class = TransformerConfig
    batching = "blocks"

    @classmethod
    def build_network(cls, config: TransformerConfig, tokenizer: Tokenizer) -> nn.Module:
        if not isinstance(config, TransformerConfig):
            raise LmlabError(f"a transformer model needs a TransformerConfig, got {type(config).__name__}")
        return GPTNet(config, tokenizer.vocab_size)

    @property
    def block_size(self) -> int:
        return self.net.block_size

    @property
    def context_limit(self) -> int:
        return self.block_size - 1  # one position holds the </s> start token

    @torch.inference_mode()
    def _score_continuous(self, ids: np.ndarray) -> np.ndarray:
        """Strided windows: each window of ``block_size`` inputs scores the tokens its earlier windows did not."""
        ids, inputs = self._stream_inputs(ids)
        n = ids.size
        out = np.empty(n, dtype=np.float64)
        if n == 0:
            return out
        L = self.block_size
        stride = max(1, L // 2)
        starts = [0, *range(stride, max(n - L, 0) + stride, stride)]
        starts = sorted({min(s, max(n - L, 0)) for s in starts})
        was_training = self.net.training
        self.net.eval()
        try:
            done = 0  # tokens scored so far
            batch: list[int] = []
            for s in starts + [None]:
                if s is not None:
                    batch.append(s)
                if batch and (s is None or len(batch) == 32):
                    x = torch.from_numpy(np.stack([inputs[b : b + L] for b in batch])).to(self.device)  # (W, L)
                    logits, _ = self.net(x, (), self._cond(x.size(0)))
                    logp = torch.log_softmax(logits.float(), dim=-1)  # (W, L, V)
                    for row, b in enumerate(batch):
                        end = min(b + L, n)
                        if end <= done:
                            continue
                        lo = done - b  # first position of this window not scored before
                        y = torch.from_numpy(ids[done:end]).to(self.device)
                        out[done:end] = logp[row, lo : end - b].gather(1, y.unsqueeze(1)).squeeze(1).double().cpu()
                        done = end
                    batch = []
        finally:
            self.net.train(was_training)
        assert done == n
        return out

    # ---- generation with a KV cache; the state is (tokens in the window, cache)
    @torch.inference_mode()
    def _forward_last(self, tokens: list[int], past: list | None) -> tuple[list | None, np.ndarray]:
        self.net.eval()
        x = torch.tensor([tokens], dtype=torch.long, device=self.device)
        past = past if past is not None else [None] * len(self.net.blocks)
        logits, present = self.net(x, (), self._cond(1), past=past)
        return present, torch.log_softmax(logits[0, -1].float(), dim=-1).double().cpu().numpy()

    def start(self, prompt: Sequence[int]) -> tuple[Any, np.ndarray]:
        window = [self.tokenizer.eos_id, *prompt][-self.block_size :]
        cache, logp = self._forward_last(window, None)
        return (window, cache), logp

    def advance(self, state: Any, token: int) -> tuple[Any, np.ndarray]:
        window, cache = state
        window = [*window, token]
        if len(window) > self.block_size:  # the window slides: positions change, so the cache is rebuilt
            window = window[-self.block_size :]
            cache, logp = self._forward_last(window, None)
        else:
            cache, logp = self._forward_last([token], cache)
        return (window, cache), logp

    @torch.inference_mode()
    def next_token_logprobs(self, context: Sequence[int]) -> np.ndarray:
        """Without a cache: the whole window (the last ``block_size`` tokens) in one forward pass."""
        self.net.eval()
        window = [self.tokenizer.eos_id, *context][-self.block_size :]
        logits, _ = self.net(torch.tensor([window], dtype=torch.long, device=self.device), (), self._cond(1))
        return torch.log_softmax(logits[0, -1].float(), dim=-1).double().cpu().numpy()

    @torch.inference_mode()
    def attention_weights(self, ids: Sequence[int]) -> list[Tensor]:
        """Every layer's attention weights (n_head, T, T) on a line's ids (after the ``</s>`` start token)."""
        window = [self.tokenizer.eos_id, *ids][-self.block_size :]
        self.net.eval()
        x = torch.tensor([window], dtype=torch.long, device=self.device)
        _, weights = self.net(x, (), self._cond(1), need_weights=True)
        return [w[0].float().cpu() for w in weights]


__all__ = ["GPTNet", "TransformerConfig", "TransformerLM"]
