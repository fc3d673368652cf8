"""Sequence labelling as a task of the training engine: ``lmlab train --task tag --model FAMILY``.

Each example is a sentence: its words and one tag per word. Words become ids in the run's vocabulary
(:mod:`lmlab.tag.vocab`); a batch is the sentences padded to the longest one, with a mask that is True at real
words, the capitalisation class of every word, and the characters of every distinct form in the batch::

    sentences  "The dog barks"  "Rex sleeps"     words [[5, 9, 4],    mask [[T, T, T],    tags [[DET, NOUN, VERB],
                                                        [1, 7, 0]]          [T, T, F]]          [PROPN, VERB, pad]]

Batches are drawn by length buckets (a pool of 50 batches' worth of sentences is sorted by length and cut into
batches, whose order is then shuffled), so little of a batch is padding; the order of an epoch depends only on
(seed, epoch), so a resumed run sees the same batches. Words seen once in training are replaced by the unknown word
with probability ``unk_replace`` in each batch (Lample et al.'s singleton replacement: the unknown word's vector is
trained on words like the ones a test set brings; the characters still see the word).

The loss is the network's (:mod:`lmlab.tag.models.base`): the mean cross-entropy over the batch's words for the
softmax taggers, the CRF's negative log-likelihood of each sentence summed and divided by the batch's words for
``bilstm-crf``; either way nats per word, and the engine's unit is the word (``tokens``). Validation reports the
loss and the accuracy per word, the main metric (higher is better), which keeps the best weights and drives early
stopping.

References: Lample et al. 2016 (singleton replacement, p = 0.5); Plank et al. 2016.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.tag.models.base import PAD, UNK, TagBatch, caps_feature
from lmlab.tag.vocab import VOCAB_FILE, Vocabulary
from lmlab.train.bucketing import BucketedBatches
from lmlab.train.config import EngineConfig, check_engine_config
from lmlab.train.task import TrainingTask

UNSEEN = -1  # the tag id of a valid or test word whose tag never occurs in training


@dataclass(kw_only=True)
class TagTrainConfig(EngineConfig):
    """How a tagger is trained; each family's recipe (:data:`RECIPES`) changes some of these defaults."""

    epochs: int = 20  # passes over the training sentences (early stopping usually ends the run first)
    early_stop: int | None = 3  # stop 3 evaluations past the best validation accuracy
    batch_size: int = 16  # sentences per update: small batches, many updates
    optimizer: str = "adam"  # one of OPTIMIZERS
    lr: float = 2e-3  # peak learning rate
    clip: float | None = 5.0  # clip the gradient's global L2 norm (Lample et al.: 5)
    log_every: int = 50  # one metrics.jsonl row every this many steps
    unk_replace: float = 0.5  # replace a word seen once in training by <unk> with this probability (Lample: 0.5)

    def __post_init__(self):
        check_engine_config(self)
        check_tag_train_config(self)


def check_tag_train_config(cfg: Any) -> None:
    u = cfg.unk_replace
    if not (isinstance(u, (int, float)) and not isinstance(u, bool) and 0 <= u <= 1):
        raise LmlabError(f"--unk-replace must be a number in [0, 1], got {u!r}")


#: Each family's default recipe (a preset applied before --config and flags).
RECIPES: dict[str, dict[str, Any]] = {
    "window": {"lr": 1e-3, "batch_size": 32},
    # Adam 2e-3 after 50 warm-up steps: in 300 s on UD English GUM (one thread each, side by side, load 5), test
    # accuracy 90.20% against 87.92% for 5e-4 after 300 (below the most frequent tag's 88.75%)
    "transformer": {"lr": 2e-3, "batch_size": 32, "warmup_steps": 50, "clip": 1.0},
}


