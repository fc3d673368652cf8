"""A stack of recurrent layers (Elman, LSTM or GRU) with a fused path and an explicit path on the same weights.

Layer l reads the outputs of layer l-1 (after dropout, ordinary or locked) and passes its own on::

    h^0_t = x_t,     h^l_t = cell(h^{l-1}_t, h^l_{t-1})   for l = 1 .. L

Each layer is a one-layer :class:`torch.nn.RNN` / :class:`~torch.nn.LSTM` / :class:`~torch.nn.GRU`, which owns the
parameters (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, and ``..._reverse`` for the backward
direction). The fused path calls that module (cuDNN on a GPU, oneDNN or ATen kernels on a CPU); the explicit path
loops over time with the cells of :mod:`lmlab.nn.cells` on the very same tensors. Keeping one module per layer lets
locked dropout sit between layers, which a multi-layer ``torch.nn.LSTM`` cannot do; the parameters and states are
laid out as a multi-layer one's are, so its weights copy over one to one.

A bidirectional stack reads the sequence both ways in every layer and concatenates the two directions, ``h_t =
[h->_t ; h<-_t]`` (Schuster & Paliwal 1997). With ``lengths`` the sequences of a batch may have different lengths
(padding at the end): each direction starts and stops at a sequence's own end.

References: Elman 1990; Hochreiter & Schmidhuber 1997; Cho et al. 2014 (the cells); Schuster & Paliwal 1997,
"Bidirectional Recurrent Neural Networks"; Gal & Ghahramani 2016 (locked dropout between layers).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lmlab.nn.cells import GATES, elman_cell, gru_cell, lstm_cell
from lmlab.nn.dropout import sequence_dropout

#: A recurrent state: ``(h,)`` for Elman and GRU, ``(h, c)`` for an LSTM; each ``(L * D, B, H)`` as in torch.nn.
State = tuple[Tensor, ...]

_TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Each sequence of ``x`` (B, T, C) reversed within its length; padding stays at the end.

    >>> x = torch.tensor([[1, 2, 3], [4, 5, 0]]).unsqueeze(-1)
    >>> reverse_padded(x, torch.tensor([3, 2])).squeeze(-1).tolist()
    [[3, 2, 1], [5, 4, 0]]
    """
    if lengths is None:
        return x.flip(1)
    T = x.size(1)
    t = torch.arange(T, device=x.device)
    lengths = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    index = torch.where(t < lengths, lengths - 1 - t, t)  # (B, T): position read for each position written
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


