"""Language modelling as a task of the training engine: ``lmlab train [--task lm] --model FAMILY``.

Batches come from the training tokens (see :mod:`lmlab.lm.batching`): parallel streams with a carried state
(recurrent families, truncated BPTT), random blocks with their context (feed-forward families), or one line per
example (``--examples lines``). The loss is the mean cross-entropy per predicted token::

    loss = -(1/N) sum_i ln softmax(logits_i)[y_i]       N = the batch's tokens (padding of --examples lines not counted)

and validation is the evaluation protocol itself (the model's own ``score_stream`` over the validation split), so
the validation perplexity a run reports is the one ``lmlab eval`` gives.

On a labelled corpus (``num_labels`` > 0) each example is one line and its label (``--examples lines``): the label
ids (B,) go to the network beside the tokens, and each validation line is scored given its own label.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lmlab.data import Corpus, LabelledCorpus
from lmlab.errors import LmlabError
from lmlab.lm.batching import LineExamples, RandomBlocks, StreamBatches, stream_sha256, write_token_file
from lmlab.lm.config import TrainConfig
from lmlab.lm.evaluate import evaluate
from lmlab.lm.models import get_family
from lmlab.lm.models.neural import NeuralLM, lm_loss
from lmlab.lm.run import RunInfo, run_config
from lmlab.nn.init import init_parameters
from lmlab.tokenizers import Tokenizer, tokenizer_sha256
from lmlab.train.distributed import batch_dims
from lmlab.train.task import TrainingTask
from lmlab.train_options import TrainOptions

log = logging.getLogger(__name__)


def input_embedding(net: nn.Module, vocab_size: int) -> nn.Embedding:
    """The network's table of token vectors: its first ``nn.Embedding`` with a row per token."""
    for module in net.modules():
        if isinstance(module, nn.Embedding) and module.num_embeddings == vocab_size:
            return module
    raise LmlabError(f"this network has no embedding table of {vocab_size} rows to start from word vectors")


@torch.no_grad()
def load_input_embeddings(net: nn.Module, tokenizer: Tokenizer, path: str) -> int:
    """Copy word vectors (word2vec text or binary) into the rows of the tokens they name (as written, else
    lowercased); the other rows keep their initialisation. Returns how many rows were copied."""
    from lmlab.data.vectors import read_word2vec

    table = input_embedding(net, tokenizer.vocab_size)
    words, vectors = read_word2vec(path)
    if vectors.shape[1] != table.embedding_dim:
        raise LmlabError(
            f"--embeddings {path}: the vectors have {vectors.shape[1]} dimensions, the model's embeddings "
            f"{table.embedding_dim} (set --d-embed or --d-model to {vectors.shape[1]})"
        )
    index = {w: i for i, w in enumerate(words)}
    for i, w in enumerate(words):
        index.setdefault(w.lower(), i)
    rows, sources = [], []
    for tid in range(tokenizer.vocab_size):
        token = tokenizer.id_to_token(tid)
        j = index.get(token, index.get(token.lower()))
        if j is not None:
            rows.append(tid)
            sources.append(j)
    if not rows:
        raise LmlabError(f"--embeddings {path}: none of the vocabulary's tokens has a vector there")
    table.weight[torch.tensor(rows)] = torch.from_numpy(vectors[sources]).to(table.weight.dtype)
    return len(rows)


