"""Machine translation as a task of the training engine: ``lmlab train --task translate --model FAMILY``.

Each training example is a sentence pair; the network reads the source and predicts the target one token at a
time, reading the reference's previous tokens (teacher forcing). A batch (:mod:`lmlab.translate.batching`) holds
pairs of similar length::

    src     [[e  H  .  </s>]        tgt_in  [[<s>  a  d  .  ]       tgt_out [[a  d  .  </s>]
             [w  </s> 0  0  ]]               [<s>  w  0  0  ]]               [w  </s> 0  0  ]]

The loss is the cross-entropy of the real target tokens, ``</s>`` included, averaged over them (token-weighted,
padding never counted), optionally with label smoothing (Szegedy et al. 2016: the reference gets 1 - eps and
every id eps / V)::

    loss = -(1/N) sum_{real t} [(1 - eps) ln p(y_t) + (eps / V) sum_v ln p(v)]

The RNN families may read their own previous prediction instead of the reference at a share of the steps
(``--teacher-forcing 0.5``; which steps is fixed by (seed, step), so a resumed run draws the same). Validation
reports the loss, the perplexity (no smoothing; :mod:`lmlab.translate.metrics`) and, by decoding the validation
sources, sacreBLEU's BLEU and chrF; ``--main-metric`` (bleu or loss) keeps the best weights and drives early
stopping.

References: Sutskever, Vinyals & Le 2014; Vaswani et al. 2017 (label smoothing 0.1, batches by length);
Szegedy et al. 2016, "Rethinking the Inception Architecture" (label smoothing).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.init import init_parameters
from lmlab.nn.loss import softmax_cross_entropy
from lmlab.train.config import EngineConfig, check_engine_config
from lmlab.train.task import TrainingTask
from lmlab.translate.batching import EpochOrder, length_batches, pad_batch
from lmlab.translate.data import ParallelData, ParallelTexts, usable_pairs
from lmlab.translate.decode import DecodeConfig, Hypothesis, search_batches
from lmlab.translate.metrics import corpus_scores, perplexity
from lmlab.translate.vocab import (
    JOINT_FILE,
    PAD,
    SRC_FILE,
    TGT_FILE,
    Vocabularies,
    decode_ids,
    encode_sentences,
    token_labels,
)

log = logging.getLogger(__name__)

MAIN_METRICS = ("bleu", "loss")


@dataclass(kw_only=True)
class TranslateTrainConfig(EngineConfig):
    """How a translation model is trained, and how it translates by default (``lmlab translate``, ``eval``)."""

    epochs: int = 10  # passes over the training pairs (the Multi30k baselines: 10)
    batch_size: int = 128  # sentence pairs per update
    max_tokens: int | None = (
        None  # also at most this many padded tokens (pairs x longest side) per update; None: no bound
    )
    optimizer: str = "adam"  # one of OPTIMIZERS
    lr: float = 1e-3  # peak learning rate
    clip: float | None = 1.0  # clip the gradient's global L2 norm; None: no clipping
    log_every: int = 50  # one metrics.jsonl row every this many steps
    label_smoothing: float = 0.0  # eps of label smoothing (Vaswani et al.: 0.1)
    main_metric: str = "bleu"  # bleu (validation BLEU, higher is better) or loss (validation loss)
    val_bleu: bool = True  # decode the validation sources at each evaluation for BLEU and chrF
    val_beam: int = 1  # beam for the validation BLEU (1: greedy, the fastest)
    beam: int = 5  # lmlab translate / eval: beam size (1: greedy)
    length_penalty: float = 0.6  # Wu et al.'s alpha
    max_len_a: float = 1.5  # longest translation: a * source tokens + b
    max_len_b: int = 10  # the b of the longest translation, a * source tokens + b

    def decode_config(self, **changes: Any) -> DecodeConfig:
        values = {
            "beam": self.beam,
            "length_penalty": self.length_penalty,
            "max_len_a": self.max_len_a,
            "max_len_b": self.max_len_b,
        }
        values.update({k: v for k, v in changes.items() if v is not None})
        return DecodeConfig(**values)


def check_translate_config(cfg: Any) -> None:
    check_engine_config(cfg)
    if cfg.max_tokens is not None and not (isinstance(cfg.max_tokens, int) and cfg.max_tokens >= 1):
        raise LmlabError(f"--max-tokens must be an integer >= 1, got {cfg.max_tokens!r}")
    eps = cfg.label_smoothing
    if not (isinstance(eps, (int, float)) and not isinstance(eps, bool) and 0 <= eps < 1):
        raise LmlabError(f"--label-smoothing must be in [0, 1), got {eps!r}")
    if cfg.main_metric not in MAIN_METRICS:
        raise LmlabError(f"--main-metric must be one of {', '.join(MAIN_METRICS)}, got {cfg.main_metric!r}")
    if cfg.main_metric == "bleu" and not cfg.val_bleu:
        raise LmlabError("--main-metric bleu needs the validation BLEU: drop --no-val-bleu or use --main-metric loss")
    if not (isinstance(cfg.val_beam, int) and not isinstance(cfg.val_beam, bool) and cfg.val_beam >= 1):
        raise LmlabError(f"--val-beam must be an integer >= 1, got {cfg.val_beam!r}")
    cfg.decode_config()  # beam, length penalty and length limits in range


#: the RNN families' default recipe (see RECIPES)
_RNN_RECIPE = {"lr": 6e-3, "schedule": "cosine", "warmup_steps": 50, "label_smoothing": 0.1, "batch_size": 64}

#: Each family's default recipe (applied before presets, --config and flags), sized for minutes with the family's
#: default model: Adam with a short warm-up, then a cosine decay over the epochs or the --max-seconds budget, clip 1,
#: label smoothing 0.1 (Vaswani et al.). The published recipes come with the presets (lmlab.translate.presets).
RECIPES: dict[str, dict[str, Any]] = {
    # the default 2 + 2 x 128 model on batches of 128 (the baseline's constant 5e-4: --preset multi30k-baseline)
    "transformer": {"lr": 2e-3, "schedule": "cosine", "warmup_steps": 50, "label_smoothing": 0.1},
    # the RNNs (one layer of 256) on batches of 64, twice the updates of 128 in the same minutes, at Adam 6e-3: in
    # 120-s trials on Multi30k it gave a validation perplexity of 72 (bahdanau), 96 (luong) and 70 (seq2seq) against
    # 93, 151 and 99 at 3e-3; 1e-2 was not clearly better (72, 84, 58, with a lower validation BLEU for two)
    "bahdanau": _RNN_RECIPE,
    "luong": _RNN_RECIPE,
    "seq2seq": _RNN_RECIPE,
}


@functools.cache
def training_config_class(model_config: type) -> type:
    """One dataclass with the family's hyperparameters and the training recipe, so that every field is a flag, a
    key of a --config file, and saved in the checkpoint."""

    @dataclass(kw_only=True)
    class Config(model_config, TranslateTrainConfig):  # type: ignore[misc, valid-type]
        family: ClassVar[str] = model_config.family

        def __post_init__(self):
            model_config.__post_init__(self)
            check_translate_config(self)

    Config.__name__ = Config.__qualname__ = f"{model_config.__name__.removesuffix('Config')}TrainConfig"
    return Config


def token_loss(logits: Tensor, targets: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy of the real (non-padding) targets; logits (B, T, V), targets (B, T), 0 = padding.

    >>> z = torch.zeros(1, 3, 4)
    >>> round(token_loss(z, torch.tensor([[2, 3, 0]])).item(), 6) == round(math.log(4), 6)   # uniform: ln V
    True
    """
    z, y = logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1)  # (B T, V), (B T)
    return softmax_cross_entropy(z, y, label_smoothing=label_smoothing, ignore_index=PAD)


