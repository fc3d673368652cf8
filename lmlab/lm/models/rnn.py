"""Recurrent language models: Elman RNN (``rnn``), LSTM (``lstm``) and GRU (``gru``), one network, three cells.

For the token after position t::

    e_t   = E[w_t]  (+ C[c])                        (d_embed,)   embedding (dropout on it); C[c]: the label's vector
    h^l_t = cell(h^{l-1}_t, h^l_{t-1})              (d_hidden,)  l = 1 .. L, h^0_t = e_t (dropout between layers)
    y_t   = b + U h^L_t                              (V,)         (dropout on h^L_t); U = E with tied weights
    p(w_{t+1} = i | w_{<=t}) = softmax(y_t)_i

The cells and their equations are in :mod:`lmlab.nn.cells`; :mod:`lmlab.nn.recurrent` stacks them and gives each
layer a fused path (torch.nn.RNN / LSTM / GRU: cuDNN on a GPU) and an explicit path on the same weights
(``--no-fused``). Dropout follows Zaremba et al. (on the non-recurrent connections only); with
``--locked-dropout`` one mask per sequence is reused at every step (Gal & Ghahramani). Trained on a labelled
corpus, the label's vector C[c] is added to every input embedding (:mod:`lmlab.nn.condition`). ``--tie-weights`` makes
the output matrix the embedding matrix (Press & Wolf; Inan et al.), which needs ``d_embed == d_hidden``.

References: Mikolov et al. 2010, "Recurrent neural network based language model"; Zaremba, Sutskever & Vinyals
2014, "Recurrent Neural Network Regularization"; Gal & Ghahramani 2016, "A Theoretically Grounded Application of
Dropout in Recurrent Neural Networks"; Press & Wolf 2017, "Using the Output Embedding to Improve Language Models";
Inan, Khosravi & Socher 2017, "Tying Word Vectors and Word Classifiers".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.lm.config import TrainConfig
from lmlab.lm.models.neural import NeuralLM
from lmlab.nn.cells import elman_cell, gru_cell, lstm_cell
from lmlab.nn.condition import LabelEmbedding
from lmlab.nn.dropout import sequence_dropout
from lmlab.nn.recurrent import Recurrent, State
from lmlab.tokenizers import Tokenizer
from lmlab.train.config import check_positive, check_probability


@dataclass
class RecurrentConfig(TrainConfig):
    """Architecture of a recurrent LM and its training recipe. The sizes are those of the PyTorch
    word_language_model example (2 x 200, dropout 0.2, batches of 20 x 35); the recipe is one for minutes (AdamW at
    3e-3, a warm-up of 100 steps, a cosine decay to a tenth, clip 1): the example's own (SGD at lr 20 on the
    per-token loss, clip 0.25, divide by 4 on a plateau) is the preset ``word-lm-example``, and an Elman RNN
    diverges under it in a budget of minutes (test perplexity 2e12 on tinyshakespeare's characters after 60 s)."""

    cell: ClassVar[str] = ""

    d_embed: int = 200  # embedding size
    d_hidden: int = 200  # units per recurrent layer
    n_layer: int = 2  # stacked recurrent layers
    dropout: float = 0.2  # on embeddings, between layers and before the output (0 for none)
    locked_dropout: bool = False  # one dropout mask per sequence, reused at every time step
    tie_weights: bool = False  # output matrix = embedding matrix (needs d_embed == d_hidden)
    fused: bool = True  # torch.nn kernels (cuDNN); --no-fused runs the explicit cells
    # recipe
    batch_size: int = 20
    seq_len: int = 35
    optimizer: str = "adamw"
    lr: float = 3e-3
    min_lr: float = 3e-4
    beta2: float = 0.99
    clip: float | None = 1.0
    schedule: str = "cosine"
    warmup_steps: int = 100
    init: str = "default"

    def __post_init__(self):
        super().__post_init__()
        for name in ("d_embed", "d_hidden", "n_layer"):
            check_positive(getattr(self, name), name)
        check_probability(self.dropout, "dropout")
        if self.tie_weights and self.d_embed != self.d_hidden:
            raise LmlabError(
                f"--tie-weights needs --d-embed equal to --d-hidden (got {self.d_embed} and {self.d_hidden})"
            )


@dataclass
class RNNConfig(RecurrentConfig):
    """An Elman network: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu)."""

    family: ClassVar[str] = "rnn"
    cell: ClassVar[str] = "rnn"

    nonlinearity: str = "tanh"  # tanh or relu

    def __post_init__(self):
        super().__post_init__()
        if self.nonlinearity not in ("tanh", "relu"):
            raise LmlabError(f"--nonlinearity must be tanh or relu, got {self.nonlinearity!r}")


@dataclass
class LSTMConfig(RecurrentConfig):
    """An LSTM: input, forget and output gates around a cell state."""

    family: ClassVar[str] = "lstm"
    cell: ClassVar[str] = "lstm"


@dataclass
class GRUConfig(RecurrentConfig):
    """A GRU: update and reset gates, no separate cell state."""

    family: ClassVar[str] = "gru"
    cell: ClassVar[str] = "gru"


class RecurrentLMNet(nn.Module):
    """Embedding, a recurrent stack, a linear decoder: token ids (B, T) and a state -> logits (B, T, V)."""

    def __init__(self, cfg: RecurrentConfig, vocab_size: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.d_embed)
        self.condition = LabelEmbedding(cfg.num_labels, cfg.d_embed)  # no table when the model takes no label
        self.drop = sequence_dropout(cfg.dropout, cfg.locked_dropout)
        self.rnn = Recurrent(
            cfg.cell,
            cfg.d_embed,
            cfg.d_hidden,
            cfg.n_layer,
            nonlinearity=getattr(cfg, "nonlinearity", "tanh"),
            dropout=cfg.dropout,
            locked_dropout=cfg.locked_dropout,
            fused=cfg.fused,
        )
        self.decoder = nn.Linear(cfg.d_hidden, vocab_size)
        # the PyTorch example's initialisation of the two tables (N(0, 1) embeddings train badly); --init overrides
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if cfg.tie_weights:
            self.decoder.weight = self.embed.weight  # one (V, d) parameter

    def init_state(self, batch_size: int) -> State:
        return self.rnn.init_state(batch_size)

    def state_from_context(self, context: Tensor) -> State:
        return self.init_state(context.size(0))

    def embed_tokens(self, idx: Tensor, cond: Tensor | None = None) -> Tensor:
        """The input vectors (B, T, d_embed): each token's embedding, plus its row's label vector if conditioned."""
        return self.condition(self.embed(idx), cond)

    def forward(self, idx: Tensor, state: State, cond: Tensor | None = None) -> tuple[Tensor, State]:
        e = self.drop(self.embed_tokens(idx, cond))  # (B, T, d_embed)
        h, state = self.rnn(e, state)  # (B, T, d_hidden), a transposed view of the kernel's (T, B, d_hidden)
        # contiguous: the decoder is then one fused matmul-plus-bias (addmm) over B*T rows, the costliest op here
        return self.decoder(self.drop(h).contiguous()), state  # (B, T, V)


def gate_activations(
    cell: str, x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None
) -> dict[str, Tensor]:
    """The gates of one step of an LSTM or a GRU, each (B, H), by the equations of :mod:`lmlab.nn.cells`; an Elman
    cell has none ({}). ``h`` is h_{t-1}::

        LSTM: i_t, f_t, o_t = sigmoid(W_i* x_t + b_i* + W_h* h_{t-1} + b_h*),  g_t = tanh(...)   (blocks i, f, g, o)
        GRU:  r_t, z_t = sigmoid(W_i* x_t + b_i* + W_h* h_{t-1} + b_h*),
              n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))                        (blocks r, z, n)

    With zero weights every sigmoid gate is 1/2 and every tanh candidate 0:

    >>> z = torch.zeros(4, 1)
    >>> gates = gate_activations("lstm", torch.ones(1, 1), torch.zeros(1, 1), z, z, None, None)
    >>> {k: v.item() for k, v in gates.items()}
    {'input': 0.5, 'forget': 0.5, 'candidate': 0.0, 'output': 0.5}
    """
    gi, gh = F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh)  # (B, G*H) each
    if cell == "lstm":
        i, f, g, o = (gi + gh).chunk(4, dim=-1)
        return {
            "input": torch.sigmoid(i),
            "forget": torch.sigmoid(f),
            "candidate": torch.tanh(g),
            "output": torch.sigmoid(o),
        }
    if cell == "gru":
        i_r, i_z, i_n = gi.chunk(3, dim=-1)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)
        r = torch.sigmoid(i_r + h_r)
        return {"reset": r, "update": torch.sigmoid(i_z + h_z), "candidate": torch.tanh(i_n + r * h_n)}
    return {}


