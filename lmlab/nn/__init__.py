"""Neural building blocks: recurrent cells from their equations, recurrent stacks with a fused fast path, locked
dropout, a label embedding to condition on, initialisation schemes, a bidirectional encoder, the LM loss, and
safetensors I/O."""

from lmlab.lazy import lazy_names

#: where each name lives: imported on first use, so a torch-free module of this package (shapes.py, tensor_io.py)
#: can be imported without PyTorch
_WHERE = {
    "elman_cell": "cells",
    "gru_cell": "cells",
    "lstm_cell": "cells",
    "LabelEmbedding": "condition",
    "LockedDropout": "dropout",
    "sequence_dropout": "dropout",
    "RecurrentEncoder": "encoder",
    "INIT_SCHEMES": "init",
    "init_parameters": "init",
    "softmax_cross_entropy": "loss",
    "Recurrent": "recurrent",
    "State": "recurrent",
    "reverse_padded": "recurrent",
    "load_tensors": "tensor_io",
    "save_tensors": "tensor_io",
}


__getattr__ = lazy_names("lmlab.nn", _WHERE)


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
