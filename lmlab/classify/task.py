"""Text classification as a task of the training engine: ``lmlab train --task classify --model FAMILY``.

Each example is a text and its label. Texts become word ids with the run's word tokenizer, shifted by one so that
id 0 is padding (the tokenizer's own ids start with ``<unk>`` at 0); a batch is the texts padded to the longest
one, with a mask that is True at real tokens::

    texts   "a fine film"   "dull"           x  [[5, 9, 4],      mask  [[T, T, T],      y  [1,
                                                 [7, 0, 0]]             [T, F, F]]          0]

Batches are drawn by length buckets (a pool of 50 batches' worth of examples is sorted by length and cut into
batches, whose order is then shuffled) so little of a batch is padding; the order of an epoch depends only on
(seed, epoch), so a resumed run sees the same batches. The loss is the mean cross-entropy per example, plus the
model's auxiliary penalty (Lin et al.'s) when it has one::

    loss = -(1/B) sum_b ln softmax(logits_b)[y_b]  (+ penalty)

Validation reports loss, accuracy and macro-F1; the main metric, which keeps the best weights and drives early
stopping, is accuracy (higher is better).

References: Kim 2014 (the recipe: mini-batches of 50, Adadelta, early stopping on the dev set).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.metrics import ClassificationReport, evaluation_metrics, plot_confusion_matrix
from lmlab.nn.init import init_parameters
from lmlab.tokenizers import Tokenizer, tokenizer_sha256
from lmlab.train.bucketing import BucketedBatches
from lmlab.train.config import EngineConfig, check_engine_config
from lmlab.train.task import TrainingTask

PAD = 0  # the padding id of every classifier network; token ids are the tokenizer's + 1


@dataclass(kw_only=True)
class ClassifyTrainConfig(EngineConfig):
    """How a classifier is trained; each family's recipe (:data:`RECIPES`) changes some of these defaults."""

    epochs: int = 10  # passes over the training examples
    early_stop: int | None = 3  # small datasets overfit within a few epochs: stop 3 evaluations past the best
    batch_size: int = 50  # examples per update (Kim 2014)
    optimizer: str = "adam"  # one of OPTIMIZERS
    lr: float = 1e-3  # peak learning rate
    clip: float | None = 5.0  # clip the gradient's global L2 norm; None: no clipping
    log_every: int = 20  # one metrics.jsonl row every this many steps
    max_len: int = 400  # keep at most this many tokens of a text (longer texts are cut; the count is reported)


#: Each family's default recipe (a preset applied before --config and flags). Kim's CNN trains with Adam here:
#: his Adadelta recipe (``--preset kim2014``) gave 79.4-79.5% on SST-2's sentences against 82.4% with Adam, whose
#: best epoch comes early (the second or third); early stopping then ends the run.
RECIPES: dict[str, dict[str, Any]] = {
    "textcnn": {"optimizer": "adam", "lr": 1e-3, "batch_size": 50, "epochs": 10, "clip": None, "early_stop": 3},
    # fastText: a linear model learns fast; a larger rate
    "bow": {"optimizer": "adam", "lr": 5e-3, "batch_size": 32, "epochs": 10},
}

#: Published recipes a user asks for by name (``--preset NAME``), per family.
CLASSIFY_PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    # Kim 2014: Adadelta (rho 0.95), mini-batches of 50, 25 epochs, max-norm 3 instead of gradient clipping
    ("textcnn", "kim2014"): {
        "optimizer": "adadelta",
        "lr": 1.0,
        "rho": 0.95,
        "batch_size": 50,
        "epochs": 25,
        "clip": None,
        "early_stop": None,
    },  # fmt: skip
}


def classify_preset(family: str, name: str) -> dict[str, Any]:
    """The values of preset ``name`` for classifier ``family``, or an LmlabError naming the ones it has."""
    if (family, name) not in CLASSIFY_PRESETS:
        known = [n for f, n in CLASSIFY_PRESETS if f == family]
        raise LmlabError(
            f"unknown preset {name!r} for --model {family}; "
            + (f"presets: {', '.join(known)}" if known else "it has none (its default recipe applies)")
        )
    return dict(CLASSIFY_PRESETS[(family, name)])


