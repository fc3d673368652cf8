"""The training engine every task and every neural family trains on.

One loop, written against :class:`lmlab.train.task.TrainingTask`, so it never asks which task or model it trains.
Each update::

    lr_s         = schedule(s, validation history)
    loss, n, h   = task.train_step(net, s, h)      loss averaged over the n units of batch s (tokens, examples);
                                                  h a state carried to the next batch (truncated BPTT) or None
    g            = clip(grad loss, global norm)
    theta        = optimizer step(theta, g, lr_s);  task.after_update()

The task's validation metrics are measured at the end of every epoch (or every ``eval_every`` steps); the best
weights so far by the task's main metric are the run's ``model.safetensors``, and a checkpoint
(``checkpoints/last``) is written after each evaluation, so ``lmlab eval RUN`` works while a run goes on and
``lmlab train --resume RUN`` continues it exactly. Ctrl-C or SIGTERM finishes the current step, saves and exits; a
non-finite loss stops the run naming the step, keeping the last good checkpoint.

A fresh run trains in a marked sibling folder (:class:`lmlab.rundir.RunBuild`) until its first checkpoint makes it
complete (config, static files such as the tokenizer, weights, checkpoint), is then swapped into ``--out`` and goes
on there. So a run it replaces stays whole and loadable until then: a crash, a kill or a divergence before that
first checkpoint leaves the old run as it was, and so does Ctrl-C or SIGTERM (with no old run, Ctrl-C saves the new
one as usual).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from lmlab.errors import LmlabError
from lmlab.interrupt import StopAfterStep, exception_for
from lmlab.io import write_json
from lmlab.nn.tensor_io import load_tensors, save_tensors
from lmlab.nn.weights import WEIGHTS_FILE, load_state_into, unique_state_dict
from lmlab.runconfig import RunInfo
from lmlab.rundir import RunBuild, check_out_dir, check_run_entries, claim_out, run_lock
from lmlab.tempdirs import owned_tempdir
from lmlab.threads import ThreadTuner
from lmlab.train import checkpoint as ckpt
from lmlab.train.config import RESUMABLE
from lmlab.train.device import CompiledOrEager, autocast, resolve_device
from lmlab.train.distributed import World, check_batch, rank_seed, split_rows
from lmlab.train.metrics import MetricsLog, NoMetricsLog, tensorboard_available, truncate_metrics
from lmlab.train.optim import build_optimizer, clip_global_norm, set_lr
from lmlab.train.schedules import LRSchedule, progress_step
from lmlab.train.task import TrainingTask
from lmlab.train_options import TrainOptions

log = logging.getLogger(__name__)

#: the training's scratch folder (the encoded training data) in the temporary folder: ``lmlab-scratch-XXXX``
SCRATCH_PREFIX = "lmlab-scratch-"

#: Called after every update with the step number and the trainer (tests use it to interrupt a run).
Callback = Callable[[int, "Trainer"], None]

#: the largest loss whose perplexity exp(loss) is a finite float: a loss above it has diverged
MAX_FINITE_LOSS = math.log(sys.float_info.max)  # 709.78


def train_task(task: TrainingTask, opts: TrainOptions, out: Path, *, callbacks: Sequence[Callback] = ()) -> Any:
    """Train ``task`` and leave a complete run directory at ``out``; returns the task's result (its model).

    Under torchrun (``WORLD_SIZE`` > 1) every process trains its share of each batch (see
    :mod:`lmlab.train.distributed`); rank 0 alone claims and writes ``out`` and returns, the other processes exit
    when training ends (the command's report is rank 0's).
    """
    out = Path(out)
    world = World.from_env()
    if not world.writer:
        claim: Any = contextlib.nullcontext()
    elif opts.resume:
        claim = run_lock(out, opts.command or None)
    else:
        claim = claim_out(out, opts.command or None)
    try:
        with claim, owned_tempdir(SCRATCH_PREFIX) as tmp:  # a killed process's is removed by the next training
            result = Trainer(task, opts, out, tmp, callbacks, world=world).run()
    finally:
        world.stop()
    if not world.writer:
        raise SystemExit(0)
    return result


class Trainer:
    """One training run. The constructor checks everything and writes nothing; :meth:`run` trains."""

    def __init__(
        self,
        task: TrainingTask,
        opts: TrainOptions,
        out: Path,
        scratch: Path,
        callbacks: Sequence[Callback] = (),
        *,
        world: World | None = None,
    ):
        self.t_created = time.perf_counter()  # set-up (reading and encoding the data, checks) is counted from here
        self.task, self.cfg, self.opts, self.out = task, task.cfg, opts, out
        self.dir = out  # where the run's files go now: a partial sibling folder until the first checkpoint
        self.build: RunBuild | None = None
        cfg = self.cfg
        self.callbacks = list(callbacks)
        self.world = world = world if world is not None else World()
        self.device = world.device(resolve_device(cfg.device))
        if world.active:
            check_batch(task.batch_rows(), world.size)
            task.shard = world.shard()
        if cfg.tensorboard and not tensorboard_available():
            raise LmlabError("--tensorboard needs the tensorboard package: pip install 'lmlab[tensorboard]'")
        self.resume_info = self._check_resume() if opts.resume else None
        self.seed = int(self.resume_info["seed"]) if self.resume_info is not None else opts.seed
        if not opts.resume:
            check_out_dir(out)  # every process checks (read-only), so each stops with the same line

        task.prepare(scratch, self.seed)
        if not task.has_validation and (cfg.schedule == "plateau" or cfg.early_stop):
            raise LmlabError("--schedule plateau and --early-stop need a validation split, and this corpus has none")
        if self.resume_info is not None:
            task.check_resume(self.resume_info, out)
        self.steps_per_epoch = task.steps_per_epoch
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
        self.units_seen = 0  # tokens or examples trained on
        self.elapsed_before = 0.0
        self.val_history: list[tuple[int, float]] = []  # (step, the task's main validation metric)
        self.best: tuple[int, float] | None = None  # (step, main metric)
        self.last_checkpoint_step: int | None = None
        self.pending: list[list[Any]] = []  # [step, loss (a tensor, then a float)] since the last metrics row
        self.status = "training"
        # where the time goes (seconds of this process; "elapsed" below excludes compilation, which the budget of
        # --max-seconds does not charge)
        self.costs = {"setup": 0.0, "compile": 0.0, "validation": 0.0, "final_validation": 0.0}
        self.last_eval_elapsed = 0.0
        self.evaluations = 0  # in this process (checkpoints are written every cfg.checkpoint_every of them)

    def _badness(self, value: float) -> float:
        """The main metric as a quantity to minimise (schedules and early stopping compare these)."""
        return -value if self.task.higher_is_better else value

    # ---- checks (no writes)
    def _check_resume(self) -> dict[str, Any]:
        check_run_entries(self.out)  # nothing lmlab appends to or writes into may be a link out of the run
        info = ckpt.read_checkpoint_info(self.out, type(self.cfg))
        if info.get("task", "lm") != self.task.name or info.get("family") != self.task.family:
            raise LmlabError(
                f"--resume {self.out}: the checkpoint is a {info.get('family')} model, not {self.task.family}"
            )
        saved, given = info.get("config", {}), self.cfg.to_dict()
        for key, value in given.items():
            if key not in RESUMABLE and key in saved and saved[key] != json.loads(json.dumps(value)):  # tuples: lists
                flag = "--" + key.replace("_", "-")
                raise LmlabError(
                    f"{flag} cannot change when resuming (checkpoint: {saved[key]!r}, given: {value!r}); "
                    "start a new run with --out instead"
                )
        return info

    # ---- the run
    def run(self) -> Any:
        self.world.start(self.device)
        if not self.opts.resume and self.world.writer:
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
        if self.world.writer and self.build is not None and not self.build.placed:
            self.dir = self.build.place()
            self.metrics.move(self.dir / "metrics.jsonl", self._tensorboard_dir())

    def _tensorboard_dir(self) -> Path | None:
        return self.dir / "tensorboard" if self.cfg.tensorboard else None

    def _setup(self) -> None:
        cfg = self.cfg
        torch.manual_seed(self.seed)
        self.net = net = self.task.build_network()
        net.to(self.device)
        net.train()
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.grad_norm_t: torch.Tensor | None = None
        self.optimizer = build_optimizer(self.params, cfg)
        model = self.world.wrap(net, self.device)  # DDP: gradients averaged over the processes in backward
        self.forward = CompiledOrEager(model) if cfg.compile else model
        self.carried: tuple[torch.Tensor, ...] | None = None
        self.best_tensors: dict[str, torch.Tensor] | None = None
        if self.opts.resume:
            self._restore()
        elif self.world.writer:
            self.task.write_static_files(self.dir)

    def _restore(self) -> None:
        info, model_t, opt_t, state_t = ckpt.load_checkpoint(self.out)
        where = str(ckpt.checkpoint_dir(self.out))
        load_state_into(self.net, model_t, where)
        ckpt.optimizer_from_tensors(self.optimizer, opt_t, info["optimizer"], where)
        ckpt.restore_rng(state_t)
        self.carried = ckpt.carried_state(state_t, self.device)
        if self.carried is not None and self.world.active:  # the whole batch's state: this process's rows
            self.carried = split_rows(self.carried, self.task.state_batch_dims(), self.task.shard)
        self.step = int(info["step"])
        self.units_seen = int(info.get("units_seen", info.get("tokens_seen", 0)))
        self.elapsed_before = float(info["elapsed_s"])
        self.val_history = [(int(s), float(v)) for s, v in info["val_history"]]
        self.best = tuple(info["best"]) if info.get("best") else None  # type: ignore[assignment]
        self.last_checkpoint_step = self.step
        self.pending = [[int(s), float(v)] for s, v in info.get("pending", [])]
        if self.best is not None and self.world.writer and (self.out / WEIGHTS_FILE).is_file():
            self.best_tensors = load_tensors(self.out / WEIGHTS_FILE)
        if self.world.writer:
            truncate_metrics(self.out / "metrics.jsonl", self.step)
        log.info("resuming %s at step %d of %d", self.out, self.step, self.total_steps)

    def _train(self) -> Any:
        cfg, net = self.cfg, self.net
        on_cpu_alone = self.device.type == "cpu" and not self.world.active
        self.tuner = ThreadTuner(cfg.threads, enabled=on_cpu_alone)
        self.t_start = time.perf_counter()
        self.costs["setup"] = self.t_start - self.t_created
        self.last_eval_elapsed = self.elapsed_before
        self.mark = (time.perf_counter(), self.units_seen)  # for units/s
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            desc=f"{self.task.family}",
            unit="step",
            dynamic_ncols=True,
            disable=True if not self.opts.progress or not self.world.writer else None,
        )
        state = self.carried
        if self.world.writer:
            metrics: MetricsLog | NoMetricsLog = MetricsLog(self.dir / "metrics.jsonl", self._tensorboard_dir())
        else:
            metrics = NoMetricsLog()
        with metrics as self.metrics, StopAfterStep() as interrupt:
            while self.step < self.total_steps:
                step = self.step
                budget = None if cfg.max_seconds is None else self._elapsed() / cfg.max_seconds
                at = progress_step(step, self.total_steps, budget)  # the schedule runs over the budget, if any
                lr = self.schedule.lr_at(at, [self._badness(v) for _, v in self.val_history])
                self.tuner.before_step()
                if cfg.compile and self.costs["compile"] == 0.0:  # the first call compiles: timed, not charged
                    t0 = time.perf_counter()
                    loss, count, state = self._update(step, state, lr)
                    _synchronize(self.device)
                    self.costs["compile"] = time.perf_counter() - t0
                else:
                    t0 = time.perf_counter()
                    loss, count, state = self._update(step, state, lr)
                    self.tuner.after_step(time.perf_counter() - t0)
                self.step += 1
                self.units_seen += int(count)
                self.carried = state
                self.pending.append([self.step, loss])
                bar.update(1)
                out_of_time = cfg.max_seconds is not None and self._elapsed() >= cfg.max_seconds
                if self.world.active and cfg.max_seconds is not None:  # every process stops at the same step
                    out_of_time = bool(self.world.max([out_of_time], self.device)[0])
                if self.step % cfg.log_every == 0 or self.step == self.total_steps or out_of_time:
                    self._log_row(lr, bar)
                if cfg.eval_every:
                    periodic = self.step % cfg.eval_every == 0
                elif cfg.eval_seconds:
                    periodic = self._elapsed() - self.last_eval_elapsed >= cfg.eval_seconds
                else:
                    periodic = self.step % self.steps_per_epoch == 0
                evaluate = periodic or self.step == self.total_steps or out_of_time
                last = self.step == self.total_steps or out_of_time
                if evaluate and self._evaluate_and_checkpoint(bar, last):
                    self.status = "stopped early"
                    break
                if out_of_time:
                    self.status = "stopped at --max-seconds"
                    break
                for callback in self.callbacks:
                    callback(self.step, self)
                signum = interrupt["signal"]
                if self.world.active:  # Ctrl-C or SIGTERM seen by any process stops them all after this step
                    signum = self.world.max([signum or 0], self.device)[0] or None
                if signum is not None:
                    bar.close()
                    self._save_on_interrupt()
                    raise exception_for(signum)
            bar.close()
        if self.status == "training":
            self.status = "completed"
        if not self.world.writer:
            return self.task.result()
        if self.best_tensors is not None:
            load_state_into(net, self.best_tensors, str(self.out / WEIGHTS_FILE))
        self._final_validation()
        self._write_run()
        assert self.build is None or self.build.placed, "every run ends with an evaluation and its checkpoint"
        net.eval()
        self.task.finish(self.dir)
        if cfg.plot:
            from lmlab.train.plot import plot_run

            plot_run(self.dir)
        return self.task.result()

    def _final_validation(self) -> None:
        """The kept weights on the whole validation split, once (training validated on a subset of it)."""
        subset, size = self.cfg.val_subset, self.task.validation_size()
        if not self.task.has_validation or self.best is None:
            return
        if subset is None or subset >= size:
            self.final_metrics = dict(getattr(self, "best_metrics", {}))  # the subset was the whole split
            return
        t0 = time.perf_counter()
        self.net.eval()
        try:
            self.final_metrics = self.task.validate(None)
        finally:
            self.net.train()
        self.costs["final_validation"] += time.perf_counter() - t0
        with MetricsLog(self.dir / "metrics.jsonl") as log_file:  # the training loop's log is closed by now
            log_file.write({"step": self.best[0], **{f"final_val_{k}": v for k, v in self.final_metrics.items()}})

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
        if not self.world.writer:
            return
        self._write_run()
        self._place()
        log.warning("saved %s at step %d; continue with: lmlab train --resume %s", self.out, self.step, self.out)

    def _update(self, step: int, state, lr: float):
        """One optimizer step on batch ``step``: the loss (a tensor, not synchronised), its unit count, the state."""
        set_lr(self.optimizer, lr)
        world = self.world
        if world.active:
            torch.manual_seed(rank_seed(self.seed, step, world.rank))  # dropout: per process and step
            self.task.shard.borrowed = False
        with autocast(self.device, self.cfg.amp):
            loss, count, state = self.task.train_step(self.forward, step, state)
        objective = loss
        if world.active:
            # this process's mean over its n units, weighted W n / N: DDP's average of the gradients is then the
            # gradient of the global mean (1/N) sum_r n_r loss_r, as one process computes it
            n = 0 if self.task.shard.borrowed else int(count)
            units = torch.tensor(float(n), dtype=torch.float64, device=loss.device)
            total, weighted = world.sum(torch.stack([units, loss.detach().double() * n])).unbind()
            objective = loss * (n * world.size / total).to(loss.dtype)
            loss, count = (weighted / total).float(), int(total)
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        if self.cfg.clip is not None or (step + 1) % self.cfg.log_every == 0:
            # the norm is logged every log_every steps; unclipped runs need it only then (a pass over every
            # gradient: 7% of a text CNN's step, whose embedding table is most of its weights)
            self.grad_norm_t = clip_global_norm(self.params, self.cfg.clip)
        self.optimizer.step()
        self.task.after_update()
        return loss.detach(), count, state

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
        now, (t0, n0) = time.perf_counter(), self.mark
        per_s = (self.units_seen - n0) / max(now - t0, 1e-9)
        self.mark = (now, self.units_seen)
        self.pending = []
        grad_norm = float(self.grad_norm_t) if self.grad_norm_t is not None else None
        unit = self.task.unit
        row = {
            "step": self.step,
            "epoch": round(self.step / self.steps_per_epoch, 4),
            "train_loss": mean,
            **self.task.train_metrics(mean),
            "lr": lr,
            "grad_norm": grad_norm,
            f"{unit}_per_s": round(per_s, 1),
            "elapsed_s": round(self._elapsed(), 3),
            "threads": self.tuner.threads,
        }
        self.metrics.write(row)
        bar.set_postfix(loss=f"{mean:.3f}", **{f"{unit[:3]}_s": f"{per_s:,.0f}"})

    def _elapsed(self) -> float:
        """Seconds this run has trained, validation and checkpoints included, compilation not."""
        return self.elapsed_before + time.perf_counter() - self.t_start - self.costs["compile"]

    def _evaluate_and_checkpoint(self, bar, last: bool = False) -> bool:
        """Validation, best weights, checkpoint; returns True when early stopping says stop."""
        self._check_finite()
        t0 = time.perf_counter()
        stop = False
        writer = self.world.writer
        if self.task.has_validation:
            metrics: dict[str, float] = {}
            if writer:  # measured once, by rank 0, on the whole network: as one process measures it
                was_training = self.net.training
                self.net.eval()
                try:
                    metrics = self.task.validate(self.cfg.val_subset)
                finally:
                    self.net.train(was_training)
            metrics = self.world.broadcast(metrics)  # every process takes the same decisions from them
            main = metrics[self.task.main_metric]
            if not _finite_loss(metrics.get("loss", main)):
                self._stop_non_finite(self.step, metrics.get("loss", main), "validation")
            self.val_history.append((self.step, main))
            self.metrics.write(
                {
                    "step": self.step,
                    "epoch": round(self.step / self.steps_per_epoch, 4),
                    **{f"val_{k}": v for k, v in metrics.items()},
                    "elapsed_s": round(self._elapsed(), 3),
                }
            )
            shown = {k: v for k, v in metrics.items() if k != "loss"} or metrics
            summary = ", ".join(f"{k} {v:.4g}" for k, v in shown.items())
            bar.set_postfix_str(f"val {summary}")
            log.info("step %d: validation %s", self.step, summary)
            if self.best is None or self._badness(main) < self._badness(self.best[1]):
                self.best = (self.step, main)
                self.best_metrics = metrics
                if writer:
                    self.best_tensors = {k: v.detach().cpu().clone() for k, v in unique_state_dict(self.net).items()}
            elif self.cfg.early_stop is not None:
                since = sum(1 for s, _ in self.val_history if s > self.best[0])
                stop = since >= self.cfg.early_stop
        elif writer:
            self.best_tensors = {k: v.detach().cpu().clone() for k, v in unique_state_dict(self.net).items()}
        self.evaluations += 1
        first = self.last_checkpoint_step is None
        if first or last or stop or self.evaluations % self.cfg.checkpoint_every == 0:
            self._checkpoint()
            if writer:
                self._write_run()
                self._place()  # the first checkpoint makes the run complete: it may replace an older one now
        t_eval = time.perf_counter() - t0
        self.mark = (self.mark[0] + t_eval, self.mark[1])  # units/s counts training time only
        self.costs["validation"] += t_eval
        self.last_eval_elapsed = self._elapsed()
        return stop

    def _checkpoint(self) -> None:
        carried = self.carried if self.task.carries_state else None
        if carried is not None and self.world.active:  # every process's rows: the checkpoint holds the whole batch
            carried = self.world.gather_rows(carried, self.task.state_batch_dims())
        self.last_checkpoint_step = self.step
        if not self.world.writer:
            return
        info = {
            "task": self.task.name,
            "family": self.task.family,
            "config": self.cfg.to_dict(),
            "data": self.opts.data_info,
            "command": self.opts.command,
            "seed": self.seed,
            "step": self.step,
            "units_seen": self.units_seen,
            "elapsed_s": self._elapsed(),
            "val_history": self.val_history,
            "best": list(self.best) if self.best else None,
            "pending": self.pending,  # losses not yet in a metrics row (floats: checked before every checkpoint)
            **self.task.fingerprint(),
        }
        ckpt.save_checkpoint(
            self.dir,
            model_tensors=unique_state_dict(self.net),
            optimizer=self.optimizer,
            carried_state=carried,
            info=info,
        )

    def _write_run(self) -> None:
        """The run's model (the best weights so far) and config.json, loadable by ``lmlab eval`` at any time."""
        tensors = self.best_tensors if self.best_tensors is not None else unique_state_dict(self.net)
        save_tensors(self.dir / WEIGHTS_FILE, tensors, {"family": self.task.family})
        elapsed = self._elapsed()
        unit = self.task.unit
        stats: dict[str, Any] = {
            "status": self.status,
            "steps": self.step,
            "total_steps": self.total_steps,
            "epochs": round(self.step / self.steps_per_epoch, 4),
            f"train_{unit}": self.task.train_size,
            f"{unit}_seen": self.units_seen,
            "train_seconds": round(elapsed, 3),
            f"{unit}_per_s": round(self.units_seen / max(elapsed, 1e-9), 1),
            "parameters": sum(p.numel() for p in self.net.parameters()),
            "device": str(self.device),
            "threads": self.tuner.record() if hasattr(self, "tuner") else None,
            "preset": self.opts.preset,
        }
        if self.world.active:
            stats["processes"] = self.world.size
        if self.best is not None:
            stats.update(best_step=self.best[0], **{f"best_val_{self.task.main_metric}": self.best[1]})
            stats.update({f"best_val_{k}": v for k, v in getattr(self, "best_metrics", {}).items()})
        if getattr(self, "final_metrics", None):  # the kept weights on the whole validation split
            stats.update({f"final_val_{k}": v for k, v in self.final_metrics.items()})
        # where this process's time went: the training loop (its updates and its periodic validations, what a
        # --max-seconds budget counts) and, outside it, set-up, compilation and the final whole-split validation
        costs = {k: round(v, 3) for k, v in self.costs.items()}
        steps_s = max(elapsed - self.elapsed_before - self.costs["validation"], 0.0)
        costs["training_steps"] = round(steps_s, 3)
        stats["time_s"] = costs
        loop_s = steps_s + self.costs["validation"]
        if loop_s > 0:
            stats["loop_share"] = {
                "training_steps": round(steps_s / loop_s, 4),
                "validation": round(self.costs["validation"] / loop_s, 4),
            }
        info = RunInfo(data=self.opts.data_info, command=self.opts.command, stats=stats)
        write_json(self.dir / "config.json", self.task.run_config(info))


def _synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (so that a timing covers it)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _finite_loss(value: float) -> bool:
    """A loss whose perplexity is a finite number (nan, inf and anything above ~709.78 nats have diverged).

    >>> _finite_loss(3.2), _finite_loss(float("nan")), _finite_loss(2660.9)
    (True, False, False)
    """
    return math.isfinite(value) and value <= MAX_FINITE_LOSS


__all__ = ["Trainer", "train_task"]
