"""The language-model task's command-line parts (``lmlab train``, ``eval``, ``attention``, ``export`` on a language
model), as :data:`lmlab.tasks.TASKS` declares them for the shared dispatchers."""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import sys
import time
from pathlib import Path

from lmlab.cli.common import (
    add_data_flags,
    add_tokenizer_flags,
    build_tokenizer,
    check_seed,
    read_corpus,
)
from lmlab.cli.config_args import add_config_flags, build_config, read_toml
from lmlab.errors import LmlabError
from lmlab.lm.eval_text import eval_lines
from lmlab.lm.models import FAMILIES, get_family
from lmlab.runconfig import unfinished_note
from lmlab.train_options import TrainOptions

#: The most positions (tokens, </s> included) drawn: each panel is 0.28 inch a position, side by side per head
MAX_POSITIONS = 128


def add_train_flags(p: argparse.ArgumentParser, name: str | None, resuming: bool) -> None:
    """The language-model task's flags: its corpus, its tokenizer, the family's hyperparameters."""
    add_data_flags(p, required=not resuming)
    p.add_argument(
        "--ignore-labels",
        action="store_true",
        help="on a labelled corpus (names-by-language, a folder of LABEL.txt files, a label<TAB>text .tsv file): "
        "model the texts alone, without conditioning on their labels (the unconditioned baseline; n-gram models)",
    )
    add_tokenizer_flags(p)
    if name in FAMILIES:
        family = FAMILIES[name]
        add_config_flags(p, family.config_class(), f"{name} hyperparameters", exclude=("num_labels",))


def condition_on_labels(cfg, family, corpus, args: argparse.Namespace):
    """``cfg`` conditioned on the labels of a labelled corpus (``num_labels``, and one line per example unless
    ``--examples`` says otherwise), or as it is for a plain corpus and with ``--ignore-labels``."""
    from lmlab.data import LabelledCorpus

    if not isinstance(corpus, LabelledCorpus) or args.ignore_labels:
        return cfg
    if not family.model_class().takes_condition:
        raise LmlabError(
            f"{family.name} models take no condition, and {corpus.name} is a labelled corpus ({len(corpus.labels)} "
            "labels): train a neural family (mlp, rnn, lstm, gru, cnn, transformer) on it, or pass --ignore-labels "
            "to model its texts alone"
        )
    examples = getattr(args, "cfg_examples", "lines")  # lines unless the flag says otherwise (and is refused then)
    return dataclasses.replace(cfg, num_labels=len(corpus.labels), examples=examples)


def _resume_inputs(args: argparse.Namespace):
    """Family, configuration, corpus, tokenizer and data description of the run named by ``--resume``."""
    from lmlab.cli.common import resume_inputs
    from lmlab.data import data_changes, data_fingerprint, load_corpus
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


def _streamed_inputs(args: argparse.Namespace):
    """Corpus, tokenizer and data fingerprint of a model estimated within a memory budget (an n-gram model's
    ``--memory``), with the training split of a plain text corpus left in its file (:mod:`lmlab.data.streamed`): read
    a block at a time, once to hash it and train the tokenizer, once more by the estimator. The same splits,
    tokenizer and fingerprint as the corpus read whole; None for a corpus that is read whole (a labelled one)."""
    from lmlab.data.streamed import stream_corpus

    corpus = stream_corpus(args.data, encoding_errors=args.encoding_errors)
    if corpus is None:
        return None
    lines = corpus.scan()  # its end reads the other splits and checks the corpus
    try:
        # the word and char tokenizers count the lines as they pass; BPE's trainer takes them held in a list
        tokenizer = build_tokenizer(args, list(lines) if args.tokenizer == "bpe" else lines)
    except LmlabError:
        collections.deque(lines, maxlen=0)  # an error in the corpus comes first, as when it is read whole
        raise
    collections.deque(lines, maxlen=0)  # a tokenizer file reads no line; the scan still hashes and checks them
    return corpus, tokenizer, corpus.fingerprint()


def train(args: argparse.Namespace) -> int:
    from lmlab.data import data_fingerprint
    from lmlab.lm.evaluate import evaluate as evaluate_model

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
        streamed = _streamed_inputs(args) if getattr(cfg, "memory", None) is not None else None
        if streamed is not None:
            corpus, tokenizer, fingerprint = streamed
        else:
            corpus = read_corpus(args)
            cfg = condition_on_labels(cfg, family, corpus, args)
            tokenizer = build_tokenizer(args, corpus.train)
            fingerprint = data_fingerprint(corpus)
        data_info = {**fingerprint, "source": corpus.source, "encoding_errors": args.encoding_errors}
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
            r = evaluate_model(model, corpus.valid, _labels_for(model, corpus, "valid"))
        except LmlabError as e:  # the model is trained and saved; only this report cannot be made
            print(f"lmlab: warning: no validation perplexity: {e}", file=sys.stderr)
        else:
            print(f"valid perplexity {r.perplexity:.2f} ({r.tokens:,} tokens, {r.oov:,} OOV)")
    return 0


