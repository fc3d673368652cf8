"""The training engine every neural family trains on: ``lmlab train --model {mlp,rnn,lstm,gru,cnn,transformer}``.

One loop, written against the network contract of :mod:`lmlab.models.neural` (``logits, state = net(x, state)``),
so it never asks which family it trains. Each update::

    lr_s      = schedule(s, validation history)
    logits, h = net(x_s, h)                     x_s, y_s (B, T); h carried (streams) or built from context (blocks)
    loss      = -(1/BT) sum ln softmax(logits)[y_s]      (--examples lines: over the line tokens, not the padding)
    g         = clip(grad loss, global norm)
    theta     = optimizer step(theta, g, lr_s);  h = detach(h)

Validation perplexity is measured under the evaluation protocol (the model's own ``score_stream``) at the end of
every epoch (or every ``eval_every`` steps); the best weights so far are the run's ``model.safetensors``, and a
checkpoint (``checkpoints/last``) is written after each evaluation, so ``lmlab eval RUN`` works while a run goes on
and ``lmlab train --resume RUN`` continues it exactly. Ctrl-C or SIGTERM finishes the current step, saves and exits;
a non-finite loss stops the run naming the step, keeping the last good checkpoint.

A fresh run trains in a marked sibling folder (:class:`lmlab.rundir.RunBuild`) until its first checkpoint makes it
complete (config, tokenizer, weights, checkpoint), is then swapped into ``--out`` and goes on there. So a run it
replaces stays whole and loadable until then: a crash, a kill or a divergence before that first checkpoint leaves
the old run as it was, and so does Ctrl-C or SIGTERM (with no old run, Ctrl-C saves the new one as usual).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from lmlab.data import Corpus
from lmlab.errors import LmlabError
from lmlab.interrupt import exception_for, stop_after_step
from lmlab.io import write_json
from lmlab.models import get_family
from lmlab.models.neural import WEIGHTS_FILE, NeuralLM, lm_loss, load_state_into, unique_state_dict
from lmlab.nn.init import init_parameters
from lmlab.nn.tensor_io import load_tensors, save_tensors
from lmlab.run import RunInfo, run_config
from lmlab.rundir import RunBuild, check_out_dir, check_run_entries, claim_out, run_lock
from lmlab.tokenizers import Tokenizer
from lmlab.train import checkpoint as ckpt
from lmlab.train.batching import LineExamples, RandomBlocks, StreamBatches, stream_sha256, write_token_file
from lmlab.train.config import RESUMABLE, TrainConfig
from lmlab.train.device import CompiledOrEager, autocast, resolve_device
from lmlab.train.metrics import MetricsLog, tensorboard_available, truncate_metrics
from lmlab.train.optim import build_optimizer, clip_global_norm, set_lr
from lmlab.train.schedules import LRSchedule
from lmlab.train_options import TrainOptions

log = logging.getLogger(__name__)

#: Called after every update with the step number and the trainer (tests use it to interrupt a run).
Callback = Callable[[int, "Trainer"], None]

#: the largest loss whose perplexity exp(loss) is a finite float: a loss above it has diverged
MAX_FINITE_LOSS = math.log(sys.float_info.max)  # 709.78


def train_neural(
    cfg: TrainConfig,
    corpus: Corpus,
    tokenizer: Tokenizer,
    opts: TrainOptions,
    out: Path,
    *,
    callbacks: Sequence[Callback] = (),
) -> NeuralLM:
    """Train the family of ``cfg`` on ``corpus`` and leave a complete run directory at ``out``.

    The run's lock is taken first (a second process writing ``out`` is refused, naming this one); then every check
    of the input (``--out``, the configuration, the corpus against the batch shape, the device, on ``--resume``
    the checkpoint, tokenizer and data) happens before anything is written.
    """
    out = Path(out)
    claim = run_lock(out, opts.command or None) if opts.resume else claim_out(out, opts.command or None)
    with claim, tempfile.TemporaryDirectory(prefix="lmlab-tokens-") as tmp:
        return Trainer(cfg, corpus, tokenizer, opts, out, Path(tmp), callbacks).run()


def tokenizer_sha256(tokenizer: Tokenizer) -> str:
    return hashlib.sha256(json.dumps(tokenizer.to_dict(), sort_keys=True).encode()).hexdigest()


class Trainer:
    """One training run. The constructor checks everything and writes nothing; :meth:`run` trains."""

    def __init__(
        self,
        cfg: TrainConfig,
        corpus: Corpus,
        tokenizer: Tokenizer,
        opts: TrainOptions,
        out: Path,
        scratch: Path,
        callbacks: Sequence[Callback] = (),
    ):
        self.cfg, self.tokenizer, self.opts, self.out = cfg, tokenizer, opts, out
        self.dir = out  # where the run's files go now: a partial sibling folder until the first checkpoint
        self.build: RunBuild | None = None
        self.callbacks = list(callbacks)
        self.family = get_family(cfg.family)
        self.lm_class: type[NeuralLM] = self.family.model_class()
        self.device = resolve_device(cfg.device)
        if cfg.tensorboard and not tensorboard_available():
            raise LmlabError("--tensorboard needs the tensorboard package: pip install 'lmlab[tensorboard]'")
        self.resume_info = self._check_resume() if opts.resume else None
        self.seed = int(self.resume_info["seed"]) if self.resume_info is not None else opts.seed
        if not opts.resume:
            check_out_dir(out)

        if not corpus.train:
            raise LmlabError("the training split is empty")
        self.train_tokens = write_token_file(scratch / "train.bin", corpus.train, tokenizer)
        self.valid_ids = tokenizer.encode_lines(corpus.valid).ids if corpus.valid else None
        if self.valid_ids is None and (cfg.schedule == "plateau" or cfg.early_stop):
            raise LmlabError("--schedule plateau and --early-stop need a validation split, and this corpus has none")

        # the model is built here (on the CPU) so that its context needs are known; run() initialises it
        self.lm = self.lm_class(tokenizer, cfg)
        self.batches: StreamBatches | RandomBlocks | LineExamples
        if cfg.examples == "lines":
            self.batches = LineExamples(
                self.train_tokens, tokenizer.eos_id, cfg.batch_size, cfg.seq_len, self.lm.context_size, self.seed
            )
        elif self.lm_class.batching == "streams":
            self.batches = StreamBatches(self.train_tokens, cfg.batch_size, cfg.seq_len)
        else:
            if self.lm.context_size >= self.train_tokens.size:
                raise LmlabError(
                    f"the context ({self.lm.context_size + 1} tokens) is longer than the training split "
                    f"({self.train_tokens.size:,} tokens); lower --context-len or use more text"
                )
            self.batches = RandomBlocks(
                self.train_tokens, cfg.batch_size, cfg.seq_len, self.lm.context_size, self.seed, tokenizer.eos_id
            )
        self.train_sha = stream_sha256(self.train_tokens)
        if self.resume_info is not None and self.resume_info.get("train_sha256") != self.train_sha:
            raise LmlabError(
                f"--resume {out}: the training data is not the data of the checkpoint "
                f"(it was {self.resume_info.get('data', {}).get('spec')!r}); resume with the same --data"
            )
        self.steps_per_epoch = len(self.batches)
        self.total_steps = cfg.epochs * self.steps_per_epoch
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.schedule = LRSchedule(
            cfg.schedule,
            cfg.lr,
            self.steps_per_epoch,
            self.total_steps,
            warmup_steps=cfg.warmup_steps,
            lr_decay=cfg.lr_decay,
            decay_after=cfg.decay_after,
            plateau_factor=cfg.plateau_factor,
            plateau_patience=cfg.plateau_patience,
            min_lr=cfg.min_lr,
        )
        # progress, saved in every checkpoint
        self.step = 0
        self.tokens_seen = 0
        self.elapsed_before = 0.0
        self.val_history: list[tuple[int, float]] = []
        self.best: tuple[int, float] | None = None  # (step, validation loss)
        self.last_checkpoint_step: int | None = None
        self.pending: list[list[Any]] = []  # [step, loss (a tensor, then a float)] since the last metrics row
        self.status = "training"

    # ---- checks (no writes)
    def _check_resume(self) -> dict[str, Any]:
        check_run_entries(self.out)  # nothing lmlab appends to or writes into may be a link out of the run
        info = ckpt.read_checkpoint_info(self.out)
        if info.get("family") != self.family.name:
            raise LmlabError(
                f"--resume {self.out}: the checkpoint is a {info.get('family')} model, not {self.family.name}"
            )
        saved, given = info.get("config", {}), self.cfg.to_dict()
        for key, value in given.items():
            if key not in RESUMABLE and key in saved and saved[key] != value:
                flag = "--" + key.replace("_", "-")
                raise LmlabError(
                    f"{flag} cannot change when resuming (checkpoint: {saved[key]!r}, given: {value!r}); "
                    "start a new run with --out instead"
                )
        if info.get("tokenizer_sha256") != tokenizer_sha256(self.tokenizer):
            raise LmlabError(
                f"--resume {self.out}: the tokenizer does not match the checkpoint's (vocabulary of "
                f"{self.tokenizer.vocab_size} tokens, the checkpoint's {info.get('vocab_size', '?')}); "
                "resume with the run's own tokenizer (omit --tokenizer)"
            )
        return info

    # ---- the run
    def run(self) -> NeuralLM:
        if not self.opts.resume:
            self.build = RunBuild(self.out)  # an older run at --out stays until this one has a checkpoint
            self.dir = self.build.dir
        try:
            self._setup()
            return self._train()
        except BaseException:
            if self.build is not None:
                self.build.discard()  # before the first checkpoint: nothing worth keeping, the old run untouched
            raise

    def _place(self) -> None:
        """Swap the run, complete since its first checkpoint, into ``--out`` and go on writing there."""
        if self.build is not None and not self.build.placed:
            self.dir = self.build.place()
            self.metrics.move(self.dir / "metrics.jsonl", self._tensorboard_dir())

    def _tensorboard_dir(self) -> Path | None:
        return self.dir / "tensorboard" if self.cfg.tensorboard else None

    def _setup(self) -> None:
        cfg = self.cfg
        torch.manual_seed(self.seed)
        self.lm = lm = self.lm_class(self.tokenizer, cfg)  # built again after seeding, so runs are reproducible
        init_parameters(lm.net, cfg.init, cfg.init_range)
        lm.to(self.device)
        lm.net.train()
        self.params = list(lm.net.parameters())
        self.optimizer = build_optimizer(self.params, cfg)
        self.forward = CompiledOrEager(lm.net) if cfg.compile else lm.net
        self.carried: tuple[torch.Tensor, ...] | None = None
        self.best_tensors: dict[str, torch.Tensor] | None = None
        if self.opts.resume:
            self._restore()
        else:
            self.tokenizer.save(self.dir / "tokenizer.json")

    def _restore(self) -> None:
        info, model_t, opt_t, state_t = ckpt.load_checkpoint(self.out)
        where = str(ckpt.checkpoint_dir(self.out))
        load_state_into(self.lm.net, model_t, where)
        ckpt.optimizer_from_tensors(self.optimizer, opt_t, info["optimizer"], where)
        ckpt.restore_rng(state_t)
        self.carried = ckpt.carried_state(state_t, self.device)
        self.step = int(info["step"])
        self.tokens_seen = int(info["tokens_seen"])
        self.elapsed_before = float(info["elapsed_s"])
        self.val_history = [(int(s), float(v)) for s, v in info["val_history"]]
        self.best = tuple(info["best"]) if info.get("best") else None  # type: ignore[assignment]
        self.last_checkpoint_step = self.step
        self.pending = [[int(s), float(v)] for s, v in info.get("pending", [])]
        if self.best is not None and (self.out / WEIGHTS_FILE).is_file():
            self.best_tensors = load_tensors(self.out / WEIGHTS_FILE)
        truncate_metrics(self.out / "metrics.jsonl", self.step)
        log.info("resuming %s at step %d of %d", self.out, self.step, self.total_steps)

    def _train(self) -> NeuralLM:
        cfg, net = self.cfg, self.lm.net
        B = cfg.batch_size
        self.t_start = time.perf_counter()
        self.mark = (time.perf_counter(), self.tokens_seen)  # for tokens/s
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            desc=f"{self.family.name}",
            unit="step",
            dynamic_ncols=True,
            disable=True if not self.opts.progress else None,
        )
        state = self.carried
        metrics = MetricsLog(self.dir / "metrics.jsonl", self._tensorboard_dir())
        with metrics as self.metrics, stop_after_step() as interrupt:
            while self.step < self.total_steps:
                step = self.step
                if isinstance(self.batches, StreamBatches):
                    i = step % self.steps_per_epoch
                    if i == 0 or state is None:
                        state = net.init_state(B)  # each epoch starts from the zero state
                    x, y = self.batches[i]
                else:
                    x, y, context = self.batches.batch(step)
                    state = net.state_from_context(torch.from_numpy(context).to(self.device))
                lr = self.schedule.lr_at(step, [v for _, v in self.val_history])
                loss, state = self._update(x, y, state, lr)
                self.step += 1
                self.tokens_seen += int((y >= 0).sum())  # B * T, less the padding of --examples lines
                self.carried = state
                self.pending.append([self.step, loss])
                bar.update(1)
                out_of_time = cfg.max_seconds is not None and self._elapsed() >= cfg.max_seconds
                if self.step % cfg.log_every == 0 or self.step == self.total_steps or out_of_time:
                    self._log_row(lr, bar)
                evaluate = (cfg.eval_every and self.step % cfg.eval_every == 0) or (
                    self.step % self.steps_per_epoch == 0 or self.step == self.total_steps or out_of_time
                )
                if evaluate and self._evaluate_and_checkpoint(bar):
                    self.status = "stopped early"
                    break
                if out_of_time:
                    self.status = "stopped at --max-seconds"
                    break
                for callback in self.callbacks:
                    callback(self.step, self)
                if interrupt["signal"] is not None:
                    bar.close()
                    self._save_on_interrupt()
                    raise exception_for(interrupt["signal"])
            bar.close()
        if self.status == "training":
            self.status = "completed"
        if self.best_tensors is not None:
            load_state_into(net, self.best_tensors, str(self.out / WEIGHTS_FILE))
        self._write_run()
        assert self.build is None or self.build.placed, "every run ends with an evaluation and its checkpoint"
        if cfg.plot:
            from lmlab.train.plot import plot_run

            plot_run(self.dir)
        net.eval()
        return self.lm

    def _save_on_interrupt(self) -> None:
        """Ctrl-C or SIGTERM: save a checkpoint after this step, unless that would replace an older run with one
        that has not reached its first evaluation (then the older run is kept and the new one dropped)."""
        if self.build is not None and not self.build.placed and self.build.replaces:
            self.build.discard()
            log.warning("stopped before the new run's first checkpoint; %s still holds the previous run", self.out)
            return
        self._check_finite()
        self._checkpoint()
        self.status = "interrupted"
        self._write_run()
        self._place()
        log.warning("saved %s at step %d; continue with: lmlab train --resume %s", self.out, self.step, self.out)

    def _update(self, x: np.ndarray, y: np.ndarray, state, lr: float):
        """One optimizer step on the batch (x, y); returns the loss (a tensor, not synchronised) and the state."""
        xt = torch.from_numpy(x).to(self.device, non_blocking=True)
        yt = torch.from_numpy(y).to(self.device, non_blocking=True)
        set_lr(self.optimizer, lr)
        with autocast(self.device, self.cfg.amp):
            logits, state = self.forward(xt, state)  # (B, T, V)
            loss = lm_loss(logits, yt, padded=self.cfg.examples == "lines")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.grad_norm_t = clip_global_norm(self.params, self.cfg.clip)
        self.optimizer.step()
        dtype = self.params[0].dtype
        state = tuple(s.detach().to(dtype) if s.is_floating_point() else s.detach() for s in state)
        return loss.detach(), state

    # ---- metrics, validation, checkpoints
    def _check_finite(self) -> None:
        """Turn the pending loss tensors into floats (one synchronisation); stop at the first non-finite one."""
        if not self.pending:
            return
        tensors = [v for _, v in self.pending if torch.is_tensor(v)]
        values = iter(torch.stack(tensors).float().tolist() if tensors else [])
        for entry in self.pending:
            if torch.is_tensor(entry[1]):
                entry[1] = next(values)
            if not _finite_loss(entry[1]):
                self._stop_non_finite(entry[0], entry[1])

    def _stop_non_finite(self, step: int, value: float, which: str = "training") -> None:
        """Stop a diverged run: one line naming the step and what is kept."""
        lr_hint = f"lower --lr (now {self.cfg.lr:g})" + ("" if self.cfg.clip else " or set --clip")
        if math.isfinite(value):  # finite, but exp(value) overflows: as diverged as nan
            what = f"the {which} loss is not finite at step {step} ({value:.6g} nats: its perplexity overflows)"
        else:
            what = f"the {which} loss is {value} at step {step}"
        if self.last_checkpoint_step is None:
            kept = " (the previous run there is unchanged)" if self.build is not None and self.build.replaces else ""
            raise LmlabError(f"{what}: stopped before any checkpoint, nothing written to {self.out}{kept}; {lr_hint}")
        raise LmlabError(
            f"{what}: stopped; the last good checkpoint (step "
            f"{self.last_checkpoint_step}) and the best model so far are kept in {self.out}; {lr_hint}"
        )

    def _log_row(self, lr: float, bar) -> None:
        self._check_finite()
        if not self.pending:
            return
        losses = [v for _, v in self.pending]
        mean = sum(losses) / len(losses)
        now, (t0, tok0) = time.perf_counter(), self.mark
        tokens_per_s = (self.tokens_seen - tok0) / max(now - t0, 1e-9)
        self.mark = (now, self.tokens_seen)
        self.pending = []
        grad_norm = float(self.grad_norm_t)
        row = {
            "step": self.step,
            "epoch": round(self.step / self.steps_per_epoch, 4),
            "train_loss": mean,
            "train_perplexity": math.exp(min(mean, 700.0)),
            "lr": lr,
            "grad_norm": grad_norm,
            "tokens_per_s": round(tokens_per_s, 1),
            "elapsed_s": round(self._elapsed(), 3),
        }
        self.metrics.write(row)
        bar.set_postfix(loss=f"{mean:.3f}", ppl=f"{row['train_perplexity']:.1f}", tok_s=f"{tokens_per_s:,.0f}")

    def _elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t_start

    def _evaluate_and_checkpoint(self, bar) -> bool:
        """Validation, best weights, checkpoint; returns True when early stopping says stop."""
        self._check_finite()
        t0 = time.perf_counter()
        stop = False
        if self.valid_ids is not None:
            val_loss = float(-self.lm.score_stream(self.valid_ids).mean())
            if not _finite_loss(val_loss):
                self._stop_non_finite(self.step, val_loss, "validation")
            self.val_history.append((self.step, val_loss))
            self.metrics.write(
                {
                    "step": self.step,
                    "epoch": round(self.step / self.steps_per_epoch, 4),
                    "val_loss": val_loss,
                    "val_perplexity": math.exp(val_loss),
                    "elapsed_s": round(self._elapsed(), 3),
                }
            )
            bar.set_postfix_str(f"val ppl {math.exp(val_loss):.2f}")
            log.info("step %d: validation perplexity %.2f", self.step, math.exp(val_loss))
            if self.best is None or val_loss < self.best[1]:
                self.best = (self.step, val_loss)
                self.best_tensors = {k: v.detach().cpu().clone() for k, v in unique_state_dict(self.lm.net).items()}
            elif self.cfg.early_stop is not None:
                since = sum(1 for s, _ in self.val_history if s > self.best[0])
                stop = since >= self.cfg.early_stop
        else:
            self.best_tensors = {k: v.detach().cpu().clone() for k, v in unique_state_dict(self.lm.net).items()}
        self._checkpoint()
        self._write_run()
        self._place()  # the first checkpoint makes the run complete: it may replace an older one now
        t_eval = time.perf_counter() - t0
        self.mark = (self.mark[0] + t_eval, self.mark[1])  # tokens/s counts training time only
        return stop

    def _checkpoint(self) -> None:
        info = {
            "family": self.family.name,
            "config": self.cfg.to_dict(),
            "data": self.opts.data_info,
            "command": self.opts.command,
            "seed": self.seed,
            "step": self.step,
            "tokens_seen": self.tokens_seen,
            "elapsed_s": self._elapsed(),
            "val_history": self.val_history,
            "best": list(self.best) if self.best else None,
            "pending": self.pending,  # losses not yet in a metrics row (floats: checked before every checkpoint)
            "train_sha256": self.train_sha,
            "tokenizer_sha256": tokenizer_sha256(self.tokenizer),
            "vocab_size": self.tokenizer.vocab_size,
        }
        carried = self.carried if isinstance(self.batches, StreamBatches) else None
        ckpt.save_checkpoint(
            self.dir,
            model_tensors=unique_state_dict(self.lm.net),
            optimizer=self.optimizer,
            carried_state=carried,
            info=info,
        )
        self.last_checkpoint_step = self.step

    def _write_run(self) -> None:
        """The run's model (the best weights so far) and config.json, loadable by ``lmlab eval`` at any time."""
        tensors = self.best_tensors if self.best_tensors is not None else unique_state_dict(self.lm.net)
        save_tensors(self.dir / WEIGHTS_FILE, tensors, {"family": self.family.name})
        elapsed = self._elapsed()
        stats: dict[str, Any] = {
            "status": self.status,
            "steps": self.step,
            "total_steps": self.total_steps,
            "epochs": round(self.step / self.steps_per_epoch, 4),
            "train_tokens": int(self.train_tokens.size),
            "tokens_seen": self.tokens_seen,
            "train_seconds": round(elapsed, 3),
            "tokens_per_s": round(self.tokens_seen / max(elapsed, 1e-9), 1),
            "parameters": self.lm.num_parameters(),
            "device": str(self.device),
            "preset": self.opts.preset,
        }
        if self.best is not None:
            stats.update(best_step=self.best[0], best_val_loss=self.best[1], best_val_perplexity=math.exp(self.best[1]))
        info = RunInfo(data=self.opts.data_info, command=self.opts.command, stats=stats)
        write_json(self.dir / "config.json", run_config(self.lm, info))


def _finite_loss(value: float) -> bool:
    """A loss whose perplexity is a finite number (nan, inf and anything above ~709.78 nats have diverged).

    >>> _finite_loss(3.2), _finite_loss(float("nan")), _finite_loss(2660.9)
    (True, False, False)
    """
    return math.isfinite(value) and value <= MAX_FINITE_LOSS


__all__ = ["Trainer", "tokenizer_sha256", "train_neural"]