@functools.cache
def training_config_class(model_config: type) -> type:
    """One dataclass with the family's hyperparameters and the training recipe, so that every field is a flag, a
    key of a --config file and of a preset, and the checkpoint holds both."""

    @dataclass(kw_only=True)
    class Config(model_config, ClassifyTrainConfig):  # type: ignore[misc, valid-type]
        family: ClassVar[str] = model_config.family

        def __post_init__(self):
            model_config.__post_init__(self)
            check_engine_config(self)
            if not (isinstance(self.max_len, int) and not isinstance(self.max_len, bool) and self.max_len >= 1):
                raise LmlabError(f"--max-len must be an integer >= 1, got {self.max_len!r}")

    Config.__name__ = Config.__qualname__ = f"{model_config.__name__.removesuffix('Config')}TrainConfig"
    return Config


#: Config fields that come from the data, not from flags.
DATA_FIELDS = ("vocab_size", "num_classes", "padding_idx")


def encode_texts(tokenizer: Tokenizer, texts: Sequence[str], max_len: int) -> tuple[list[np.ndarray], int]:
    """Each text as model ids (tokenizer id + 1; 0 is padding), cut to ``max_len``; and how many were cut."""
    out, cut = [], 0
    for text in texts:
        ids = np.asarray(tokenizer.encode(text), dtype=np.int64) + 1
        if ids.size == 0:
            ids = np.array([tokenizer.unk_id + 1], dtype=np.int64)  # an empty text reads as one unknown word
        if ids.size > max_len:
            ids, cut = ids[:max_len], cut + 1
        out.append(ids)
    return out, cut