def truncate(seqs: list[np.ndarray], max_len: int) -> tuple[list[np.ndarray], int]:
    """Each sequence cut to ``max_len`` ids, its last (``</s>``) kept; and how many were cut.

    >>> s, n = truncate([np.array([5, 6, 7, 3]), np.array([5, 3])], 3)
    >>> [x.tolist() for x in s], n
    ([[5, 6, 3], [5, 3]], 1)
    """
    out, cut = [], 0
    for s in seqs:
        if s.size > max_len:
            s, cut = np.append(s[: max_len - 1], s[-1]), cut + 1
        out.append(s)
    return out, cut


class TranslationTask(TrainingTask):
    name = "translate"
    unit = "tokens"  # target tokens, </s> included
    main_metric = "bleu"
    higher_is_better = True

    def __init__(self, cfg: Any, data: ParallelData, vocabs: Vocabularies):
        from lmlab.translate.models import get_translator

        self.cfg, self.data, self.vocabs = cfg, data, vocabs
        self.family = cfg.family
        self.network_class = get_translator(cfg.family).network_class()
        self.main_metric = cfg.main_metric  # type: ignore[misc]  # chosen per run
        self.higher_is_better = cfg.main_metric == "bleu"  # type: ignore[misc]
        self.notes: list[str] = list(data.notes)

    def prepare(self, scratch: Path, seed: int) -> None:
        cfg, train = self.cfg, self.data.train
        keep = usable_pairs(train)
        src = encode_sentences(self.vocabs.src, [train.src[i] for i in keep])
        tgt = encode_sentences(self.vocabs.tgt, [train.tgt[i] for i in keep])
        fits = [i for i in range(len(src)) if src[i].size <= cfg.max_len and tgt[i].size <= cfg.max_len]
        if len(fits) < len(src):
            self.notes.append(
                f"{len(src) - len(fits):,} training pairs longer than --max-len {cfg.max_len} tokens are left out"
            )
        if not fits:
            raise LmlabError(f"no training pair has both sides within --max-len {cfg.max_len} tokens")
        self.train_src, self.train_tgt = [src[i] for i in fits], [tgt[i] for i in fits]
        self.seed = seed
        src_len = np.array([s.size for s in self.train_src])
        tgt_len = np.array([t.size for t in self.train_tgt])
        self.batches = EpochOrder(length_batches(src_len, tgt_len, cfg.batch_size, cfg.max_tokens, seed), seed)
        self.train_tokens = int(tgt_len.sum())
        self.valid_src, cut_src = truncate(encode_sentences(self.vocabs.src, self.data.valid.src), cfg.max_len)
        self.valid_tgt, cut_tgt = truncate(encode_sentences(self.vocabs.tgt, self.data.valid.tgt), cfg.max_len)
        if cut_src or cut_tgt:
            self.notes.append(f"validation: {cut_src:,} sources and {cut_tgt:,} targets cut to --max-len {cfg.max_len}")
        h = hashlib.sha256()
        for s, t in zip(self.train_src, self.train_tgt):
            h.update(s.tobytes() + b"|" + t.tobytes() + b"\n")
        self.train_sha = h.hexdigest()
        for note in self.notes:
            log.warning("%s", note)

    def batch_rows(self) -> int | None:
        return None if self.cfg.max_tokens is not None else self.cfg.batch_size

    @property
    def steps_per_epoch(self) -> int:
        return len(self.batches)

    @property
    def train_size(self) -> int:
        return self.train_tokens

    @property
    def has_validation(self) -> bool:
        return len(self.valid_src) > 0

    def build_network(self) -> nn.Module:
        self.net = self.network_class(self.cfg)
        if self.cfg.init != "default":  # each family starts as its paper did otherwise
            init_parameters(self.net, self.cfg.init, self.cfg.init_range)
        return self.net

    def _device(self) -> torch.device:
        return next(self.net.parameters()).device

    def batch_tensors(self, srcs: Sequence[np.ndarray], tgts: Sequence[np.ndarray]) -> tuple[Tensor, Tensor, Tensor]:
        """src (B, S), tgt_in (B, T) = <s> y, tgt_out (B, T) = y </s>, on the network's device."""
        device = self._device()
        src = pad_batch(srcs)
        tgt_in = pad_batch([t[:-1] for t in tgts], prefix=self.cfg.bos_id)
        tgt_out = pad_batch(tgts)
        return tuple(torch.from_numpy(x).to(device, non_blocking=True) for x in (src, tgt_in, tgt_out))

    def teacher_forcing_mask(self, step: int, T: int) -> Tensor | None:
        """Which target positions read the reference (True) at update ``step``; None when all do."""
        ratio = getattr(self.cfg, "teacher_forcing", 1.0)
        if ratio >= 1.0:
            return None
        mask = np.random.default_rng((self.seed, step, 7)).random(T) < ratio
        mask[0] = True  # <s> is always read
        return torch.from_numpy(mask).to(self._device())

    def train_step(self, forward: Callable, step: int, state: Any) -> tuple[Tensor, int, Any]:
        index = self.shard.rows(self.batches.batch(step))  # this process's pairs of the batch
        tgts = [self.train_tgt[i] for i in index]
        src, tgt_in, tgt_out = self.batch_tensors([self.train_src[i] for i in index], tgts)
        out = forward(src, src != PAD, tgt_in, self.teacher_forcing_mask(step, tgt_in.size(1)))
        return token_loss(out.logits, tgt_out, self.cfg.label_smoothing), sum(t.size for t in tgts), None

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        if self.cfg.label_smoothing or mean_loss > 709:
            return {}
        return {"train_perplexity": math.exp(mean_loss)}

    def translator(self) -> NeuralTranslator:
        return NeuralTranslator(self.net, self.vocabs, self.cfg)

    def validate(self, subset: int | None = None) -> dict[str, float]:
        """Loss, perplexity (and BLEU, chrF) on the first sentences of the validation split holding ``subset``
        target tokens (all of it when None)."""
        n = len(self.valid_src)
        if subset is not None:
            sizes = np.cumsum([len(t) for t in self.valid_tgt])
            n = max(1, int(np.searchsorted(sizes, subset, side="right")))
        src, tgt = self.valid_src[:n], self.valid_tgt[:n]
        tr = self.translator()
        nll, tokens = tr.nll(src, tgt)
        metrics = {"loss": nll / tokens, "perplexity": perplexity(nll, tokens)}
        if self.cfg.val_bleu:
            hyps = tr.search(src, self.cfg.decode_config(beam=self.cfg.val_beam, n_best=1))
            scores = corpus_scores([tr.detokenize(h[0]) for h in hyps], self.data.valid.tgt[:n])
            metrics.update(bleu=scores.bleu, chrf=scores.chrf)
        return metrics

    def validation_size(self) -> int:
        return int(sum(len(t) for t in self.valid_tgt))

    def fingerprint(self) -> dict[str, Any]:
        sha = self.vocabs.sha256()
        return {
            "train_sha256": self.train_sha,
            "tokenizer_sha256": hashlib.sha256((sha["src"] + sha["tgt"]).encode()).hexdigest(),
            "vocab_size": self.vocabs.tgt_size,
        }

    def check_resume(self, info: dict[str, Any], run: Path) -> None:
        if info.get("tokenizer_sha256") != self.fingerprint()["tokenizer_sha256"]:
            raise LmlabError(f"--resume {run}: the vocabularies do not match the checkpoint's")
        if info.get("train_sha256") != self.train_sha:
            raise LmlabError(
                f"--resume {run}: the training data is not the data of the checkpoint "
                f"(it was {info.get('data', {}).get('spec')!r}); resume with the same --data, --src and --tgt"
            )

    def write_static_files(self, directory: Path) -> None:
        if self.vocabs.joint:
            self.vocabs.src.save(directory / JOINT_FILE)
        else:
            self.vocabs.src.save(directory / SRC_FILE)
            self.vocabs.tgt.save(directory / TGT_FILE)

    def run_config(self, info: Any) -> dict[str, Any]:
        from lmlab.runconfig import RunInfo, run_envelope

        sha = self.vocabs.sha256()
        joint = self.vocabs.joint
        stats = {**info.stats, "train_pairs": len(self.train_src), "notes": self.notes}
        tokenizer = {
            "kind": self.vocabs.tgt.kind,
            "joint": joint,
            "src": {"file": JOINT_FILE if joint else SRC_FILE, "sha256": sha["src"]},
            "tgt": {"file": JOINT_FILE if joint else TGT_FILE, "sha256": sha["tgt"]},
        }
        languages = {"src": self.data.src_lang, "tgt": self.data.tgt_lang}
        info = RunInfo(data=info.data, command=info.command, stats=stats)
        return run_envelope(self.name, self.family, self.cfg.to_dict(), info, languages=languages, tokenizer=tokenizer)

    def result(self) -> NeuralTranslator:
        return self.translator()


