"""Recurrent language models: Elman RNN (``rnn``), LSTM (``lstm``) and GRU (``gru``), one network, three cells.

For the token after position t::

    e_t   = E[w_t]                                  (d_embed,)   embedding (dropout on it)
    h^l_t = cell(h^{l-1}_t, h^l_{t-1})              (d_hidden,)  l = 1 .. L, h^0_t = e_t (dropout between layers)
    y_t   = b + U h^L_t                              (V,)         (dropout on h^L_t); U = E with tied weights
    p(w_{t+1} = i | w_{<=t}) = softmax(y_t)_i

The cells and their equations are in :mod:`lmlab.nn.cells`; :mod:`lmlab.nn.recurrent` stacks them and gives each
layer a fused path (torch.nn.RNN / LSTM / GRU: cuDNN on a GPU) and an explicit path on the same weights
(``--no-fused``). Dropout follows Zaremba et al. (on the non-recurrent connections only); with
``--locked-dropout`` one mask per sequence is reused at every step (Gal & Ghahramani). ``--tie-weights`` makes
the output matrix the embedding matrix (Press & Wolf; Inan et al.), which needs ``d_embed == d_hidden``.

References: Mikolov et al. 2010, "Recurrent neural network based language model"; Zaremba, Sutskever & Vinyals
2014, "Recurrent Neural Network Regularization"; Gal & Ghahramani 2016, "A Theoretically Grounded Application of
Dropout in Recurrent Neural Networks"; Press & Wolf 2017, "Using the Output Embedding to Improve Language Models";
Inan, Khosravi & Socher 2017, "Tying Word Vectors and Word Classifiers".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.models.neural import NeuralLM
from lmlab.nn.dropout import sequence_dropout
from lmlab.nn.recurrent import Recurrent, State
from lmlab.tokenizers import Tokenizer
from lmlab.train.config import TrainConfig, check_positive, check_probability


@dataclass
class RecurrentConfig(TrainConfig):
    """Architecture of a recurrent LM and its training recipe; the recipe defaults are those of the PyTorch
    word_language_model example (SGD at lr 20 on the per-token loss, clip 0.25, divide by 4 on a plateau)."""

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
    optimizer: str = "sgd"
    lr: float = 20.0
    clip: float | None = 0.25
    schedule: str = "plateau"
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

    def forward(self, idx: Tensor, state: State) -> tuple[Tensor, State]:
        e = self.drop(self.embed(idx))  # (B, T, d_embed)
        h, state = self.rnn(e, state)  # (B, T, d_hidden), a transposed view of the kernel's (T, B, d_hidden)
        # contiguous: the decoder is then one fused matmul-plus-bias (addmm) over B*T rows, the costliest op here
        return self.decoder(self.drop(h).contiguous()), state  # (B, T, V)


class RecurrentLM(NeuralLM):
    """A recurrent LM under the language-model contract; the state carries the whole history."""

    batching = "streams"

    @classmethod
    def build_network(cls, config: RecurrentConfig, tokenizer: Tokenizer) -> nn.Module:
        if not isinstance(config, cls.config_class):
            raise LmlabError(f"a {cls.family} model needs a {cls.config_class.__name__}, got {type(config).__name__}")
        return RecurrentLMNet(config, tokenizer.vocab_size)


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
]