@functools.cache
def training_config_class(model_config: type) -> type:
    """One dataclass with the family's hyperparameters and the training recipe, so that every field is a flag, a
    key of a --config file, and saved in the checkpoint."""

    @dataclass(kw_only=True)
    class Config(model_config, TagTrainConfig):  # type: ignore[misc, valid-type]
        family: ClassVar[str] = model_config.family

        def __post_init__(self):
            model_config.__post_init__(self)
            check_engine_config(self)
            check_tag_train_config(self)

    Config.__name__ = Config.__qualname__ = f"{model_config.__name__.removesuffix('Config')}TrainConfig"
    return Config


class EncodedSentences:
    """Sentences as form ids, with a table of the distinct forms: their word id, capitalisation class and
    character ids. Form 0 is padding (word 0, class 0, no characters)."""

    def __init__(
        self,
        vocab: Vocabulary,
        words: Sequence[Sequence[str]],
        max_word_len: int,
        tags: Sequence[Sequence[str]] | None = None,
        tag_index: dict[str, int] | None = None,
    ):
        index: dict[str, int] = {}
        self.sentences: list[np.ndarray] = []
        for sentence in words:
            self.sentences.append(np.array([index.setdefault(w, len(index) + 1) for w in sentence], dtype=np.int64))
        forms = list(index)
        self.form_word = np.array([PAD] + [vocab.word_id(f) for f in forms], dtype=np.int64)
        self.form_caps = np.array([0] + [caps_feature(f) for f in forms], dtype=np.int64)
        self.form_chars = [np.zeros(0, dtype=np.int64)] + [vocab.char_ids(f, max_word_len) for f in forms]
        self.tags: list[np.ndarray] | None = None
        if tags is not None:
            assert tag_index is not None
            self.tags = [np.array([tag_index.get(t, UNSEEN) for t in s], dtype=np.int64) for s in tags]
        self.lengths = np.array([s.size for s in self.sentences], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.sentences)

    def arrays(self, index: Sequence[int]) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """The numpy arrays of a :class:`TagBatch` of the sentences at ``index``, and their tags (B, T) (padding 0)."""
        B, T = len(index), int(self.lengths[index].max())
        F = np.zeros((B, T), dtype=np.int64)
        tags = np.zeros((B, T), dtype=np.int64) if self.tags is not None else None
        for row, i in enumerate(index):
            F[row, : self.lengths[i]] = self.sentences[i]
            if tags is not None:
                tags[row, : self.lengths[i]] = self.tags[i]  # type: ignore[index]
        uniq = np.unique(F)  # sorted: 0, the padding form, first when there is padding
        if uniq[0] != 0:
            uniq = np.concatenate([[0], uniq])
        lengths = np.array([self.form_chars[u].size for u in uniq], dtype=np.int64)
        chars = np.zeros((uniq.size, max(1, int(lengths.max()))), dtype=np.int64)
        for row, u in enumerate(uniq):
            chars[row, : lengths[row]] = self.form_chars[u]
        batch = {
            "words": self.form_word[F],
            "caps": self.form_caps[F],
            "chars": chars,
            "char_lengths": lengths,
            "forms": np.searchsorted(uniq, F),
            "mask": F != 0,
        }
        return batch, tags


def to_batch(arrays: dict[str, np.ndarray], device: torch.device) -> TagBatch:
    return TagBatch(**{k: torch.from_numpy(v).to(device, non_blocking=True) for k, v in arrays.items()})


def singleton_words(vocab: Vocabulary, sentences: Sequence[Sequence[str]]) -> np.ndarray:
    """A mask over word ids (V,): True for the words seen exactly once in ``sentences``."""
    counts = Counter(w for s in sentences for w in s)
    out = np.zeros(vocab.size, dtype=bool)
    for w, n in counts.items():
        if n == 1 and w in vocab.word_index:
            out[vocab.word_index[w]] = True
    return out