class NeuralTranslator:
    """A trained translation network with its vocabularies: what ``lmlab translate``, ``eval`` and ``attention``
    use."""

    def __init__(self, net: nn.Module, vocabs: Vocabularies, cfg: Any):
        self.net, self.vocabs, self.cfg = net, vocabs, cfg
        self.family = cfg.family

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def encode_sources(self, lines: Sequence[str]) -> tuple[list[np.ndarray], int]:
        """Model ids of each source line, cut to the model's --max-len (</s> kept); and how many were cut."""
        return truncate(encode_sentences(self.vocabs.src, lines), self.cfg.max_len)

    def detokenize(self, hyp: Hypothesis) -> str:
        return decode_ids(self.vocabs.tgt, hyp.tokens)

    def search(self, srcs: Sequence[np.ndarray], cfg: DecodeConfig, batch_size: int = 64) -> list[list[Hypothesis]]:
        was = self.net.training
        self.net.eval()
        try:
            return search_batches(self.net, srcs, cfg, batch_size)
        finally:
            self.net.train(was)

    def translate(self, lines: Sequence[str], cfg: DecodeConfig | None = None) -> list[str]:
        """The best translation of each line, detokenized."""
        hyps = self.search(self.encode_sources(lines)[0], cfg or self.cfg.decode_config())
        return [self.detokenize(h[0]) for h in hyps]

    @torch.inference_mode()
    def nll(self, srcs: Sequence[np.ndarray], tgts: Sequence[np.ndarray], batch_size: int = 128) -> tuple[float, int]:
        """Teacher-forced negative log-likelihood (nats) of the targets, summed, and their token count."""
        was = self.net.training
        self.net.eval()
        device = next(self.net.parameters()).device
        total, count = 0.0, 0
        order = np.argsort([s.size for s in srcs], kind="stable")
        try:
            for a in range(0, order.size, batch_size):
                index = order[a : a + batch_size]
                src = torch.from_numpy(pad_batch([srcs[i] for i in index])).to(device)
                tgt_in = pad_batch([tgts[i][:-1] for i in index], prefix=self.cfg.bos_id)
                tgt_out = torch.from_numpy(pad_batch([tgts[i] for i in index])).to(device)
                logits = self.net(src, src != PAD, torch.from_numpy(tgt_in).to(device)).logits
                real = tgt_out != PAD
                total += float(F.cross_entropy(logits[real].float(), tgt_out[real], reduction="sum"))
                count += int(real.sum())
        finally:
            self.net.train(was)
        return total, count

    @torch.inference_mode()
    def alignment(self, text: str, cfg: DecodeConfig | None = None) -> tuple[list[str], list[str], np.ndarray, str]:
        """The source tokens, the translation's tokens (``</s>`` last), the cross-attention weights (L, h, T, S)
        while the network reads its own translation, and the translation."""
        if not self.net.has_attention:
            raise LmlabError(f"a {self.family} model has no attention to draw; train bahdanau, luong or transformer")
        src, _ = self.encode_sources([text])
        hyp = self.search(src, cfg or self.cfg.decode_config())[0][0]
        tgt = np.append(np.asarray(hyp.tokens, dtype=np.int64), self.cfg.eos_id)
        self.net.eval()
        device = next(self.net.parameters()).device
        x = torch.from_numpy(src[0]).unsqueeze(0).to(device)
        y = torch.from_numpy(pad_batch([tgt[:-1]], prefix=self.cfg.bos_id)).to(device)
        out = self.net(x, x != PAD, y, need_weights=True)
        weights = out.attention[0].double().cpu().numpy()  # (L, h, T, S)
        return (
            token_labels(self.vocabs.src, src[0]),
            token_labels(self.vocabs.tgt, tgt),
            weights,
            self.detokenize(hyp),
        )


