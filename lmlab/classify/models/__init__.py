"""The text classifier families and where to find each one.

``CLASSIFIERS`` names every network ``lmlab train --task classify --model`` accepts. Each entry points (lazily,
so that reading the table imports no PyTorch) at the family's config dataclass and its network class; the
networks honour the contract of :mod:`lmlab.classify.models.base` (``forward(x, mask) -> ClassifierOutput``,
``constrain_()``), so the task and the engine reach a family only through this table.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Classifier:
    name: str
    summary: str
    config: str  # "module:Class", a dataclass whose fields are the family's hyperparameters (and CLI flags)
    network: str  # "module:Class", built from the config alone ("" for a count-based model)
    #: "module:function": train(config, data, tokenizer, options, out, embeddings=...) -> trained classifier
    trainer: str = "lmlab.classify.task:train_classifier"
    #: "module:function": load(run_dir, run_config) -> trained classifier (predict_proba, labels)
    loader: str = "lmlab.classify.task:load_neural_classifier"
    #: "module:function" making the flags' dataclass from the family's config (with the training recipe for
    #: networks trained on the engine)
    train_config: str = "lmlab.classify.task:training_config_class"
    #: config fields set from the data (not flags)
    data_fields: tuple[str, ...] = ("vocab_size", "num_classes", "padding_idx")
    #: config fields set by a flag every family has (``--lowercase`` of the tokenizer flags)
    shared_fields: tuple[str, ...] = ()
    timed: bool = True  # trains for a share of a comparison's time budget (False: counts, in seconds)

    def _load(self, ref: str) -> Any:
        module, _, attr = ref.partition(":")
        return getattr(importlib.import_module(module), attr)

    def config_class(self) -> type:
        return self._load(self.config)

    def network_class(self) -> type:
        return self._load(self.network)

    def trainer_fn(self):
        return self._load(self.trainer)

    def loader_fn(self):
        return self._load(self.loader)

    def train_config_class(self) -> type:
        return self._load(self.train_config)(self.config_class())

    @property
    def recipe(self) -> dict[str, Any]:
        """The family's default training recipe (flags and --config override it)."""
        from lmlab.classify.task import RECIPES

        return dict(RECIPES.get(self.name, {}))

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
    from lmlab.errors import LmlabError

    if name not in CLASSIFIERS:
        raise LmlabError(f"unknown classifier {name!r}; choose one of: {', '.join(CLASSIFIERS)}")
    return CLASSIFIERS[name]


__all__ = ["CLASSIFIERS", "Classifier", "get_classifier"]