class LanguageModelTask(TrainingTask):
    name = "lm"
    unit = "tokens"
    main_metric = "loss"
    higher_is_better = False

    def __init__(self, cfg: TrainConfig, corpus: Corpus, tokenizer: Tokenizer):
        self.cfg, self.corpus, self.tokenizer = cfg, corpus, tokenizer
        self.family = cfg.family
        self.lm_class: type[NeuralLM] = get_family(cfg.family).model_class()
        self.carries_state = self.lm_class.batching == "streams" and cfg.examples != "lines"  # type: ignore[misc]
        self.labels = condition_labels(cfg, corpus)

    # ---- data
    def prepare(self, scratch: Path, seed: int) -> None:
        cfg, tokenizer, corpus = self.cfg, self.tokenizer, self.corpus
        if not corpus.train:
            raise LmlabError("the training split is empty")
        self.train_tokens = write_token_file(scratch / "train.bin", corpus.train, tokenizer)
        self.valid_ids = tokenizer.encode_lines(corpus.valid).ids if corpus.valid else None
        if self.labels:  # each line's label id, in the order of the lines
            assert isinstance(corpus, LabelledCorpus)
            label_id = {label: i for i, label in enumerate(self.labels)}
            self.train_label_ids = np.array([label_id[label] for label in corpus.train_labels], dtype=np.int64)
        # the model is built here (on the CPU) so that its context needs are known; build_network makes it again
        self.lm = self.lm_class(tokenizer, cfg, self.labels)
        self.batches: StreamBatches | RandomBlocks | LineExamples
        if cfg.examples == "lines":
            self.batches = LineExamples(
                self.train_tokens, tokenizer.eos_id, cfg.batch_size, cfg.seq_len, self.lm.context_size, seed
            )
        elif self.carries_state:
            self.batches = StreamBatches(self.train_tokens, cfg.batch_size, cfg.seq_len)
        else:
            if self.lm.context_size >= self.train_tokens.size:
                raise LmlabError(
                    f"the context ({self.lm.context_size + 1} tokens) is longer than the training split "
                    f"({self.train_tokens.size:,} tokens); lower --context-len or use more text"
                )
            self.batches = RandomBlocks(
                self.train_tokens, cfg.batch_size, cfg.seq_len, self.lm.context_size, seed, tokenizer.eos_id
            )
        self.train_sha = stream_sha256(self.train_tokens)

    @property
    def steps_per_epoch(self) -> int:
        return len(self.batches)

    @property
    def train_size(self) -> int:
        return int(self.train_tokens.size)

    @property
    def has_validation(self) -> bool:
        return self.valid_ids is not None

    # ---- the network, one step, validation
    def build_network(self) -> nn.Module:
        self.lm = self.lm_class(self.tokenizer, self.cfg, self.labels)  # built again after seeding: reproducible runs
        init_parameters(self.lm.net, self.cfg.init, self.cfg.init_range)
        if self.cfg.embeddings:
            found = load_input_embeddings(self.lm.net, self.tokenizer, self.cfg.embeddings)
            log.info("--embeddings: %d of %d tokens start from their vectors", found, self.tokenizer.vocab_size)
        return self.lm.net

    def train_step(self, forward: Callable, step: int, state: Any) -> tuple[Tensor, Tensor, Any]:
        net, device = self.lm.net, self.lm.device
        rows = self.shard.rows  # this process's streams or blocks (all of them on one process)
        if isinstance(self.batches, StreamBatches):
            i = step % self.steps_per_epoch
            x, y = (rows(a) for a in self.batches[i])
            if i == 0 or state is None:
                state = net.init_state(x.shape[0])  # each epoch starts from the zero state
            elif self.cfg.state_reset:
                state = self._restart_streams(state, i)
        else:
            x, y, context = (rows(a) for a in self.batches.batch(step))
            state = net.state_from_context(torch.from_numpy(context).to(device))
        xt = torch.from_numpy(x).to(device, non_blocking=True)
        yt = torch.from_numpy(y).to(device, non_blocking=True)
        if self.labels:  # the label of each example's line, (B,)
            assert isinstance(self.batches, LineExamples)
            cond = torch.from_numpy(rows(self.train_label_ids[self.batches.lines(step)])).to(device)
            logits, state = forward(xt, state, cond)  # (B, T, V)
        else:
            logits, state = forward(xt, state)  # (B, T, V)
        loss = lm_loss(logits, yt, padded=self.cfg.examples == "lines")
        dtype = next(net.parameters()).dtype
        state = tuple(s.detach().to(dtype) if s.is_floating_point() else s.detach() for s in state)
        return loss, int((y >= 0).sum()), state  # B * T tokens, less the padding of --examples lines

    def _restart_streams(self, state: tuple[Tensor, ...], i: int) -> tuple[Tensor, ...]:
        """``state`` with the streams due a cold start at batch ``i`` set to zero: stream r restarts when
        (i + r) % state_reset == 0, so with state_reset k one stream in k restarts at each batch.

        Evaluation reads a text from the zero state, which training with a carried state meets only at the start of
        each epoch: a recurrent model of a few hundred updates can then depend on units charged by a long stream,
        and from the zero state fall into a regime it never leaves (measured: an LSTM at 242 updates, validation
        perplexity 8.8, scored tinyshakespeare's test split at 5,035 from its first line on)."""
        B = self.batches.rows.shape[0]  # streams of the whole batch (every process's)
        cold = self.shard.rows((np.arange(B) + i) % self.cfg.state_reset == 0)  # this process's streams
        if not cold.any():
            return state
        keep = torch.from_numpy(~cold)
        out = []
        for s, dim in zip(state, self.state_batch_dims(), strict=True):  # two tiny zero states: microseconds
            shape = [1] * s.dim()
            shape[dim] = -1
            out.append(s * keep.to(s.device, s.dtype).view(shape))
        return tuple(out)

    def state_batch_dims(self) -> list[int]:
        return batch_dims(self.lm.net.init_state)

    def validate(self, subset: int | None = None) -> dict[str, float]:
        assert self.valid_ids is not None
        ids = self.valid_ids
        if subset is not None and subset < ids.size:
            # whole lines: up to the first </s> at or after `subset` tokens, so every line is scored as in eval
            ends = np.flatnonzero(ids[subset - 1 :] == self.tokenizer.eos_id)
            ids = ids[: subset + int(ends[0])] if ends.size else ids
        if self.labels:  # those lines, each given its own label
            assert isinstance(self.corpus, LabelledCorpus)
            n = int(np.count_nonzero(ids == self.tokenizer.eos_id))
            loss = evaluate(self.lm, self.corpus.valid[:n], self.corpus.valid_labels[:n]).cross_entropy
        else:
            loss = float(-self.lm.score_stream(ids).mean())
        return {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}

    def validation_size(self) -> int:
        return 0 if self.valid_ids is None else int(self.valid_ids.size)

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        return {"train_perplexity": math.exp(min(mean_loss, 700.0))}

    # ---- resume and the run directory
    def fingerprint(self) -> dict[str, Any]:
        return {
            "train_sha256": self.train_sha,
            "tokenizer_sha256": tokenizer_sha256(self.tokenizer),
            "vocab_size": self.tokenizer.vocab_size,
            **({"labels": list(self.labels)} if self.labels else {}),
        }

    def check_resume(self, info: dict[str, Any], run: Path) -> None:
        if info.get("tokenizer_sha256") != tokenizer_sha256(self.tokenizer):
            raise LmlabError(
                f"--resume {run}: the tokenizer does not match the checkpoint's (vocabulary of "
                f"{self.tokenizer.vocab_size} tokens, the checkpoint's {info.get('vocab_size', '?')}); "
                "resume with the run's own tokenizer (omit --tokenizer)"
            )
        saved = info.get("labels", [])
        saved = [str(label) for label in saved] if isinstance(saved, list) else [str(saved)]
        if saved != list(self.labels):
            raise LmlabError(
                f"--resume {run}: the corpus's labels ({', '.join(self.labels) or 'none'}) are not the checkpoint's "
                f"({', '.join(saved) or 'none'}); resume with the same --data"
            )
        if info.get("train_sha256") != self.train_sha:
            raise LmlabError(
                f"--resume {run}: the training data is not the data of the checkpoint "
                f"(it was {info.get('data', {}).get('spec')!r}); resume with the same --data"
            )

    def write_static_files(self, directory: Path) -> None:
        self.tokenizer.save(directory / "tokenizer.json")

    def run_config(self, info: RunInfo) -> dict[str, Any]:
        return run_config(self.lm, info)

    def result(self) -> NeuralLM:
        return self.lm


