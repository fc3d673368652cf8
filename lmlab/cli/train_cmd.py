"""``lmlab train``: train one model family of a task on a dataset and write a run directory.

The flags common to every task are defined here; the task's own (its data, its families' hyperparameters) come
from the task's command-line module (see :mod:`lmlab.tasks`). This module also holds the language-model side.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lmlab.cli.common import add_data_flags, add_tokenizer_flags, build_tokenizer, check_seed, read_corpus, seed_arg
from lmlab.cli.config_args import add_config_flags, build_config, read_toml
from lmlab.data import data_changes, data_fingerprint
from lmlab.errors import LmlabError
from lmlab.lm.evaluate import evaluate
from lmlab.lm.models import FAMILIES, get_family
from lmlab.tasks import DEFAULT_TASK, TASKS, get_task
from lmlab.train_options import TrainOptions


def _flag_from_argv(argv: list[str], flag: str) -> str | None:
    """The value of ``flag`` in ``argv``, read before the parser is built (None when absent or malformed: the
    parser then reports it in one line)."""
    pre = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    pre.add_argument(flag)
    try:
        known, _ = pre.parse_known_args(argv[1:] if argv and argv[0] == "train" else [])
    except argparse.ArgumentError:  # e.g. `--model` with no value
        return None
    return getattr(known, flag.lstrip("-").replace("-", "_"))


def _family_from_argv(argv: list[str]) -> str | None:
    return _flag_from_argv(argv, "--model")


def _given(argv: list[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def _resumed(argv: list[str], key: str) -> str | None:
    """The family or task of the run named by ``--resume RUN``, so that its flags (``--max-steps``, ...) exist."""
    resume = _flag_from_argv(argv, "--resume")
    if not resume:
        return None
    from lmlab.train.checkpoint import read_checkpoint_info

    info = read_checkpoint_info(resume)  # an unreadable checkpoint is reported here
    return info.get(key, DEFAULT_TASK if key == "task" else None)


def register(sub, argv: list[str]) -> None:
    p = sub.add_parser(
        "train",
        help="train a model and write a run directory",
        description="Train a model family on a corpus. Add --model NAME --help to see that family's hyperparameters.",
    )
    resuming = _given(argv, "--resume")
    task = get_task(_flag_from_argv(argv, "--task") or _resumed(argv, "task") or DEFAULT_TASK)
    p.add_argument(
        "--task",
        default=DEFAULT_TASK,
        choices=list(TASKS),
        help=f"what to learn (default: {DEFAULT_TASK}): " + "; ".join(f"{t.name}: {t.summary}" for t in TASKS.values()),
    )
    p.add_argument("--model", required=not resuming, metavar="FAMILY", help=f"one of: {', '.join(task.family_table())}")
    p.add_argument("--out", required=not resuming, metavar="RUN", help="run directory to write")
    p.add_argument("--config", metavar="FILE.toml", help="hyperparameters from a TOML file (flags override it)")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed, 0 to 2**63 - 1 (default: 0)")
    from lmlab.lm.presets import PRESETS  # names only: no PyTorch import

    p.add_argument(
        "--preset",
        metavar="NAME",
        help=f"neural families: start from a published recipe ({', '.join(PRESETS)}); --config and flags override it",
    )
    p.add_argument(
        "--resume",
        metavar="RUN",
        help="neural families: continue the run RUN from its last checkpoint, exactly as if never stopped "
        "(--max-steps, --epochs and --device may be changed)",
    )
    p.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="train on N processes of this machine (torchrun, DistributedDataParallel): --batch-size stays the "
        "global batch, each process takes its share",
    )
    p.set_defaults(tokenizer_given=_given(argv, "--tokenizer"))
    cli = task.cli_module()
    cli.add_train_flags(p, _family_from_argv(argv) or _resumed(argv, "family"), resuming)
    p.set_defaults(func=lambda args: _dispatch(cli.train, args, argv))


def _dispatch(train, args: argparse.Namespace, argv: list[str]) -> int:
    """Train here, or launch the same command on ``--nproc`` processes; under torchrun, check first that the
    training can be shared."""
    from lmlab.cli.launch import check_distributed, launch
    from lmlab.train.ranks import world_size_from_env

    if args.nproc is not None:
        return launch(args, argv)
    if world_size_from_env() > 1:
        check_distributed(args, world_size_from_env())
    return train(args)


def add_lm_train_flags(p: argparse.ArgumentParser, name: str | None, resuming: bool) -> None:
    """The language-model task's flags: its corpus, its tokenizer, the family's hyperparameters."""
    add_data_flags(p, required=not resuming)
    add_tokenizer_flags(p)
    if name in FAMILIES:
        family = FAMILIES[name]
        add_config_flags(p, family.config_class(), f"{name} hyperparameters")


def _resume_inputs(args: argparse.Namespace):
    """Family, configuration, corpus, tokenizer and data description of the run named by ``--resume``."""
    from lmlab.cli.common import resume_inputs
    from lmlab.data import load_corpus
    from lmlab.tokenizers import load_tokenizer

    run_dir, info = resume_inputs(args)
    family = get_family(info["family"])
    if args.model and args.model != family.name:
        raise LmlabError(f"--resume {run_dir} is a {family.name} run, not --model {args.model}")
    cfg = build_config(family.config_class(), args, preset=info.get("config", {}), source=f"checkpoint of {run_dir}")
    saved_data = info.get("data", {})
    spec = args.data or saved_data.get("spec")
    if not spec:
        raise LmlabError(f"{run_dir}: the checkpoint records no corpus; pass --data DATA")
    errors = args.encoding_errors if args.data else saved_data.get("encoding_errors", "strict")
    corpus = load_corpus(spec, encoding_errors=errors)
    if changed := data_changes(saved_data, corpus):
        raise LmlabError(f"--resume {run_dir}: {spec}: its contents changed since training ({'/'.join(changed)})")
    tokenizer = (
        build_tokenizer(args, corpus.train) if args.tokenizer_given else load_tokenizer(run_dir / "tokenizer.json")
    )
    data_info = {**data_fingerprint(corpus), "source": corpus.source, "encoding_errors": errors}
    return family, cfg, corpus, tokenizer, data_info, run_dir


def run(args: argparse.Namespace) -> int:
    if args.resume:
        family, cfg, corpus, tokenizer, data_info, out = _resume_inputs(args)
    else:
        family = get_family(args.model)
        check_seed(args.seed)
        file_values = read_toml(args.config) if args.config else None
        preset = None
        if args.preset:
            from lmlab.lm.presets import get_preset

            preset = get_preset(args.preset, family.name)
        cfg = build_config(family.config_class(), args, file_values=file_values, preset=preset, source=str(args.config))
        corpus = read_corpus(args)
        tokenizer = build_tokenizer(args, corpus.train)
        data_info = {**data_fingerprint(corpus), "source": corpus.source, "encoding_errors": args.encoding_errors}
        out = Path(args.out)
    opts = TrainOptions(
        seed=args.seed,
        command=args.command_line,
        data_info=data_info,
        resume=bool(args.resume),
        preset=args.preset,
    )
    steps_before = _checkpoint_step(out) if args.resume else None
    t0 = time.perf_counter()
    model = family.trainer_fn()(cfg, corpus, tokenizer, opts, out)
    seconds = time.perf_counter() - t0
    if steps_before is not None and _checkpoint_step(out) == steps_before:
        print(
            f"nothing to train: {out} has already run its {steps_before:,} steps; "
            "give a larger --max-steps or --epochs to train it further"
        )
    else:
        print(
            f"trained {family.name} ({model.num_parameters():,} parameters, vocabulary {tokenizer.vocab_size:,}) "
            f"in {seconds:.2f} s -> {out}"
        )
    if model.normalized and corpus.valid:
        try:
            r = evaluate(model, corpus.valid)
        except LmlabError as e:  # the model is trained and saved; only this report cannot be made
            print(f"lmlab: warning: no validation perplexity: {e}", file=sys.stderr)
        else:
            print(f"valid perplexity {r.perplexity:.2f} ({r.tokens:,} tokens, {r.oov:,} OOV)")
    return 0


def _checkpoint_step(run: Path) -> int:
    from lmlab.train.checkpoint import read_checkpoint_info

    return read_checkpoint_info(run)["step"]