def _labels_for(model, corpus, split: str) -> list[str] | None:
    """The labels of ``split`` for a model conditioned on them; None otherwise."""
    from lmlab.data import LabelledCorpus

    return corpus.labels_of(split) if model.labels and isinstance(corpus, LabelledCorpus) else None


def _checkpoint_step(run: Path) -> int:
    from lmlab.train.checkpoint import read_checkpoint_info

    return read_checkpoint_info(run)["step"]


#: The seed of the permutation that shuffles the labels in ``lmlab eval`` of a conditioned model.
SHUFFLE_SEED = 0


def evaluate(args: argparse.Namespace) -> int:
    from lmlab.lm.evaluate import evaluate as evaluate_model
    from lmlab.lm.evaluate import evaluate_labelled
    from lmlab.lm.run import load_model

    model, run_cfg = load_model(args.run)
    note = unfinished_note(args.run, run_cfg)
    if note:
        print(f"lmlab: warning: {note}", file=sys.stderr)
    lines, labels, where = eval_lines(args, run_cfg)
    if labels is None and model.labels:
        raise LmlabError(
            f"this {model.family} model is conditioned on a label ({', '.join(model.labels)}), and {where} has "
            "none; evaluate it on a labelled corpus (--data, or --text FILE.tsv of label<TAB>text lines)"
        )
    if labels is None:
        r = evaluate_model(model, lines)
        if args.json:
            print(json.dumps({"data": where, "family": model.family, **r.to_dict()}))
        else:
            print(r.summary(where))
        return 0
    result = evaluate_labelled(model, lines, labels, seed=SHUFFLE_SEED)
    if args.json:
        print(json.dumps({"data": where, "family": model.family, **result.to_dict()}))
        return 0
    r = result.given
    print(r.summary(where) + (", each line given its label" if model.labels else ""))
    if result.shuffled is not None:
        shuffled_ppl = result.shuffled.perplexity
        print(f"with the labels shuffled among the lines (seed {SHUFFLE_SEED}): perplexity {shuffled_ppl:.2f}")
    width = max(len(label) for label in result.per_label)
    shuffled = result.shuffled is not None
    print(f"{'label':<{width}}  {'lines':>6}  {'tokens':>7}  {'perplexity':>10}" + ("  shuffled" if shuffled else ""))
    for label, e in result.per_label.items():
        row = f"{label:<{width}}  {e['lines']:>6,}  {e['tokens']:>7,}  {e['perplexity']:>10.2f}"
        print(row + (f"  {e['shuffled_perplexity']:>8.2f}" if shuffled else ""))
    return 0


def plot_attention(layers: list, labels: list[str], out: Path, title: str) -> None:
    """layers: one (n_head, T, T) array per layer; a grid of layers (rows) by heads (columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from lmlab.io import atomic_open

    n_layer, n_head = len(layers), len(layers[0])
    T = len(labels)
    size = max(2.0, 0.28 * T + 1)
    fig, axes = plt.subplots(n_layer, n_head, figsize=(size * n_head, size * n_layer), squeeze=False)
    for layer, w in enumerate(layers):
        for head in range(n_head):
            ax = axes[layer][head]
            ax.imshow(np.asarray(w[head], dtype=np.float64), cmap="viridis", vmin=0.0, vmax=1.0)
            ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=8)
            ax.set_xticks(range(T), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(T), labels, fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


def attention(run, args: argparse.Namespace) -> int:
    """``lmlab attention RUN --text T --out FILE.png``: every layer and head of a Transformer's
    ``run.explain(text)`` as heat maps, for the text's last :data:`MAX_POSITIONS` positions at most."""
    if Path(args.out).suffix.lower() != ".png":
        raise LmlabError(f"--out must end in .png, got {args.out!r}")
    view = run.explain(args.text, max_tokens=MAX_POSITIONS)
    if view["method"] != "attention":
        raise LmlabError(f"a {run.family} model has no attention weights to draw; use a transformer run")
    layers = [layer["heads"] for layer in view["layers"]]
    labels = [repr(token)[1:-1] for token in view["tokens"]]  # a newline or a tab shown escaped
    plot_attention(layers, labels, Path(args.out), f"{args.run}: {args.text[:60]}")
    shown = f"the last {len(labels)} of {view['num_tokens']}" if view["truncated"] else f"{len(labels)}"
    print(f"wrote {args.out} ({len(layers)} layers x {len(layers[0])} heads, {shown} positions)")
    return 0


def export(args: argparse.Namespace) -> int:
    """``lmlab export RUN --format arpa``: a back-off n-gram model as an ARPA file."""
    from lmlab.lm.run import load_model

    if args.format != "arpa":
        raise LmlabError(f"--format {args.format} is not a format of this model; it exports as --format arpa")
    model, _ = load_model(args.run)
    writer = getattr(model, "write_arpa", None)
    if writer is None:
        raise LmlabError(f"ARPA export is for back-off n-gram models; this run is a {model.family} model")
    writer(args.out)
    print(f"wrote {args.out}")
    return 0


__all__ = ["add_train_flags", "attention", "eval_lines", "evaluate", "export", "train"]