def condition_labels(cfg: TrainConfig, corpus: Corpus) -> tuple[str, ...]:
    """The labels a model of ``cfg`` is conditioned on: none when ``cfg.num_labels`` is 0 (a labelled corpus is then
    read as its texts alone), else the corpus's labels, which must be ``num_labels`` of them."""
    if not cfg.num_labels:
        return ()
    if not isinstance(corpus, LabelledCorpus):
        raise LmlabError(
            f"num_labels is {cfg.num_labels}, but {corpus.name} is not a labelled corpus (a folder of LABEL.txt files "
            "or a label<TAB>text .tsv file)"
        )
    if len(corpus.labels) != cfg.num_labels:
        raise LmlabError(f"num_labels is {cfg.num_labels}, but {corpus.name} has {len(corpus.labels)} labels")
    return corpus.labels


def train_neural(
    cfg: TrainConfig,
    corpus: Corpus,
    tokenizer: Tokenizer,
    opts: TrainOptions,
    out: Path,
    *,
    callbacks: Sequence[Callable] = (),
) -> NeuralLM:
    """Train the family of ``cfg`` on ``corpus`` and leave a complete run directory at ``out``.

    The run's lock is taken first (a second process writing ``out`` is refused, naming this one); then every check
    of the input (``--out``, the configuration, the corpus against the batch shape, the device, on ``--resume``
    the checkpoint, tokenizer and data) happens before anything is written.
    """
    from lmlab.train.loop import train_task

    return train_task(LanguageModelTask(cfg, corpus, tokenizer), opts, out, callbacks=callbacks)


__all__ = ["LanguageModelTask", "condition_labels", "tokenizer_sha256", "train_neural"]
