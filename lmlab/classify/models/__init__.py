"""The text classifier families and where to find each one.

``CLASSIFIERS`` names every network ``lmlab train --task classify --model`` accepts. Each entry points (lazily,
so that reading the table imports no PyTorch) at the family's config dataclass and its network class; the
networks honour the contract of :mod:`lmlab.classify.models.base` (``forward(x, mask) -> ClassifierOutput``,
``constrain_()``), so the task and the engine reach a family only through this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmlab.families import NetworkFamily, get_entry


@dataclass(frozen=True)
class Classifier(NetworkFamily):
    """A text classifier family (see :class:`lmlab.families.NetworkFamily`); trained on the engine unless its
    refs say otherwise (``nb`` counts)."""

    trainer: str = "lmlab.classify.task:train_classifier"
    loader: str = "lmlab.classify.task:load_neural_classifier"
    train_config: str = "lmlab.classify.task:training_config_class"
    recipes: str = "lmlab.classify.task:RECIPES"
    data_fields: tuple[str, ...] = ("vocab_size", "num_classes", "padding_idx")
    #: config fields set by a flag every family has (``--lowercase`` of the tokenizer flags)
    shared_fields: tuple[str, ...] = ()

    def compare_args(self, cmp: Any) -> list[str]:
        """The family's flags in ``lmlab compare``: its recipe, and early stopping for those trained in epochs."""
        return ["--early-stop", "5"] if self.timed else []

    def data_values(self, vocab_size: int, num_classes: int) -> dict[str, Any]:
        """The config values that come from the data: the network's ids are the tokenizer's + 1 (0 is padding)."""
        values = {"vocab_size": vocab_size + 1, "num_classes": num_classes, "padding_idx": 0}
        return {k: v for k, v in values.items() if k in self.data_fields}


CLASSIFIERS: dict[str, Classifier] = {
    "nb": Classifier(
        "nb",
        "multinomial naive Bayes over word n-gram counts, or NBSVM with --svm (Wang & Manning 2012); no PyTorch",
        "lmlab.classify.models.nbsvm:NBConfig",
        "",
        trainer="lmlab.classify.models.nbsvm:train_nb",
        loader="lmlab.classify.models.nbsvm:load_nb",
        train_config="lmlab.classify.models.nbsvm:nb_train_config",
        data_fields=(),
        shared_fields=("lowercase",),
        timed=False,
    ),
    "bow": Classifier(
        "bow",
        "averaged word (and hashed n-gram) embeddings and a linear layer (fastText, Joulin et al. 2016)",
        "lmlab.classify.models.fasttext:BagOfWordsConfig",
        "lmlab.classify.models.fasttext:BagOfWords",
    ),
    "textcnn": Classifier(
        "textcnn",
        "n-gram filters, max-over-time pooling, dropout, max-norm (Kim 2014)",
        "lmlab.classify.models.kim_cnn:TextCNNConfig",
        "lmlab.classify.models.kim_cnn:TextCNN",
    ),
    "rnn": Classifier(
        "rnn",
        "many-to-one RNN / LSTM / GRU, uni- or bidirectional, last state or mean / max pooling",
        "lmlab.classify.models.rnn:RNNClassifierConfig",
        "lmlab.classify.models.rnn:RNNClassifier",
    ),
    "attention": Classifier(
        "attention",
        "bidirectional LSTM / GRU with word attention (Yang et al. 2016), several hops (Lin et al. 2017)",
        "lmlab.classify.models.yang_attention:AttentionClassifierConfig",
        "lmlab.classify.models.yang_attention:AttentionClassifier",
    ),
    "transformer": Classifier(
        "transformer",
        "Transformer encoder layers with mean or first-token pooling",
        "lmlab.classify.models.transformer:TransformerClassifierConfig",
        "lmlab.classify.models.transformer:TransformerClassifier",
    ),
}


def get_classifier(name: str) -> Classifier:
    return get_entry(CLASSIFIERS, name, "classifier")


__all__ = ["CLASSIFIERS", "Classifier", "get_classifier"]
