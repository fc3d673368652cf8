"""The sequence-labelling families and where to find each one.

``TAGGERS`` names every model ``lmlab train --task tag --model`` accepts. Each entry points (lazily, so that reading
the table imports no PyTorch) at the family's config dataclass and its network class; the networks honour the
contract of :mod:`lmlab.tag.models.base` (``forward(batch, tags) -> TaggerOutput``, ``decode(scores, mask)``), so
the task and the engine reach a family only through this table. ``hmm`` counts instead of training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmlab.families import NetworkFamily, get_entry


@dataclass(frozen=True)
class Tagger(NetworkFamily):
    """A tagger family (see :class:`lmlab.families.NetworkFamily`); trained on the engine unless its refs say
    otherwise (``hmm`` counts)."""

    trainer: str = "lmlab.tag.task:train_tagger"
    loader: str = "lmlab.tag.task:load_neural_tagger"
    train_config: str = "lmlab.tag.task:training_config_class"
    recipes: str = "lmlab.tag.task:RECIPES"
    data_fields: tuple[str, ...] = ("vocab_size", "char_vocab_size", "num_tags")

    def compare_args(self, cmp: Any) -> list[str]:
        """The family's flags in ``lmlab compare``: early stopping for those trained in epochs."""
        return ["--early-stop", "3"] if self.timed else []

    def data_values(self, vocab_size: int, char_vocab_size: int, num_tags: int) -> dict[str, Any]:
        values = {"vocab_size": vocab_size, "char_vocab_size": char_vocab_size, "num_tags": num_tags}
        return {k: v for k, v in values.items() if k in self.data_fields}


TAGGERS: dict[str, Tagger] = {
    "hmm": Tagger(
        "hmm",
        "bigram hidden Markov model, add-k emissions, Viterbi decoding (counted; no PyTorch)",
        "lmlab.tag.models.hmm:HMMConfig",
        "",
        trainer="lmlab.tag.models.hmm:train_hmm",
        loader="lmlab.tag.models.hmm:load_hmm",
        train_config="lmlab.tag.models.hmm:hmm_train_config",
        recipes="",
        data_fields=("vocab_size", "num_tags"),
        timed=False,
    ),
    "window": Tagger(
        "window",
        "window of word and capitalisation embeddings, one hidden layer (Collobert et al. 2011)",
        "lmlab.tag.models.collobert:WindowTaggerConfig",
        "lmlab.tag.models.collobert:WindowTagger",
    ),
    "bilstm": Tagger(
        "bilstm",
        "word + character BiLSTM features, a sentence BiLSTM, a softmax per word (Plank et al. 2016)",
        "lmlab.tag.models.bilstm:BiLSTMTaggerConfig",
        "lmlab.tag.models.bilstm:BiLSTMTagger",
    ),
    "bilstm-crf": Tagger(
        "bilstm-crf",
        "the BiLSTM tagger with a linear-chain CRF: forward algorithm, Viterbi decoding (Lample et al. 2016)",
        "lmlab.tag.models.lample_crf:BiLSTMCRFConfig",
        "lmlab.tag.models.lample_crf:BiLSTMCRFTagger",
    ),
    "transformer": Tagger(
        "transformer",
        "Transformer encoder layers over word + character features, a softmax per word",
        "lmlab.tag.models.transformer:TransformerTaggerConfig",
        "lmlab.tag.models.transformer:TransformerTagger",
    ),
}


def get_tagger(name: str) -> Tagger:
    return get_entry(TAGGERS, name, "tagger")


__all__ = ["TAGGERS", "Tagger", "get_tagger"]
