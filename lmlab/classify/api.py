"""``lmlab.load`` for text classifiers (task ``classify``): a text's label, and which of its words gave it.

::

    m = lmlab.load("runs/textcnn")
    m.predict(["a superb film", "dull"])   # label, probability and every class's, as `lmlab classify --json`
    m.explain("a superb film")             # one weight per word

``explain`` gives each word the attention weight it gets in an attention model (``method`` "attention"; with
several hops each hop's weights too, and their mean as ``weights``). Every other model, naive Bayes included, is
asked again without each word in turn (``method`` "leave-one-out", occlusion): a word's weight is how much the
predicted class's probability falls when the word is left out (negative: the word spoke against it)::

    weight_i = p(label | text) - p(label | text without word i)

A neural model reads the tokenizer's words (the unknown ones as ``<unk>``, the text cut to the run's ``max_len``)
and leaves them out of its ids; naive Bayes reads the words between spaces and leaves them out of the text.

References: Zeiler & Fergus 2014 (occlusion); Li, Monroe & Jurafsky 2016, "Understanding Neural Networks through
Representation Erasure" (leaving words out).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.api import TrainedRun, bounded_int, inputs_list, json_ready, nonempty_text
from lmlab.errors import LmlabError

MAX_TOKENS = 400  # words explained by default (the rest are left as they are)
TOKENS_LIMIT = 5_000  # the most a caller may ask for: one forward pass per word left out
OCCLUSION_BATCH = 64  # texts-without-one-word scored together


class ClassifierRun(TrainedRun):
    """A trained text classifier of any family (see the module docstring)."""

    task = "classify"

    def __init__(self, path: str | Path, config: dict[str, Any], classifier: Any):
        super().__init__(path, config)
        self.classifier = classifier
        self.labels = list(classifier.labels)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(N, C) class probabilities, columns in ``labels`` order: the classifier's ``predict_proba``."""
        return np.asarray(self.classifier.predict_proba(list(texts)), dtype=np.float64)

    def _result(self, p: np.ndarray) -> dict[str, Any]:
        best = int(p.argmax())
        return {
            "label": self.labels[best],
            "probability": float(p[best]),
            "probabilities": {label: float(q) for label, q in zip(self.labels, p)},
        }

    def predict(self, inputs: Sequence[Any], **options: Any) -> list[dict[str, Any]]:
        """Per text what ``lmlab classify RUN --text TEXT --json`` prints: the ``text``, its ``label`` and that
        label's ``probability``, and every class's ``probabilities``."""
        _no_options(options, "predict")
        texts = [_text(t, i) for i, t in enumerate(inputs_list(inputs, "texts"))]
        if not texts:
            return []
        return [{"text": t, **self._result(p)} for t, p in zip(texts, self.probabilities(texts))]

    def explain(self, one_input: Any, *, max_tokens: int = MAX_TOKENS) -> dict[str, Any]:
        """The text's ``label``, ``probability`` and ``probabilities``; its ``tokens`` as the model reads them
        and one weight per token (``weights``; see the module docstring for the two ``method``s), for the first
        ``max_tokens`` of them (``truncated`` says when there were more; ``num_tokens`` counts them all)."""
        text = nonempty_text(one_input)
        max_tokens = bounded_int(max_tokens, "max_tokens", 1, TOKENS_LIMIT)
        p = self.probabilities([text])[0]
        out: dict[str, Any] = self._result(p)
        best = int(p.argmax())
        if hasattr(self.classifier, "net"):
            out |= self._explain_network(text, best, float(p[best]), max_tokens)
        else:
            out |= self._explain_words(text, best, float(p[best]), max_tokens)
        out["truncated"] = out["num_tokens"] > len(out["tokens"])
        return json_ready(out)

    def _explain_network(self, text: str, best: int, p_best: float, max_tokens: int) -> dict[str, Any]:
        """A neural classifier: its attention, or each of its token ids left out."""
        words, attention, _ = self.classifier.attention(text)
        n = min(len(words), max_tokens)
        out: dict[str, Any] = {"tokens": words[:n], "num_tokens": len(words)}
        if attention is not None:  # (hops, T): each hop's weights over the tokens sum to one
            out |= {"method": "attention", "weights": attention.mean(axis=0)[:n], "hops": attention[:, :n]}
            return out
        ids = self.classifier.encode([text])[0]
        unknown = np.array([self.classifier.tokenizer.unk_id + 1], dtype=np.int64)
        # without its only token a text reads as one unknown word, as an empty text does (encode_texts)
        variants = [np.delete(ids, i) if ids.size > 1 else unknown for i in range(n)]
        p = network_probabilities(self.classifier, variants)
        return out | {"method": "leave-one-out", "weights": p_best - p[:, best]}

    def _explain_words(self, text: str, best: int, p_best: float, max_tokens: int) -> dict[str, Any]:
        """A model of word counts (naive Bayes, NBSVM): each word between spaces left out of the text."""
        words = text.split()
        n = min(len(words), max_tokens)
        lowercase = self.classifier.model.config.lowercase  # naive Bayes reads the words lowercased when trained so
        tokens = [w.lower() if lowercase else w for w in words[:n]]
        variants = [" ".join(words[:i] + words[i + 1 :]) for i in range(n)]
        p = self.probabilities(variants)
        return {"tokens": tokens, "num_tokens": len(words), "method": "leave-one-out", "weights": p_best - p[:, best]}

    def num_parameters(self) -> int:
        return int(self.classifier.num_parameters())

    def describe(self) -> dict[str, Any]:
        return super().describe() | {"labels": self.labels}


def network_probabilities(classifier: Any, seqs: Sequence[np.ndarray], batch_size: int = OCCLUSION_BATCH) -> np.ndarray:
    """(N, C) class probabilities of texts given as model ids (tokenizer id + 1), padded together in batches:
    padding never changes a prediction (the networks' contract), so this is ``predict_proba`` of the texts."""
    import torch

    from lmlab.classify.task import pad_batch

    device = next(classifier.net.parameters()).device
    out = np.empty((len(seqs), len(classifier.labels)), dtype=np.float64)
    with torch.inference_mode():
        for a in range(0, len(seqs), batch_size):
            x, mask = pad_batch(seqs[a : a + batch_size])  # (B, T) each
            z = classifier.net(torch.from_numpy(x).to(device), torch.from_numpy(mask).to(device)).logits
            z = z.double().cpu().numpy()
            out[a : a + batch_size] = np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))
    return out


def _text(text: Any, i: int) -> str:
    try:
        return nonempty_text(text)
    except LmlabError as e:
        raise LmlabError(f"inputs[{i}]: {e}") from None


def _no_options(options: dict[str, Any], verb: str) -> None:
    if options:
        raise LmlabError(f"{verb} of a text classifier takes no options, got {', '.join(map(repr, options))}")


def load_run(path: str | Path) -> ClassifierRun:
    """The trained classifier (any family) of the run at ``path``."""
    from lmlab.classify.task import load_classifier

    classifier, cfg = load_classifier(path)
    return ClassifierRun(path, cfg, classifier)


__all__ = ["ClassifierRun", "load_run", "network_probabilities"]