class RecurrentLM(NeuralLM):
    """A recurrent LM under the language-model contract; the state carries the whole history."""

    batching = "streams"

    @classmethod
    def build_network(cls, config: RecurrentConfig, tokenizer: Tokenizer) -> nn.Module:
        if not isinstance(config, cls.config_class):
            raise LmlabError(f"a {cls.family} model needs a {cls.config_class.__name__}, got {type(config).__name__}")
        return RecurrentLMNet(config, tokenizer.vocab_size)

    @torch.inference_mode()
    def trace(self, ids: Sequence[int]) -> list[dict[str, np.ndarray]]:
        """What every layer computes at every step of a line, by the readable path: the inputs are ``</s>`` then
        ``ids`` (T = len(ids) + 1 steps, as :meth:`score_stream` reads a line), and each layer is unrolled with the
        cells of :mod:`lmlab.nn.cells` on the trained weights (dropout off, as in evaluation). One dict per layer:
        ``h`` (T, H) the hidden states, ``c`` (T, H) the LSTM's cell states, and each gate (T, H) of
        :func:`gate_activations`. Row t is the state that predicts token t + 1."""
        rnn = self.net.rnn
        was_training = self.net.training
        self.net.eval()
        try:
            x = torch.tensor([[self.tokenizer.eos_id, *ids]], dtype=torch.long, device=self.device)  # (1, T)
            x = self.net.embed_tokens(x, self._cond(1)).transpose(0, 1)  # (T, 1, d_embed): one batch row per step
            state = rnn.init_state(1)
            layers = []
            for index, layer in enumerate(rnn.layers):
                weights = tuple(
                    getattr(layer, f"{name}_l0", None) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                )
                s = tuple(t[index] for t in state)  # each (1, H)
                steps: list[dict[str, Tensor]] = []
                for x_t in x:  # (1, C)
                    gates = gate_activations(rnn.cell, x_t, s[0], *weights)
                    if rnn.cell == "lstm":
                        s = lstm_cell(x_t, (s[0], s[1]), *weights)
                    elif rnn.cell == "gru":
                        s = (gru_cell(x_t, s[0], *weights),)
                    else:
                        s = (elman_cell(x_t, s[0], *weights, rnn.nonlinearity),)
                    steps.append({"h": s[0], **({"c": s[1]} if rnn.cell == "lstm" else {}), **gates})
                out = {k: torch.cat([step[k] for step in steps]) for k in steps[0]}  # each (T, H)
                layers.append({k: v.double().cpu().numpy() for k, v in out.items()})
                x = out["h"].unsqueeze(1)  # (T, 1, H): the next layer's inputs
        finally:
            self.net.train(was_training)
        return layers


class RNNLM(RecurrentLM):
    family = "rnn"
    config_class = RNNConfig


class LSTMLM(RecurrentLM):
    family = "lstm"
    config_class = LSTMConfig


class GRULM(RecurrentLM):
    family = "gru"
    config_class = GRUConfig


__all__ = [
    "GRUConfig",
    "GRULM",
    "LSTMConfig",
    "LSTMLM",
    "RNNConfig",
    "RNNLM",
    "RecurrentConfig",
    "RecurrentLM",
    "RecurrentLMNet",
    "gate_activations",
]
