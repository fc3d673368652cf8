"""The model families and how to load any trained model.

``FAMILIES`` names every family ``lmlab train --model`` accepts. Each entry points (lazily, so that the
n-gram family never imports PyTorch) at the family's config dataclass, its model class and its trainer; the CLI,
evaluation, generation and comparison reach a family only through this table and the
:class:`~lmlab.lm.LanguageModel` contract.
"""

from __future__ import annotations

from collections import namedtuple

from lmlab.lazy import import_module

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from typing import Any

_FIELDS = "name summary config model trainer compare timed lean_eval lean_export"


# a collections.namedtuple, not a dataclass or typing.NamedTuple: lmlab eval's lean path reads this table (see
# lmlab.lazy)
class Family(namedtuple("Family", _FIELDS, defaults=("lmlab.lm.presets:compare_args", True, "", ""))):
    """A model family:

    - ``name``, ``summary``
    - ``config``: "module:Class", a dataclass whose fields are the family's hyperparameters (and CLI flags)
    - ``model``: "module:Class", a LanguageModel subclass
    - ``trainer``: "module:function", train(config, corpus, tokenizer, options, out_dir) -> LanguageModel
    - ``compare``: "module:function", (family name, lmlab.compare.Comparison) -> the family's flags in
      ``lmlab compare`` (default: lmlab.lm.presets:compare_args)
    - ``timed``: whether it trains for a share of a comparison's time budget (default True; False: counts, in
      seconds)
    - ``lean_eval``: "module:function", (args, run_dir, run_cfg) -> exit status, or None: ``lmlab eval`` of a run of
      this family without importing the model's heavy modules, where it can answer as the general path would
      ("", the default: none)
    - ``lean_export``: "module:function", (args, run_dir, run_cfg) -> exit status, or None: ``lmlab export`` the same
      way ("": none)
    """

    __slots__ = ()

    def _load(self, ref: str) -> Any:
        module, _, attr = ref.partition(":")
        return getattr(import_module(module), attr)

    @property
    def by_gradient(self) -> bool:
        """Whether the family trains by gradient descent on lmlab's engine (the untimed ones count or propagate),
        and so can train on several processes."""
        return self.timed

    def config_class(self) -> type:
        return self._load(self.config)

    def train_config_class(self) -> type:
        """The dataclass of every flag of ``lmlab train`` for this family (a neural family's config extends the
        training recipe)."""
        return self.config_class()

    def model_class(self) -> type:
        return self._load(self.model)

    def trainer_fn(self):
        return self._load(self.trainer)

    def compare_args(self, cmp: Any) -> list[str]:
        return self._load(self.compare)(self.name, cmp)

    def lean_eval_fn(self) -> Any:
        """The family's lean ``lmlab eval`` (see ``lean_eval``), or None."""
        return self._load(self.lean_eval) if self.lean_eval else None

    def lean_export_fn(self) -> Any:
        """The family's lean ``lmlab export`` (see ``lean_export``), or None."""
        return self._load(self.lean_export) if self.lean_export else None


FAMILIES: dict[str, Family] = {
    "ngram": Family(
        "ngram",
        "count-based n-gram model (MLE to modified Kneser-Ney)",
        "lmlab.lm.ngram.model:NgramConfig",
        "lmlab.lm.ngram.model:NgramLM",
        "lmlab.lm.ngram.train:train_ngram",
        compare="lmlab.lm.ngram.train:compare_args",
        timed=False,
        lean_eval="lmlab.lm.ngram.lean:evaluate_run",
        lean_export="lmlab.lm.ngram.lean:export_run",
    ),
    "mlp": Family(
        "mlp",
        "MLP window model (Bengio et al. 2003): n previous tokens, a tanh layer, a softmax",
        "lmlab.lm.models.mlp:MLPConfig",
        "lmlab.lm.models.mlp:MLPLM",
        "lmlab.lm.models.task:train_neural",
    ),
    "rnn": Family(
        "rnn",
        "Elman recurrent network (tanh or relu)",
        "lmlab.lm.models.rnn:RNNConfig",
        "lmlab.lm.models.rnn:RNNLM",
        "lmlab.lm.models.task:train_neural",
    ),
    "lstm": Family(
        "lstm",
        "LSTM language model (Zaremba et al. 2014 presets)",
        "lmlab.lm.models.rnn:LSTMConfig",
        "lmlab.lm.models.rnn:LSTMLM",
        "lmlab.lm.models.task:train_neural",
    ),
    "gru": Family(
        "gru",
        "GRU language model",
        "lmlab.lm.models.rnn:GRUConfig",
        "lmlab.lm.models.rnn:GRULM",
        "lmlab.lm.models.task:train_neural",
    ),
    "cnn": Family(
        "cnn",
        "causal dilated convolutions over embeddings (WaveNet-style)",
        "lmlab.lm.models.cnn:CNNConfig",
        "lmlab.lm.models.cnn:CNNLM",
        "lmlab.lm.models.task:train_neural",
    ),
    "transformer": Family(
        "transformer",
        "GPT-style decoder-only Transformer (nanoGPT presets)",
        "lmlab.lm.models.transformer:TransformerConfig",
        "lmlab.lm.models.transformer:TransformerLM",
        "lmlab.lm.models.task:train_neural",
    ),
}


def get_family(name: str) -> Family:
    from lmlab.errors import LmlabError

    if name not in FAMILIES:
        raise LmlabError(f"unknown model family {name!r}; choose one of: {', '.join(FAMILIES)}")
    return FAMILIES[name]