def pad_batch(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Ids (B, T) padded with 0 at the end, and the mask (B, T), True at real tokens.

    >>> x, mask = pad_batch([np.array([5, 9, 4]), np.array([7])])
    >>> x.tolist(), mask.tolist()
    ([[5, 9, 4], [7, 0, 0]], [[True, True, True], [True, False, False]])
    """
    T = max(s.size for s in seqs)
    x = np.zeros((len(seqs), T), dtype=np.int64)
    for i, s in enumerate(seqs):
        x[i, : s.size] = s
    return x, x != PAD


def classification_loss(out, y: Tensor) -> Tensor:
    """Mean cross-entropy per example, plus the model's penalty when it has one."""
    loss = F.cross_entropy(out.logits.float(), y)
    return loss if out.penalty is None else loss + out.penalty


class ClassificationTask(TrainingTask):
    name = "classify"
    unit = "examples"
    main_metric = "accuracy"
    higher_is_better = True

    def __init__(
        self,
        cfg: Any,
        data: Any,
        tokenizer: Tokenizer,
        *,
        embeddings: tuple[Tensor, Tensor] | None = None,
    ):
        """``data``: a :class:`lmlab.classify.data.ClassificationData`; ``embeddings``: (vectors (V, D), known (V,))
        rows in model ids (row 0 is padding) to copy into the network."""
        from lmlab.classify.models import get_classifier

        self.cfg, self.data, self.tokenizer, self.embeddings = cfg, data, tokenizer, embeddings
        self.family = cfg.family
        self.network_class = get_classifier(cfg.family).network_class()
        self.labels = list(data.labels)
        self.label_index = {label: i for i, label in enumerate(self.labels)}

    def prepare(self, scratch: Path, seed: int) -> None:
        train = self.data.train
        if not train.texts:
            raise LmlabError("the training split is empty")
        self.train_x, cut = encode_texts(self.tokenizer, train.texts, self.cfg.max_len)
        self.train_y = np.array([self.label_index[label] for label in train.labels], dtype=np.int64)
        self.valid_x, cut_v = encode_texts(self.tokenizer, self.data.valid.texts, self.cfg.max_len)
        self.valid_labels = list(self.data.valid.labels)
        self.truncated = cut + cut_v
        self.batches = BucketedBatches(
            np.array([x.size for x in self.train_x], dtype=np.int64), self.cfg.batch_size, seed
        )
        h = hashlib.sha256()
        for ids, y in zip(self.train_x, self.train_y):
            h.update(ids.tobytes() + b"|" + str(int(y)).encode() + b"\n")
        self.train_sha = h.hexdigest()

    @property
    def steps_per_epoch(self) -> int:
        return len(self.batches)

    @property
    def train_size(self) -> int:
        return len(self.train_x)

    @property
    def has_validation(self) -> bool:
        return len(self.valid_x) > 0

    def build_network(self) -> nn.Module:
        self.net = self.network_class(self.cfg)
        if self.cfg.init != "default":  # the families' own initialisation (Kim's uniform embeddings) otherwise
            init_parameters(self.net, self.cfg.init, self.cfg.init_range)
        if self.embeddings is not None:
            from lmlab.classify.models.base import init_embeddings_

            init_embeddings_(self.net, *self.embeddings)
        return self.net

    def _tensors(self, xs: Sequence[np.ndarray], ys: np.ndarray | None, index: np.ndarray):
        device = next(self.net.parameters()).device
        x, mask = pad_batch([xs[i] for i in index])
        xt = torch.from_numpy(x).to(device, non_blocking=True)
        mt = torch.from_numpy(mask).to(device, non_blocking=True)
        yt = None if ys is None else torch.from_numpy(ys[index]).to(device, non_blocking=True)
        return xt, mt, yt

    def train_step(self, forward: Callable, step: int, state: Any) -> tuple[Tensor, int, Any]:
        index = self.shard.rows(self.batches.batch(step))  # this process's examples of the batch
        x, mask, y = self._tensors(self.train_x, self.train_y, index)
        out = forward(x, mask)
        return classification_loss(out, y), len(index), None

    def after_update(self) -> None:
        self.net.constrain_()

    @torch.inference_mode()
    def predict_logits(self, xs: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """Logits (N, C) of encoded texts, in batches of similar length."""
        order = np.argsort([x.size for x in xs], kind="stable")
        out = np.empty((len(xs), len(self.labels)), dtype=np.float64)
        for a in range(0, order.size, batch_size):
            index = order[a : a + batch_size]
            x, mask, _ = self._tensors(xs, None, index)
            out[index] = self.net(x, mask).logits.double().cpu().numpy()
        return out

    def validate(self, subset: int | None = None) -> dict[str, float]:
        n = len(self.valid_x) if subset is None else min(subset, len(self.valid_x))
        logits = self.predict_logits(self.valid_x[:n])
        return evaluation_metrics(logits, self.valid_labels[:n], self.labels)[0]

    def validation_size(self) -> int:
        return len(self.valid_x)

    def fingerprint(self) -> dict[str, Any]:
        return {
            "train_sha256": self.train_sha,
            "tokenizer_sha256": tokenizer_sha256(self.tokenizer),
            "vocab_size": self.tokenizer.vocab_size,
            "labels": self.labels,
        }

    def check_resume(self, info: dict[str, Any], run: Path) -> None:
        if info.get("tokenizer_sha256") != tokenizer_sha256(self.tokenizer) or info.get("labels") != self.labels:
            raise LmlabError(f"--resume {run}: the vocabulary or the labels do not match the checkpoint's")
        if info.get("train_sha256") != self.train_sha:
            raise LmlabError(
                f"--resume {run}: the training data is not the data of the checkpoint "
                f"(it was {info.get('data', {}).get('spec')!r}); resume with the same --data"
            )

    def write_static_files(self, directory: Path) -> None:
        self.tokenizer.save(directory / "tokenizer.json")

    def run_config(self, info: Any) -> dict[str, Any]:
        from lmlab.runconfig import RunInfo, run_envelope, tokenizer_record

        info = RunInfo(data=info.data, command=info.command, stats={**info.stats, "truncated_texts": self.truncated})
        return run_envelope(
            self.name, self.family, self.cfg.to_dict(), info, labels=self.labels,
            tokenizer=tokenizer_record(self.tokenizer),
        )  # fmt: skip

    def finish(self, directory: Path) -> None:
        if self.has_validation:
            logits = self.predict_logits(self.valid_x)
            report = evaluation_metrics(logits, self.valid_labels, self.labels)[1]
            plot_confusion_matrix(report, directory / "confusion-valid.png", title=_title("validation", report))

    def result(self) -> NeuralTextClassifier:
        return NeuralTextClassifier(self.net, self.tokenizer, self.labels, self.cfg)


def _title(split: str, report: ClassificationReport) -> str:
    return f"{split}: accuracy {report.accuracy:.2%}, macro-F1 {report.macro_f1:.3f} ({report.examples:,} examples)"


class NeuralTextClassifier:
    """A trained classifier network with its tokenizer and labels: what ``lmlab eval``, ``lmlab classify`` and
    ``lmlab attention`` use."""

    def __init__(self, net: nn.Module, tokenizer: Tokenizer, labels: Sequence[str], cfg: Any):
        self.net, self.tokenizer, self.labels, self.cfg = net, tokenizer, list(labels), cfg
        self.net.eval()

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        return encode_texts(self.tokenizer, texts, self.cfg.max_len)[0]

    @torch.inference_mode()
    def logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        xs = self.encode(texts)
        order = np.argsort([x.size for x in xs], kind="stable")
        out = np.empty((len(xs), len(self.labels)), dtype=np.float64)
        device = next(self.net.parameters()).device
        for a in range(0, order.size, batch_size):
            index = order[a : a + batch_size]
            x, mask = pad_batch([xs[i] for i in index])
            logits = self.net(torch.from_numpy(x).to(device), torch.from_numpy(mask).to(device)).logits
            out[index] = logits.double().cpu().numpy()
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        z = self.logits(texts)
        return np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    @torch.inference_mode()
    def attention(self, text: str) -> tuple[list[str], np.ndarray | None, np.ndarray]:
        """The words of ``text`` as the model reads them, the attention weights (hops, T) or None for a model
        without attention, and the class probabilities."""
        ids = self.encode([text])[0]
        words = [self.tokenizer.id_to_token(int(i) - 1) for i in ids]
        x = torch.from_numpy(ids).unsqueeze(0)
        device = next(self.net.parameters()).device
        out = self.net(x.to(device), torch.ones_like(x, dtype=torch.bool, device=device))
        probs = torch.softmax(out.logits.double(), dim=-1)[0].cpu().numpy()
        weights = None if out.attention is None else out.attention[0].double().cpu().numpy()
        return words, weights, probs


def train_classifier(
    cfg: Any,
    data: Any,
    tokenizer: Tokenizer,
    opts: Any,
    out: Path,
    *,
    embeddings: tuple[Tensor, Tensor] | None = None,
    callbacks: Sequence[Callable] = (),
) -> NeuralTextClassifier:
    """Train a neural classifier on the engine and leave a complete run directory at ``out``."""
    from lmlab.train.loop import train_task

    return train_task(ClassificationTask(cfg, data, tokenizer, embeddings=embeddings), opts, out, callbacks=callbacks)


def embedding_rows(path: str | Path, tokenizer: Tokenizer, d_embed: int | None) -> tuple[Tensor, Tensor]:
    """Rows of pretrained vectors for the model's ids (row 0 padding; row i + 1 tokenizer id i) and which rows
    were found in the file (words looked up as written, then lowercased, as Kim's vectors are cased)."""
    from lmlab.data.vectors import read_word2vec

    words, vectors = read_word2vec(path)
    if d_embed is not None and vectors.shape[1] != d_embed:
        raise LmlabError(
            f"--embeddings {path}: the vectors have {vectors.shape[1]} dimensions, the model's --d-embed is {d_embed}"
        )
    index = {w: i for i, w in enumerate(words)}
    for i, w in enumerate(words):
        index.setdefault(w.lower(), i)
    V = tokenizer.vocab_size + 1
    rows = torch.zeros(V, vectors.shape[1], dtype=torch.float32)
    known = torch.zeros(V, dtype=torch.bool)
    for tid in range(tokenizer.vocab_size):
        token = tokenizer.id_to_token(tid)
        j = index.get(token, index.get(token.lower()))
        if j is not None:
            rows[tid + 1] = torch.from_numpy(np.asarray(vectors[j], dtype=np.float32))
            known[tid + 1] = True
    return rows, known


def load_classifier(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """The trained classifier of a run directory (any family, through its table entry) and its config."""
    from lmlab.classify.models import get_classifier
    from lmlab.runconfig import read_run_config

    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)
    labels = cfg.get("labels")
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise LmlabError(f"{run_dir}/config.json: field 'labels' must be a list of at least two strings")
    entry = get_classifier(cfg.get("family", ""))
    return entry.loader_fn()(run_dir, cfg), cfg


def load_neural_classifier(run_dir: Path, run_cfg: dict[str, Any]) -> NeuralTextClassifier:
    """A neural classifier from its run: the tokenizer a plain file of the run with the recorded hash, the
    configuration checked field by field, and the weights' shapes checked before the network is built."""
    from lmlab.classify.models import get_classifier
    from lmlab.nn.weights import load_network
    from lmlab.runconfig import load_run_tokenizer

    where = str(run_dir / "config.json")
    entry = get_classifier(run_cfg["family"])
    tokenizer = load_run_tokenizer(run_dir, run_cfg)
    cfg = config_from_dict(entry.train_config_class(), run_cfg.get("model"), where)
    if cfg.vocab_size != tokenizer.vocab_size + 1 or cfg.num_classes != len(run_cfg["labels"]):
        raise LmlabError(f"{run_dir}: the configuration does not match its tokenizer.json or its labels")
    network_class = entry.network_class()
    net = load_network(run_dir / "model.safetensors", lambda: network_class(cfg))
    return NeuralTextClassifier(net, tokenizer, run_cfg["labels"], cfg)


def evaluate_classifier_run(
    run_dir: str | Path, split: Any, *, classifier: Any = None, confusion: str | Path | None = None
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class figures and the confusion matrix of a run's classifier on ``split``
    (a :class:`lmlab.classify.data.LabeledTexts`); with ``confusion``, also the matrix as a PNG."""
    if classifier is None:
        classifier = load_classifier(run_dir)[0]
    if len(split.texts) == 0:
        raise LmlabError("the split to evaluate is empty")
    logits = np.log(np.clip(classifier.predict_proba(split.texts), 1e-300, None))
    metrics, report = evaluation_metrics(logits, split.labels, classifier.labels)
    result = {**report.to_dict(), "loss": metrics["loss"]}
    known = set(classifier.labels)
    result["unseen_label_examples"] = sum(1 for label in split.labels if label not in known)
    if confusion:
        plot_confusion_matrix(report, confusion, title=_title(str(Path(run_dir).name), report))
    return result


def config_from_dict(cls: type, values: Any, where: str = "saved configuration") -> Any:
    """A classifier's configuration from ``config.json``'s ``model`` object, each field checked against its type
    (:func:`lmlab.runfiles.config_from_json`, naming the file and the field); JSON lists become tuples."""
    from lmlab.runfiles import config_from_json

    return config_from_json(cls, values, where, "model.")


__all__ = [
    "RECIPES",
    "embedding_rows",
    "evaluate_classifier_run",
    "load_classifier",
    "load_neural_classifier",
    "train_classifier",
    "BucketedBatches",
    "ClassificationTask",
    "ClassifyTrainConfig",
    "NeuralTextClassifier",
    "evaluation_metrics",
    "pad_batch",
    "training_config_class",
]
