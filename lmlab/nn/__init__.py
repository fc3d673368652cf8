"""Neural building blocks: recurrent cells from their equations, recurrent stacks with a fused fast path, locked
dropout, a label embedding to condition on, initialisation schemes, a bidirectional encoder, the LM loss, and
safetensors I/O."""

from lmlab.nn.cells import elman_cell, gru_cell, lstm_cell
from lmlab.nn.condition import LabelEmbedding
from lmlab.nn.dropout import LockedDropout, sequence_dropout
from lmlab.nn.encoder import RecurrentEncoder
from lmlab.nn.init import INIT_SCHEMES, init_parameters
from lmlab.nn.loss import softmax_cross_entropy
from lmlab.nn.recurrent import Recurrent, State, reverse_padded
from lmlab.nn.tensor_io import load_tensors, save_tensors

__all__ = [
    "INIT_SCHEMES",
    "LabelEmbedding",
    "LockedDropout",
    "Recurrent",
    "RecurrentEncoder",
    "State",
    "elman_cell",
    "gru_cell",
    "init_parameters",
    "load_tensors",
    "lstm_cell",
    "reverse_padded",
    "save_tensors",
    "sequence_dropout",
    "softmax_cross_entropy",
]