def train_translator(
    cfg: Any, data: ParallelData, vocabs: Vocabularies, opts: Any, out: Path, *, callbacks: Sequence[Callable] = ()
) -> NeuralTranslator:
    """Train a translation model on the engine and leave a complete run directory at ``out``."""
    from lmlab.train.loop import train_task

    return train_task(TranslationTask(cfg, data, vocabs), opts, out, callbacks=callbacks)


def load_translator(run_dir: str | Path) -> tuple[NeuralTranslator, dict[str, Any]]:
    """The trained translator of a run directory and its ``config.json``; a run of another task is refused."""
    from lmlab.nn.weights import load_network
    from lmlab.runconfig import read_run_config
    from lmlab.runfiles import config_from_json, plain_file_name
    from lmlab.tokenizers import load_tokenizer, tokenizer_sha256
    from lmlab.translate.models import get_translator

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise LmlabError(f"{run_dir} is not a run directory")
    run_cfg = read_run_config(run_dir)
    where = str(run_dir / "config.json")
    task = run_cfg.get("task", "lm")
    if task != "translate":
        what = {"lm": "language-model", "classify": "classification"}.get(task, task)
        raise LmlabError(f"{run_dir} is a {what} run, not a translation model (lmlab train --task translate)")
    try:
        entry = get_translator(run_cfg["family"])
    except LmlabError as e:
        raise LmlabError(f"{where}: field 'family': {e}") from None
    recorded = run_cfg.get("tokenizer", {})
    tokenizers = {}
    for side in ("src", "tgt"):
        spec = recorded.get(side)
        if not isinstance(spec, dict):
            raise LmlabError(f"{where}: field 'tokenizer.{side}' must be an object naming its file")
        path = run_dir / plain_file_name(spec.get("file"), where, f"tokenizer.{side}.file")
        tok = load_tokenizer(path)
        if spec.get("sha256") is not None and tokenizer_sha256(tok) != spec["sha256"]:
            raise LmlabError(f"{path} does not match the weights of this run; restore the run's own tokenizer")
        tokenizers[side] = tok
    if tokenizer_sha256(tokenizers["src"]) == tokenizer_sha256(tokenizers["tgt"]) and recorded.get("joint"):
        tokenizers["tgt"] = tokenizers["src"]
    vocabs = Vocabularies(tokenizers["src"], tokenizers["tgt"])
    cfg = config_from_json(entry.train_config_class(), run_cfg["model"], where, "model.")
    expected = (vocabs.src_size, vocabs.tgt_size, vocabs.tgt.bos_id + 1, vocabs.tgt.eos_id + 1)
    if (cfg.src_vocab_size, cfg.tgt_vocab_size, cfg.bos_id, cfg.eos_id) != expected:
        raise LmlabError(f"{where}: the model's vocabulary sizes do not match its tokenizer files")
    network = entry.network_class()
    net = load_network(run_dir / "model.safetensors", lambda: network(cfg))  # shapes checked first
    return NeuralTranslator(net, vocabs, cfg), run_cfg


