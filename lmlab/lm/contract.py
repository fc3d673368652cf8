"""The language-model contract that every family honours, the n-gram models included.

A corpus is scored as one stream of token ids, each line's tokens followed by ``</s>`` (see
:meth:`lmlab.tokenizers.Tokenizer.encode_lines`). A model answers two questions:

* :meth:`LanguageModel.score_stream`: the natural-log probability of every token of a stream, each token given
  everything before it. The stream starts at a line start; ``<s>`` is never scored, ``</s>`` always is.
* :meth:`LanguageModel.next_token_logprobs`: the distribution of the next token after a context (the tokens of
  the current line so far), as a ``(V,)`` vector of natural logs.

Evaluation (:mod:`lmlab.lm.evaluate`), generation (:mod:`lmlab.lm.generate`) and comparison are written once against
these two methods (and the incremental :meth:`start` / :meth:`advance` pair built on them), and never ask which
family a model belongs to.

A neural model trained on a labelled corpus (:mod:`lmlab.data.labelled`) is conditioned on a label: its
:attr:`LanguageModel.labels` name them, and :meth:`LanguageModel.given` returns the model given one label, which
answers the same two questions about p(w | c). The n-gram models take no condition, and say so.

Right::

    lp = model.score_stream(tokenizer.encode_lines(lines).ids)   # one log-prob per token, </s> included

Wrong::

    lp = model.score_stream(tokenizer.encode(line))   # no </s>: the end of the sentence is never predicted
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lmlab.errors import LmlabError
from lmlab.tokenizers import Tokenizer


class LanguageModel(ABC):
    """Base class of every lmlab language model."""

    family: ClassVar[str]
    #: False for models whose scores are not probabilities (stupid backoff): no perplexity is reported for them.
    normalized: ClassVar[bool] = True
    #: Whether the family can be conditioned on a label (trained on a labelled corpus); the n-gram models cannot.
    takes_condition: ClassVar[bool] = False
    #: The labels a conditioned model was trained on; () for a model that takes no condition.
    labels: tuple[str, ...] = ()

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def context_limit(self) -> int | None:
        """The most tokens of context the model can attend to (a Transformer's block), or None if unbounded or
        if reading only a short window is the model's definition (n-gram, MLP, CNN)."""
        return None

    def given(self, label: str) -> LanguageModel:
        """The model conditioned on ``label``, one of :attr:`labels` (see :class:`lmlab.lm.models.neural.NeuralLM`)."""
        raise LmlabError(
            f"{self.family} models take no condition; a neural family (mlp, rnn, lstm, gru, cnn, transformer) "
            "trained on a labelled corpus does"
        )

    @abstractmethod
    def score_stream(self, ids: np.ndarray) -> np.ndarray:
        """``ln p(ids[i] | ids[:i])`` for every ``i``, as a float64 array of ``len(ids)``."""

    @abstractmethod
    def next_token_logprobs(self, context: Sequence[int]) -> np.ndarray:
        """``ln p(w | context)`` for every id ``w``: a ``(V,)`` float64 array; ``context`` starts at a line start."""

    # Incremental generation. Families with a cheaper way to extend a context (a recurrent state, a KV cache)
    # override these two; the default keeps the context as a list and asks next_token_logprobs each time.
    def start(self, prompt: Sequence[int]) -> tuple[Any, np.ndarray]:
        """State after a line-initial ``prompt`` and the next-token log-probabilities."""
        context = list(prompt)
        return context, self.next_token_logprobs(context)

    def advance(self, state: Any, token: int) -> tuple[Any, np.ndarray]:
        """State after appending ``token``, and the next-token log-probabilities."""
        state = [*state, token]
        return state, self.next_token_logprobs(state)

    @abstractmethod
    def num_parameters(self) -> int:
        """Number of free parameters (stored probabilities and backoffs for an n-gram model)."""

    @abstractmethod
    def config_dict(self) -> dict[str, Any]:
        """The model's configuration as JSON-serialisable values."""

    @abstractmethod
    def save_weights(self, run_dir: Path) -> None:
        """Write the model's arrays into ``run_dir`` (safetensors; never pickle)."""

    @classmethod
    @abstractmethod
    def load_weights(cls, run_dir: Path, config: dict[str, Any], tokenizer: Tokenizer) -> LanguageModel:
        """Inverse of :meth:`save_weights` given the saved config and tokenizer."""
