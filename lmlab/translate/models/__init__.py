"""The translation model families and where to find each one.

``TRANSLATORS`` names every network ``lmlab train --task translate --model`` accepts. Each entry points (lazily,
so that reading the table imports no PyTorch) at the family's config dataclass and network class; the networks
honour the contract of :mod:`lmlab.translate.models.base` (``encode``, ``start``, ``step``, teacher-forced
``forward``), so the task, decoding and the engine reach a family only through this table.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Translator:
    name: str
    summary: str
    config: str  # "module:Class", a dataclass whose fields are the family's hyperparameters (and CLI flags)
    network: str  # "module:Class", built from the config alone
    #: config fields set from the data (not flags)
    data_fields: tuple[str, ...] = ("src_vocab_size", "tgt_vocab_size", "bos_id", "eos_id")
    timed: bool = True  # trains for a share of a comparison's time budget

    def _load(self, ref: str) -> Any:
        module, _, attr = ref.partition(":")
        return getattr(importlib.import_module(module), attr)

    def config_class(self) -> type:
        return self._load(self.config)

    def network_class(self) -> type:
        return self._load(self.network)

    def train_config_class(self) -> type:
        """The flags' dataclass: the family's hyperparameters and the training recipe."""
        from lmlab.translate.task import training_config_class

        return training_config_class(self.config_class())

    def compare_args(self, cmp: Any) -> list[str]:
        from lmlab.translate.compare import compare_args

        return compare_args(self.name, cmp)

    @property
    def recipe(self) -> dict[str, Any]:
        """The family's default training recipe (flags and --config override it)."""
        from lmlab.translate.task import RECIPES

        return dict(RECIPES.get(self.name, {}))


TRANSLATORS: dict[str, Translator] = {
    "seq2seq": Translator(
        "seq2seq",
        "RNN encoder-decoder, the last encoder state as the context (Sutskever et al. 2014; Cho et al. 2014)",
        "lmlab.translate.models.seq2seq:Seq2SeqConfig",
        "lmlab.translate.models.seq2seq:Seq2Seq",
    ),
    "bahdanau": Translator(
        "bahdanau",
        "bidirectional GRU encoder, additive attention, context at the decoder's input and output (Bahdanau 2015)",
        "lmlab.translate.models.bahdanau:BahdanauConfig",
        "lmlab.translate.models.bahdanau:Bahdanau",
    ),
    "luong": Translator(
        "luong",
        "stacked LSTM, global attention with dot, general or concat scores, input feeding (Luong et al. 2015)",
        "lmlab.translate.models.luong:LuongConfig",
        "lmlab.translate.models.luong:Luong",
    ),
    "transformer": Translator(
        "transformer",
        "Transformer encoder-decoder, self- and cross-attention, KV-cached decoding (Vaswani et al. 2017)",
        "lmlab.translate.models.transformer:TransformerConfig",
        "lmlab.translate.models.transformer:Transformer",
    ),
}


def get_translator(name: str) -> Translator:
    from lmlab.errors import LmlabError

    if name not in TRANSLATORS:
        raise LmlabError(f"unknown translation model {name!r}; choose one of: {', '.join(TRANSLATORS)}")
    return TRANSLATORS[name]


__all__ = ["TRANSLATORS", "Translator", "get_translator"]