@torch.inference_mode()
def predict_ids(net: nn.Module, encoded: EncodedSentences, batch_size: int = 128) -> tuple[list[np.ndarray], float]:
    """The best tag ids of every sentence (by length, in batches) and, when ``encoded`` has tags, the mean loss per
    word over the sentences whose tags were all seen in training (nan when there are none)."""
    device = next(net.parameters()).device
    order = np.argsort(encoded.lengths, kind="stable")
    out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(encoded)
    loss_sum, loss_words = 0.0, 0
    for a in range(0, order.size, batch_size):
        index = order[a : a + batch_size]
        arrays, tags = encoded.arrays(index)
        batch = to_batch(arrays, device)
        scores = net(batch).scores
        best = net.decode(scores, batch.mask).cpu().numpy()
        for row, i in enumerate(index):
            out[i] = best[row, : encoded.lengths[i]]
        if tags is not None:
            known = ~(tags == UNSEEN).any(axis=1)
            if known.any():
                keep = torch.from_numpy(known).to(device)
                t = torch.from_numpy(tags[known]).to(device)
                n = int(arrays["mask"][known].sum())
                loss = net.loss(scores[keep], t, batch.mask[keep])
                loss_sum += float(loss) * n
                loss_words += n
    return out, (loss_sum / loss_words if loss_words else math.nan)


class TaggingTask(TrainingTask):
    name = "tag"
    unit = "tokens"
    main_metric = "accuracy"
    higher_is_better = True

    def __init__(self, cfg: Any, data: Any, vocab: Vocabulary):
        """``data``: a :class:`lmlab.tag.data.TaggingData`; ``vocab`` built on its training words."""
        from lmlab.tag.models import get_tagger

        self.cfg, self.data, self.vocab = cfg, data, vocab
        self.family = cfg.family
        self.network_class = get_tagger(cfg.family).network_class()
        self.tags = list(data.tags)
        self.tag_index = {t: i for i, t in enumerate(self.tags)}

    def prepare(self, scratch: Path, seed: int) -> None:
        from lmlab.data.fingerprint import split_sha256

        train, valid = self.data.train, self.data.valid
        if not len(train):
            raise LmlabError("the training split is empty")
        max_word_len = getattr(self.cfg, "max_word_len", 30)
        self.train_enc = EncodedSentences(self.vocab, train.words, max_word_len, train.tags, self.tag_index)
        self.valid_enc = EncodedSentences(self.vocab, valid.words, max_word_len, valid.tags, self.tag_index)
        self.singletons = singleton_words(self.vocab, train.words)
        self.seed = seed
        self.batches = BucketedBatches(self.train_enc.lengths, self.cfg.batch_size, seed)
        self.train_sha = split_sha256(train.as_lines())

    @property
    def steps_per_epoch(self) -> int:
        return len(self.batches)

    @property
    def train_size(self) -> int:
        return int(self.train_enc.lengths.sum())

    @property
    def has_validation(self) -> bool:
        return len(self.valid_enc) > 0

    def build_network(self) -> nn.Module:
        from lmlab.nn.init import init_parameters

        self.net = self.network_class(self.cfg)
        if self.cfg.init != "default":
            init_parameters(self.net, self.cfg.init, self.cfg.init_range)
        return self.net

    def train_step(self, forward: Callable, step: int, state: Any) -> tuple[Tensor, int, Any]:
        index = self.shard.rows(self.batches.batch(step))  # this process's sentences of the batch
        arrays, tags = self.train_enc.arrays(index)
        if self.cfg.unk_replace > 0:
            # singleton replacement: a fixed draw per (seed, step), so a resumed run replaces the same words
            rng = np.random.default_rng((self.seed, step, 1))
            words = arrays["words"]
            drop = self.singletons[words] & (rng.random(words.shape) < self.cfg.unk_replace)
            arrays["words"] = np.where(drop, UNK, words)
        device = next(self.net.parameters()).device
        batch = to_batch(arrays, device)
        out = forward(batch, torch.from_numpy(tags).to(device, non_blocking=True))
        return out.loss, int(arrays["mask"].sum()), None

    def _valid_count(self, subset: int | None) -> int:
        """Validation sentences whose words fill ``subset`` (all of them for None), always the first ones."""
        if subset is None:
            return len(self.valid_enc)
        return max(1, int(np.searchsorted(np.cumsum(self.valid_enc.lengths), subset, side="right")))

    def validate(self, subset: int | None = None) -> dict[str, float]:
        n = self._valid_count(subset)
        part = EncodedSentencesView(self.valid_enc, n)
        pred, loss = predict_ids(self.net, part)  # type: ignore[arg-type]
        right = sum(int((p == t).sum()) for p, t in zip(pred, part.tags))
        words = int(part.lengths.sum())
        return {"loss": loss, "accuracy": right / words}

    def validation_size(self) -> int:
        return int(self.valid_enc.lengths.sum())

    def fingerprint(self) -> dict[str, Any]:
        return {"train_sha256": self.train_sha, "vocab_sha256": self.vocab.sha256, "tags": self.tags}

    def check_resume(self, info: dict[str, Any], run: Path) -> None:
        if info.get("vocab_sha256") != self.vocab.sha256 or info.get("tags") != self.tags:
            raise LmlabError(f"--resume {run}: the vocabulary or the tags do not match the checkpoint's")
        if info.get("train_sha256") != self.train_sha:
            raise LmlabError(
                f"--resume {run}: the training data is not the data of the checkpoint "
                f"(it was {info.get('data', {}).get('spec')!r}); resume with the same --data"
            )

    def write_static_files(self, directory: Path) -> None:
        self.vocab.save(directory / VOCAB_FILE)

    def run_config(self, info: Any) -> dict[str, Any]:
        from lmlab.runconfig import run_envelope

        # the vocabulary's hash ties the weights to it
        return run_envelope(
            self.name, self.family, self.cfg.to_dict(), info, tags=self.tags, scheme=self.data.scheme,
            vocab=self.vocab.record(),
        )  # fmt: skip

    def result(self) -> NeuralTagger:
        return NeuralTagger(self.net, self.vocab, self.tags, self.cfg)