def evaluate_translator(
    translator: NeuralTranslator, split: ParallelTexts, cfg: DecodeConfig | None = None
) -> dict[str, Any]:
    """BLEU and chrF (sacreBLEU, detokenized output against the raw references, with their signatures) and the
    teacher-forced perplexity of ``split``'s targets."""
    if len(split) == 0:
        raise LmlabError("the split to evaluate is empty")
    cfg = cfg or translator.cfg.decode_config()
    srcs, cut = translator.encode_sources(split.src)
    tgts, cut_tgt = truncate(encode_sentences(translator.vocabs.tgt, split.tgt), translator.cfg.max_len)
    hyps = translator.search(srcs, cfg)
    outputs = [translator.detokenize(h[0]) for h in hyps]
    scores = corpus_scores(outputs, split.tgt)
    nll, tokens = translator.nll(srcs, tgts)
    return {
        "bleu": scores.bleu,
        "chrf": scores.chrf,
        "sacrebleu_signature": scores.bleu_signature,
        "chrf_signature": scores.chrf_signature,
        "perplexity": perplexity(nll, tokens),
        "cross_entropy": nll / tokens,
        "tokens": tokens,
        "sentences": len(split),
        "beam": cfg.beam,
        "length_penalty": cfg.length_penalty,
        "truncated_sources": cut,
        "truncated_targets": cut_tgt,
        "translations": outputs,
    }


__all__ = [
    "MAIN_METRICS",
    "RECIPES",
    "NeuralTranslator",
    "TranslateTrainConfig",
    "TranslationTask",
    "evaluate_translator",
    "load_translator",
    "token_loss",
    "train_translator",
    "training_config_class",
    "truncate",
]
