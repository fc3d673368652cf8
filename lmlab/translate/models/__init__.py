"""The translation model families and where to find each one.

``TRANSLATORS`` names every network ``lmlab train --task translate --model`` accepts. Each entry points (lazily,
so that reading the table imports no PyTorch) at the family's config dataclass and network class; the networks
honour the contract of :mod:`lmlab.translate.models.base` (``encode``, ``start``, ``step``, teacher-forced
``forward``), so the task, decoding and the engine reach a family only through this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmlab.families import NetworkFamily, get_entry


@dataclass(frozen=True)
class Translator(NetworkFamily):
    """A translation family (see :class:`lmlab.families.NetworkFamily`)."""

    train_config: str = "lmlab.translate.task:training_config_class"
    recipes: str = "lmlab.translate.task:RECIPES"
    compare: str = "lmlab.translate.compare:compare_args"
    data_fields: tuple[str, ...] = ("src_vocab_size", "tgt_vocab_size", "bos_id", "eos_id")


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
    return get_entry(TRANSLATORS, name, "translation model")


__all__ = ["TRANSLATORS", "Translator", "get_translator"]