class EncodedSentencesView:
    """The first ``n`` sentences of an :class:`EncodedSentences` (the fixed validation subset)."""

    def __init__(self, encoded: EncodedSentences, n: int):
        self.encoded, self.n = encoded, n
        self.lengths = encoded.lengths[:n]
        self.tags = encoded.tags[:n] if encoded.tags is not None else None

    def __len__(self) -> int:
        return self.n

    def arrays(self, index: Sequence[int]):
        return self.encoded.arrays(index)


class NeuralTagger:
    """A trained tagger network with its vocabulary and tags: what ``lmlab eval`` and ``lmlab tag`` use."""

    def __init__(self, net: nn.Module, vocab: Vocabulary, tags: Sequence[str], cfg: Any):
        self.net, self.vocab, self.tags, self.cfg = net, vocab, list(tags), cfg
        self.family = cfg.family
        self.net.eval()

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """The tags of each sentence of words."""
        if not sentences:
            return []
        encoded = EncodedSentences(self.vocab, sentences, getattr(self.cfg, "max_word_len", 30))
        ids, _ = predict_ids(self.net, encoded)
        return [[self.tags[i] for i in s] for s in ids]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())


def train_tagger(
    cfg: Any, data: Any, vocab: Vocabulary, opts: Any, out: Path, *, callbacks: Sequence[Callable] = ()
) -> NeuralTagger:
    """Train a neural tagger on the engine and leave a complete run directory at ``out``."""
    from lmlab.train.loop import train_task

    return train_task(TaggingTask(cfg, data, vocab), opts, out, callbacks=callbacks)


def load_tagger(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """The trained tagger of a run directory (any family, through its table entry) and its config."""
    from lmlab.runconfig import read_run_config
    from lmlab.tag.models import get_tagger

    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)
    where = f"{run_dir}/config.json"
    if cfg.get("task") != "tag":
        raise LmlabError(f"{run_dir} is not a tagging run (its task is {cfg.get('task', 'lm')!r})")
    tags = cfg.get("tags")
    if not isinstance(tags, list) or len(tags) < 2 or not all(isinstance(t, str) and t for t in tags):
        raise LmlabError(f"{where}: field 'tags' must be a list of at least two tags")
    if len(set(tags)) != len(tags):
        raise LmlabError(f"{where}: field 'tags' lists a tag twice")
    if cfg.get("scheme") not in ("bio", "plain"):
        raise LmlabError(f"{where}: field 'scheme' must be 'bio' or 'plain'")
    try:
        entry = get_tagger(cfg.get("family", ""))
    except LmlabError as e:
        raise LmlabError(f"{where}: field 'family': {e}") from None
    return entry.loader_fn()(run_dir, cfg), cfg


