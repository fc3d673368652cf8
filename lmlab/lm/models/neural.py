"""What every neural family shares: the language-model contract on top of a PyTorch network, and the loss.

A family's network is an ``nn.Module`` with three methods, whatever its architecture::

    logits, state = net(idx, state)        # idx (B, T) token ids -> logits (B, T, V): token t+1 given <= t
    state = net.init_state(B)              # the state before any token
    state = net.state_from_context(ctx)    # the state after the tokens ctx (B, C) (feed-forward models)

The state is a tuple of tensors: a recurrent model's hidden (and cell) state, or for the MLP window model the
last n - 1 tokens. So scoring a long stream chunk by chunk, generating token by token and training on carried
batches are written once here and in the engine, for every family.

A network trained on a labelled corpus also takes the label ids of its rows, ``net(idx, state, cond)`` with
``cond`` (B,) (:mod:`lmlab.nn.condition`); :meth:`NeuralLM.given` fixes the label for scoring and generation, which
then read as they do without one.

Scoring follows :mod:`lmlab.lm.evaluate`: the stream starts at a line start, and the model is primed with ``</s>``
as the start token (it sees ``</s>`` before the first token, as it does between lines in training), then every
token, ``</s>`` included, is scored given everything before it. Long streams go through the network in chunks
that carry the state, so a recurrent model conditions on the whole history and the MLP on exactly the previous
n tokens (``</s>`` before the start).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.lm import LanguageModel
from lmlab.lm.config import TrainConfig
from lmlab.nn.loss import softmax_cross_entropy
from lmlab.nn.tensor_io import load_tensors, save_tensors
from lmlab.nn.weights import (
    WEIGHTS_FILE,
    check_weights_fit,
    expected_shapes,
    load_state_into,
    unique_state_dict,
)
from lmlab.runfiles import config_from_json
from lmlab.tokenizers import Tokenizer


def lm_loss(logits: Tensor, targets: Tensor, *, padded: bool = False) -> Tensor:
    """Mean cross-entropy in nats per token, ``-(1/N) sum_i ln p(y_i)``, of logits (B, T, V) and targets (B, T).

    The value of ``F.cross_entropy``, with the faster in-place backward of :mod:`lmlab.nn.loss`. With
    ``padded=True``, targets of -1 are padding: neither scored nor counted in N.

    >>> round(lm_loss(torch.zeros(1, 2, 4), torch.tensor([[0, 3]])).item(), 6)   # uniform over 4: ln 4
    1.386294
    >>> z = torch.tensor([[[0.0, 0.0], [5.0, -5.0]]])
    >>> lm_loss(z, torch.tensor([[1, -1]]), padded=True).item() == lm_loss(z[:, :1], torch.tensor([[1]])).item()
    True
    """
    logits, targets = logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1)
    if padded:
        return F.cross_entropy(logits, targets, ignore_index=-1)
    return softmax_cross_entropy(logits, targets)


def config_from_dict(cls: type, values: dict[str, Any], where: str = "saved configuration", prefix: str = "") -> Any:
    """A config dataclass from values saved in the file ``where`` (keys it does not know are ignored); a value of
    the wrong type or out of range is an LmlabError naming the file and the field (``prefix`` + its name)."""
    return config_from_json(cls, values, where, prefix)


class NeuralLM(LanguageModel):
    """A PyTorch network (``self.net``) behind the language-model contract. Subclasses set ``family``,
    ``config_class`` and ``batching`` and build the network."""

    config_class: ClassVar[type[TrainConfig]]
    #: How the engine cuts the training stream: "streams" (carried state, BPTT) or "blocks" (random, with context).
    batching: ClassVar[str] = "streams"

    takes_condition = True

    def __init__(self, tokenizer: Tokenizer, config: TrainConfig, labels: Sequence[str] = ()):
        super().__init__(tokenizer)
        self.config = config
        self.labels = tuple(labels)
        if len(self.labels) != config.num_labels:
            raise LmlabError(f"the configuration says {config.num_labels} labels, but {len(self.labels)} are named")
        #: The label id this model is given (see :meth:`given`); None: not yet given one.
        self.condition: int | None = None
        self.net = self.build_network(config, tokenizer)

    @classmethod
    def build_network(cls, config: TrainConfig, tokenizer: Tokenizer) -> nn.Module:
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def to(self, device: torch.device | str) -> NeuralLM:
        self.net.to(device)
        return self

    # ---- the condition
    def given(self, label: str) -> NeuralLM:
        """This model given the label ``label``: the same network (not a copy of it) whose every line is read and
        generated conditioned on that label, p(w | c = label)."""
        if not self.labels:
            raise LmlabError(
                f"this {self.family} model was trained without labels, so it takes no condition "
                "(train it on a labelled corpus to condition it)"
            )
        if label not in self.labels:
            raise LmlabError(f"unknown condition {label!r}; this model knows: {', '.join(self.labels)}")
        view = copy.copy(self)
        view.condition = self.labels.index(label)
        return view

    def _cond(self, batch_size: int) -> Tensor | None:
        """The condition as the network takes it, label ids (B,), or None for a model trained without labels."""
        if not self.labels:
            return None
        if self.condition is None:
            raise LmlabError(
                f"this {self.family} model is conditioned on a label; give one of: {', '.join(self.labels)} "
                "(--condition LABEL, or condition=... in lmlab.load(RUN))"
            )
        return torch.full((batch_size,), self.condition, dtype=torch.long, device=self.device)

    @property
    def context_size(self) -> int:
        """Tokens before a block that a feed-forward model reads (n - 1 for the MLP; 0 for recurrent models)."""
        return int(getattr(self.net, "context_size", 0))

    # ---- scoring
    def _chunk_len(self) -> int:
        # keep one chunk's logits near 32 MB of float32, at most 8192 positions
        return int(min(8192, max(64, (1 << 23) // self.vocab_size)))

    def _stream_inputs(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The checked ids and the network's inputs: the stream shifted right behind the </s> start token."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise LmlabError(f"token ids must be in [0, {self.vocab_size}), got {int(ids.min())}..{int(ids.max())}")
        return ids, np.concatenate([[self.tokenizer.eos_id], ids[:-1]])

    @property
    def lines_apart(self) -> bool:
        """Whether the model reads each line on its own (trained with ``--examples lines``): its context restarts
        at every ``</s>``, as an n-gram model's does, instead of running on through the lines before."""
        return getattr(self.config, "examples", "stream") == "lines"

    def score_stream(self, ids: np.ndarray) -> np.ndarray:
        """ln p of every token of the stream: given the tokens before it, or with :attr:`lines_apart` given the
        tokens of its own line before it."""
        if self.lines_apart:
            return self._score_lines_apart(ids)
        return self._score_continuous(ids)

    @torch.inference_mode()
    def _score_lines_apart(self, ids: np.ndarray) -> np.ndarray:
        """Each line (its tokens and </s>) from the start state. Lines of one length go through the network
        together, so no padding is needed; a line the network cannot take whole is scored as a stream alone."""
        ids = self._stream_inputs(ids)[0]
        out = np.empty(ids.size, dtype=np.float64)
        ends = np.flatnonzero(ids == self.tokenizer.eos_id) + 1
        if ends.size == 0 or ends[-1] != ids.size:  # a last line without its </s>
            ends = np.append(ends, ids.size)
        starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        lengths = ends - starts
        was_training = self.net.training
        self.net.eval()
        try:
            for length in np.unique(lengths):
                rows = starts[lengths == length]
                if self.context_limit is not None and length - 1 > self.context_limit:  # inputs: </s>, L - 1 tokens
                    for a in rows:
                        out[a : a + length] = self._score_continuous(ids[a : a + length])
                    continue
                per_batch = max(1, self._chunk_len() // int(length))
                for b in range(0, rows.size, per_batch):
                    index = rows[b : b + per_batch, None] + np.arange(length)  # (n, L)
                    y = torch.from_numpy(ids[index]).to(self.device)
                    x = torch.cat([torch.full_like(y[:, :1], self.tokenizer.eos_id), y[:, :-1]], dim=1)
                    logits, _ = self.net(x, self.net.init_state(x.size(0)), self._cond(x.size(0)))  # (n, L, V)
                    logp = torch.log_softmax(logits.float(), dim=-1).gather(2, y.unsqueeze(2)).squeeze(2)
                    out[index] = logp.double().cpu().numpy()
        finally:
            self.net.train(was_training)
        return out

    @torch.inference_mode()
    def _score_continuous(self, ids: np.ndarray) -> np.ndarray:
        ids, inputs = self._stream_inputs(ids)
        n = ids.size
        out = np.empty(n, dtype=np.float64)
        if n == 0:
            return out
        was_training = self.net.training
        self.net.eval()
        try:
            state, cond = self.net.init_state(1), self._cond(1)
            chunk = self._chunk_len()
            for a in range(0, n, chunk):
                x = torch.from_numpy(inputs[a : a + chunk]).to(self.device).unsqueeze(0)  # (1, T)
                y = torch.from_numpy(ids[a : a + chunk]).to(self.device)  # (T,)
                logits, state = self.net(x, state, cond)  # (1, T, V)
                logp = torch.log_softmax(logits[0].float(), dim=-1)  # (T, V)
                out[a : a + chunk] = logp.gather(1, y.unsqueeze(1)).squeeze(1).double().cpu().numpy()
        finally:
            self.net.train(was_training)
        return out

    # ---- generation: the state is (network state, None); one forward per token
    @torch.inference_mode()
    def _feed(self, state: Any, tokens: Sequence[int]) -> tuple[Any, np.ndarray]:
        was_training = self.net.training
        self.net.eval()
        try:
            x = torch.tensor([list(tokens)], dtype=torch.long, device=self.device)  # (1, T)
            logits, state = self.net(x, state, self._cond(1))
            logp = torch.log_softmax(logits[0, -1].float(), dim=-1).double().cpu().numpy()
        finally:
            self.net.train(was_training)
        return state, logp

    def start(self, prompt: Sequence[int]) -> tuple[Any, np.ndarray]:
        return self._feed(self.net.init_state(1), [self.tokenizer.eos_id, *prompt])

    def advance(self, state: Any, token: int) -> tuple[Any, np.ndarray]:
        return self._feed(state, [token])

    def next_token_logprobs(self, context: Sequence[int]) -> np.ndarray:
        return self.start(context)[1]

    # ---- description and persistence
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())  # shared (tied) parameters are listed once

    def config_dict(self) -> dict[str, Any]:
        return self.config.to_dict()

    def save_weights(self, run_dir: Path) -> None:
        save_tensors(Path(run_dir) / WEIGHTS_FILE, unique_state_dict(self.net), {"family": self.family})

    @classmethod
    def load_weights(
        cls, run_dir: Path, config: dict[str, Any], tokenizer: Tokenizer, labels: Sequence[str] = ()
    ) -> NeuralLM:
        """The model of a run; ``labels``: the labels its ``config.json`` names, one per row of its label table."""
        cfg = config_from_dict(cls.config_class, config, str(Path(run_dir) / "config.json"), "model.")
        path = Path(run_dir) / WEIGHTS_FILE
        check_weights_fit(path, lambda: cls.build_network(cfg, tokenizer))  # before anything is allocated
        model = cls(tokenizer, cfg, labels)
        load_state_into(model.net, load_tensors(path), str(path))
        model.net.eval()
        return model


__all__ = [
    "WEIGHTS_FILE",
    "NeuralLM",
    "check_weights_fit",
    "config_from_dict",
    "expected_shapes",
    "lm_loss",
    "load_state_into",
    "unique_state_dict",
]