class Recurrent(nn.Module):
    """``n_layer`` recurrent layers of kind ``cell`` ("rnn", "lstm" or "gru"); inputs (B, T, C), batch first.

    ``forward(x, state, lengths)`` returns the last layer's outputs (B, T, D*H), D = 2 if bidirectional else 1,
    and the final state of every layer and direction. ``fused`` chooses the path (overridable per call).
    """

    def __init__(
        self,
        cell: str,
        d_input: int,
        d_hidden: int,
        n_layer: int = 1,
        *,
        nonlinearity: str = "tanh",
        bias: bool = True,
        dropout: float = 0.0,
        locked_dropout: bool = False,
        bidirectional: bool = False,
        fused: bool = True,
    ):
        super().__init__()
        if cell not in GATES:
            raise ValueError(f"cell must be one of {', '.join(GATES)}, got {cell!r}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.cell, self.nonlinearity = cell, nonlinearity
        self.d_hidden, self.n_layer = d_hidden, n_layer
        self.n_dir = 2 if bidirectional else 1
        self.fused = fused
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.layers = nn.ModuleList(
            _TORCH_LAYERS[cell](
                d_input if layer == 0 else self.n_dir * d_hidden,
                d_hidden,
                num_layers=1,
                bias=bias,
                batch_first=True,
                bidirectional=bidirectional,
                **extra,
            )
            for layer in range(n_layer)
        )
        self.dropout = sequence_dropout(dropout, locked_dropout)  # between layers only

    def init_state(self, batch_size: int, *, device=None, dtype=None) -> State:
        """The zero state for a batch: ``(h,)`` or ``(h, c)``, each (L * D, B, H)."""
        p = self.layers[0].weight_ih_l0
        h = torch.zeros(
            self.n_layer * self.n_dir, batch_size, self.d_hidden, device=device or p.device, dtype=dtype or p.dtype
        )
        return (h, torch.zeros_like(h)) if self.cell == "lstm" else (h,)

    def forward(
        self, x: Tensor, state: State | None = None, lengths: Tensor | None = None, *, fused: bool | None = None
    ) -> tuple[Tensor, State]:
        fused = self.fused if fused is None else fused
        if state is None:
            state = self.init_state(x.size(0), dtype=x.dtype)
        D = self.n_dir
        finals = []
        for index, layer in enumerate(self.layers):
            if index > 0:
                x = self.dropout(x)
            layer_state = tuple(s[index * D : (index + 1) * D] for s in state)  # each (D, B, H)
            run = self._fused_layer if fused else self._explicit_layer
            x, layer_state = run(layer, x, layer_state, lengths)  # x: (B, T, D*H)
            finals.append(layer_state)
        new_state = tuple(torch.cat([f[k] for f in finals]) for k in range(len(state)))  # each (L*D, B, H)
        return x, new_state

    # ---- the fast path: the torch.nn module itself
    def _fused_layer(self, layer: nn.RNNBase, x: Tensor, state: State, lengths: Tensor | None) -> tuple[Tensor, State]:
        hx = (state[0].contiguous(), state[1].contiguous()) if self.cell == "lstm" else state[0].contiguous()
        if lengths is None:
            out, hx = layer(x, hx)
        elif self.cell != "lstm":
            return self._masked_layer(layer, x, state, lengths)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, hx = layer(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        return out, (tuple(hx) if self.cell == "lstm" else (hx,))

    def _masked_layer(self, layer: nn.RNNBase, x: Tensor, state: State, lengths: Tensor) -> tuple[Tensor, State]:
        """A padded batch through a GRU or Elman layer without packing: each direction is one call of the fused
        kernel over the whole padded batch, the backward one reading each sequence reversed within its length; the
        outputs past a length are set to zero and the final state is the output at the last real position (these
        cells' state is their output). It equals the packed call, which on a CPU runs slower (by about a third for
        a bidirectional GRU of 256 over batches of 64 sentences, forward and backward): it projects the inputs step
        by step, on batches that shrink as sequences end."""
        B, T, _ = x.shape
        lengths = lengths.to(x.device)
        alive = torch.arange(T, device=x.device) < lengths.unsqueeze(1)  # (B, T)
        last = (lengths - 1).clamp(min=0).view(B, 1, 1).expand(B, 1, self.d_hidden)  # (B, 1, H): index of h_len
        kernel = {"gru": torch.gru, "rnn": torch.rnn_tanh if self.nonlinearity == "tanh" else torch.rnn_relu}
        outputs, finals = [], []
        for direction, suffix in enumerate(("", "_reverse")[: self.n_dir]):
            names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if layer.bias else ("weight_ih", "weight_hh")
            weights = [getattr(layer, f"{name}_l0{suffix}") for name in names]
            seq = x if direction == 0 else reverse_padded(x, lengths)
            h0 = state[0][direction : direction + 1].contiguous()  # (1, B, H)
            out, _ = kernel[self.cell](seq, h0, weights, layer.bias, 1, 0.0, self.training, False, True)  # (B, T, H)
            finals.append(out.gather(1, last).squeeze(1))  # (B, H)
            outputs.append(out if direction == 0 else reverse_padded(out, lengths))
        out = torch.cat(outputs, dim=-1) * alive.unsqueeze(-1).to(x.dtype)  # (B, T, D*H), zero past each length
        return out, (torch.stack(finals),)

    # ---- the readable path: the cell equations, one time step at a time
    def _explicit_layer(
        self, layer: nn.RNNBase, x: Tensor, state: State, lengths: Tensor | None
    ) -> tuple[Tensor, State]:
        outputs, finals = [], []
        for direction, suffix in enumerate(("", "_reverse")[: self.n_dir]):
            weights = tuple(
                getattr(layer, f"{name}_l0{suffix}", None) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            )
            s = tuple(t[direction] for t in state)  # each (B, H)
            seq = x if direction == 0 else reverse_padded(x, lengths)
            out, s = self._unroll(seq, s, weights, lengths)  # (B, T, H)
            outputs.append(out if direction == 0 else reverse_padded(out, lengths))
            finals.append(s)
        new_state = tuple(torch.stack([f[k] for f in finals]) for k in range(len(state)))  # each (D, B, H)
        return torch.cat(outputs, dim=-1), new_state

    def _unroll(self, x: Tensor, state: State, weights: tuple, lengths: Tensor | None) -> tuple[Tensor, State]:
        """The cell at t = 0 .. T-1; a sequence past its length keeps its state and outputs zeros."""
        T = x.size(1)
        alive = None if lengths is None else torch.arange(T, device=x.device) < lengths.to(x.device).unsqueeze(1)
        hs = []
        for t in range(T):
            new = self._step(x[:, t], state, weights)
            if alive is not None:
                keep = alive[:, t : t + 1]  # (B, 1)
                new = tuple(torch.where(keep, n, s) for n, s in zip(new, state))
            state = new
            hs.append(state[0])
        out = torch.stack(hs, dim=1)  # (B, T, H)
        if alive is not None:
            out = out * alive.unsqueeze(-1).to(out.dtype)
        return out, state

    def _step(self, x_t: Tensor, state: State, weights: tuple) -> State:
        if self.cell == "lstm":
            return lstm_cell(x_t, (state[0], state[1]), *weights)
        if self.cell == "gru":
            return (gru_cell(x_t, state[0], *weights),)
        return (elman_cell(x_t, state[0], *weights, self.nonlinearity),)

    def extra_repr(self) -> str:
        return f"cell={self.cell}, fused={self.fused}"


__all__ = ["Recurrent", "State", "reverse_padded"]