def load_neural_tagger(run_dir: Path, run_cfg: dict[str, Any]) -> NeuralTagger:
    """A neural tagger from its run: the vocabulary a plain file of the run with the recorded hash, the
    configuration checked field by field, and the weights' shapes checked before the network is built."""
    from lmlab.nn.weights import load_network
    from lmlab.runfiles import config_from_json
    from lmlab.tag.models import get_tagger

    where = str(run_dir / "config.json")
    entry = get_tagger(run_cfg["family"])
    cfg = config_from_json(entry.train_config_class(), run_cfg.get("model"), where, "model.")
    vocab = Vocabulary.load(run_dir, run_cfg.get("vocab"), where)
    expected = entry.data_values(vocab.size, vocab.char_size, len(run_cfg["tags"]))
    if any(getattr(cfg, k) != v for k, v in expected.items()):
        raise LmlabError(f"{run_dir}: the configuration does not match its {VOCAB_FILE} or its tags")
    network_class = entry.network_class()
    net = load_network(run_dir / "model.safetensors", lambda: network_class(cfg))
    return NeuralTagger(net, vocab, run_cfg["tags"], cfg)


def evaluate_tagger(tagger: Any, sentences: Any, scheme: str) -> dict[str, Any]:
    """Accuracy, per-tag figures, accuracy on words outside the tagger's vocabulary, and for span tags the span
    precision/recall/F1 (seqeval's) of ``tagger`` on ``sentences`` (a :class:`lmlab.tag.data.Sentences`).

    A true tag the tagger never saw in training is always an error, counted in ``unseen_tags``. ``warnings`` lists
    what the caller should tell the user (unseen tags, spans that open with ``I-``).
    """
    from lmlab.tag.metrics import ill_formed_starts, span_scores, subset_accuracy, tag_report

    if not len(sentences):
        raise LmlabError("the sentences to evaluate are empty")
    pred = tagger.predict(sentences.words)
    result: dict[str, Any] = tag_report(sentences.tags, pred).to_dict()
    oov = [[w not in tagger.vocab.word_index for w in s] for s in sentences.words]
    result["oov_accuracy"], result["oov_words"] = subset_accuracy(sentences.tags, pred, oov)
    known = set(tagger.tags)
    unseen = Counter(t for s in sentences.tags for t in s if t not in known)
    result["unseen_tag_words"] = sum(unseen.values())
    result["unseen_tags"] = dict(sorted(unseen.items()))
    warnings = []
    if unseen:
        listed = ", ".join(f"{t!r} ({n})" for t, n in sorted(unseen.items()))
        warnings.append(f"{sum(unseen.values())} word(s) have tags never seen in training, counted as errors: {listed}")
    result["scheme"] = scheme
    if scheme == "bio":
        result.update(span_scores(sentences.tags, pred))
        bad = sum(len(ill_formed_starts(s)) for s in sentences.tags)
        result["ill_formed_true_spans"] = bad
        result["ill_formed_predicted_spans"] = sum(len(ill_formed_starts(s)) for s in pred)
        if bad:
            warnings.append(
                f"{bad} span(s) of the true tags open with I- (or E-), which IOB2 does not allow; "
                "scored as seqeval does, as spans starting there"
            )
    result["warnings"] = warnings
    return result


__all__ = [
    "RECIPES",
    "EncodedSentences",
    "NeuralTagger",
    "TagTrainConfig",
    "TaggingTask",
    "evaluate_tagger",
    "load_neural_tagger",
    "load_tagger",
    "predict_ids",
    "train_tagger",
    "training_config_class",
]
