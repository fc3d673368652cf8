"""Recurrent cells written from their equations: Elman, LSTM and GRU, one time step each.

These are the readable path. The weights are laid out as PyTorch lays them out (the gates stacked along the first
dimension of ``w_ih`` and ``w_hh``), so one set of parameters drives both these functions and the fused
:class:`torch.nn.RNN` / :class:`~torch.nn.LSTM` / :class:`~torch.nn.GRU` kernels (cuDNN on a GPU); the tests check
that the two paths agree to 1e-5 in float64, outputs and gradients.

Shapes: ``x`` (B, C) the input at step t; ``h``, ``c`` (B, H) the state; ``w_ih`` (G*H, C); ``w_hh`` (G*H, H);
``b_ih``, ``b_hh`` (G*H,) or None; G is the number of gate blocks (1 Elman, 4 LSTM, 3 GRU).

References: Elman 1990, "Finding Structure in Time"; Hochreiter & Schmidhuber 1997, "Long Short-Term Memory"
(with the forget gate of Gers, Schmidhuber & Cummins 2000); Cho et al. 2014, "Learning Phrase Representations
using RNN Encoder-Decoder for Statistical Machine Translation" (the GRU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

#: Gate blocks per cell: the G in the weight shapes above.
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def elman_cell(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """One step of an Elman network::

        h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)      (or relu in place of tanh)

    >>> x, h = torch.ones(1, 2), torch.zeros(1, 1)
    >>> elman_cell(x, h, torch.tensor([[0.5, -1.0]]), torch.ones(1, 1), None, None, "relu")
    tensor([[0.]])
    """
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # (B, H)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def lstm_cell(
    x: Tensor,
    state: tuple[Tensor, Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
) -> tuple[Tensor, Tensor]:
    """One step of an LSTM; ``state`` is ``(h_{t-1}, c_{t-1})``, the result ``(h_t, c_t)``::

        i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)     input gate
        f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)     forget gate
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)        candidate cell
        o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)     output gate
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    With zero weights every gate is 1/2 and the candidate 0, so the cell halves: c_t = c_{t-1} / 2.

    >>> z = torch.zeros(4, 1)
    >>> h, c = lstm_cell(torch.ones(1, 1), (torch.zeros(1, 1), torch.ones(1, 1)), z, z, None, None)
    >>> c.item(), round(h.item(), 4)
    (0.5, 0.2311)
    """
    return lstm_from_gates(F.linear(x, w_ih, b_ih), state, w_hh, b_hh)


def lstm_from_gates(
    x_gates: Tensor, state: tuple[Tensor, Tensor], w_hh: Tensor, b_hh: Tensor | None
) -> tuple[Tensor, Tensor]:
    """:func:`lstm_cell` given the input's share of the gates, ``x_gates = W_ih x_t + b_ih`` (B, 4H), computed
    beforehand: for a whole sequence in one matrix product, or from several inputs each with its block of columns
    of ``W_ih`` (a decoder reading an embedding and a context)."""
    h, c = state
    gates = x_gates + F.linear(h, w_hh, b_hh)  # (B, 4H), blocks in PyTorch's order i, f, g, o
    i, f, g, o = gates.chunk(4, dim=-1)  # each (B, H)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return h, c


def gru_cell(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
) -> Tensor:
    """One step of a GRU::

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)         reset gate
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)         update gate
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))    candidate state
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    (PyTorch's and cuDNN's form: the reset gate multiplies ``W_hn h + b_hn``, not ``h`` as in Cho et al.)
    With zero weights z = 1/2 and n = 0, so the state halves:

    >>> z = torch.zeros(3, 1)
    >>> gru_cell(torch.ones(1, 1), torch.ones(1, 1), z, z, None, None)
    tensor([[0.5000]])
    """
    return gru_from_gates(F.linear(x, w_ih, b_ih), h, w_hh, b_hh)


def gru_from_gates(x_gates: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """:func:`gru_cell` given the input's share of the gates, ``x_gates = W_ih x_t + b_ih`` (B, 3H), computed
    beforehand (see :func:`lstm_from_gates`)."""
    gi = x_gates  # (B, 3H), blocks r, z, n
    gh = F.linear(h, w_hh, b_hh)  # (B, 3H)
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


__all__ = ["GATES", "elman_cell", "gru_cell", "gru_from_gates", "lstm_cell", "lstm_from_gates"]
