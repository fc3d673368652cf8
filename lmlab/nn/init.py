"""Initialisation schemes for a network's parameters, chosen by name (``lmlab train --init NAME``).

* ``default``: keep each module's own initialisation.
* ``uniform``: every parameter, biases and embeddings included, drawn from U(-r, r), r = ``init_range``; the
  classic recurrent LM recipe (Zaremba et al. use r = 0.1, 0.05 and 0.04 for their small, medium and large LSTMs).
* ``xavier``: matrices from U(-a, a), a = sqrt(6 / (fan_in + fan_out)), which keeps activation variance through
  tanh layers; biases 0.
* ``kaiming``: matrices from N(0, 2 / fan_in), suited to ReLU layers; biases 0.
* ``orthogonal``: recurrent matrices W_hh orthogonal, one block per gate, so repeated multiplication neither
  grows nor shrinks the state; other matrices Xavier; biases 0.

Embedding tables count as matrices (fan_in = vocabulary size). Tied weights are one parameter and initialised once.

References: Zaremba, Sutskever & Vinyals 2014, "Recurrent Neural Network Regularization"; Glorot & Bengio 2010,
"Understanding the difficulty of training deep feedforward neural networks"; He et al. 2015, "Delving Deep into
Rectifiers"; Saxe, McClelland & Ganguli 2014, "Exact solutions to the nonlinear dynamics of learning in deep linear
neural networks" (orthogonal initialisation).
"""

from __future__ import annotations

import torch
from torch import nn

INIT_SCHEMES = ("default", "uniform", "xavier", "kaiming", "orthogonal")


def is_recurrent_weight(name: str) -> bool:
    """Whether parameter ``name`` is a hidden-to-hidden matrix W_hh (torch.nn naming).

    >>> is_recurrent_weight("rnn.layers.0.weight_hh_l0"), is_recurrent_weight("rnn.layers.0.weight_ih_l0")
    (True, False)
    """
    return name.rsplit(".", 1)[-1].startswith("weight_hh")


@torch.no_grad()
def init_parameters(module: nn.Module, scheme: str, init_range: float = 0.1) -> None:
    """Re-initialise every parameter of ``module`` in place with ``scheme`` (see the module docstring).

    >>> lstm = nn.LSTM(3, 4)
    >>> init_parameters(lstm, "orthogonal")
    >>> w = lstm.weight_hh_l0[:4]                   # the input gate's block
    >>> torch.allclose(w @ w.T, torch.eye(4), atol=1e-5)
    True
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"init scheme must be one of {', '.join(INIT_SCHEMES)}, got {scheme!r}")
    if scheme == "default":
        return
    for name, p in module.named_parameters():  # shared (tied) parameters are listed once
        if scheme == "uniform":
            p.uniform_(-init_range, init_range)
        elif p.dim() < 2:
            p.zero_()
        elif scheme == "xavier":
            nn.init.xavier_uniform_(p)
        elif scheme == "kaiming":
            nn.init.kaiming_normal_(p, nonlinearity="relu")
        elif is_recurrent_weight(name):  # orthogonal: each (H, H) gate block of W_hh (G*H, H)
            H = p.size(1)
            for block in p.split(H, dim=0):
                nn.init.orthogonal_(block)
        else:
            nn.init.xavier_uniform_(p)


__all__ = ["INIT_SCHEMES", "init_parameters", "is_recurrent_weight"]
