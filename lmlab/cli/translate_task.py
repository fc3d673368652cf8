"""The translation task's command-line parts: ``lmlab train --task translate``, ``eval``, ``attention``.

``lmlab train --task translate --model MODEL --data multi30k --src de --tgt en --out RUN`` reads a parallel
dataset (:mod:`lmlab.translate.data`), trains a tokenizer per side (or one for both, ``--joint-vocab``) on the
training sentences, and trains the family on the engine. ``lmlab eval RUN`` translates a split with the run's
decoding settings and reports sacreBLEU's BLEU and chrF with their signatures and the target-side perplexity;
``lmlab attention RUN --text ...`` draws the source-target alignment of a sentence's translation.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lmlab.cli.config_args import add_config_flags, build_config, read_toml
from lmlab.errors import LmlabError

log = logging.getLogger(__name__)

#: Stand-in vocabulary values for checking the flags before the tokenizers are trained (seconds on Multi30k).
_PROVISIONAL = {"src_vocab_size": 1000, "tgt_vocab_size": 1000, "bos_id": 2, "eos_id": 3}


def add_train_flags(p: argparse.ArgumentParser, name: str | None, resuming: bool) -> None:
    from lmlab.translate.models import TRANSLATORS
    from lmlab.translate.vocab import TokenizerOptions

    g = p.add_argument_group("parallel data")
    g.add_argument(
        "--data",
        required=not resuming,
        metavar="DATA",
        help="a named parallel dataset (multi30k) or a folder with train.SRC, train.TGT, valid.SRC, valid.TGT, "
        "test.SRC and test.TGT (or Multi30k's names: val.L, test_2016_flickr.L)",
    )
    g.add_argument("--src", metavar="LANG", help="the source language: the files' suffix (multi30k: de, the default)")
    g.add_argument("--tgt", metavar="LANG", help="the target language (multi30k: en, the default)")
    g.add_argument(
        "--encoding-errors",
        choices=["strict", "replace"],
        default="strict",
        help="what to do with bytes that are not UTF-8 (default: strict, stop with the file and offset)",
    )
    t = p.add_argument_group("vocabularies")
    d = TokenizerOptions()
    t.add_argument("--tokenizer", default=d.kind, choices=["bpe", "word"], help=f"(default: {d.kind})")
    t.add_argument(
        "--vocab-size", type=int, default=d.vocab_size, help=f"bpe: tokens per side (default: {d.vocab_size})"
    )
    t.add_argument("--joint-vocab", action="store_true", help="one vocabulary trained on both sides")
    t.add_argument(
        "--byte-level",
        action=argparse.BooleanOptionalAction,
        default=d.byte_level,
        help="bpe: byte-level, which decodes exactly (default: on; off: character mode, whitespace normalised)",
    )
    t.add_argument("--lowercase", action="store_true", help="word: lowercase the text")
    t.add_argument("--min-freq", type=int, default=1, help="word: keep words seen at least this often (default: 1)")
    t.add_argument("--max-vocab", type=int, default=None, help="word: keep at most this many tokens per side")
    if name in TRANSLATORS:
        from lmlab.translate.presets import family_presets

        presets = family_presets(name)
        if presets:
            p.formatter_class = _LineFormatter
            listing = "\n".join(f"{preset}: {summary}" for preset, summary in presets.items())
            p.add_argument_group(f"{name} presets (--preset NAME; the default is sized for minutes)", listing)
        entry = TRANSLATORS[name]
        cls = entry.train_config_class()
        from lmlab.translate.task import RECIPES  # imported with the class: the family's recipe is its default

        add_config_flags(p, cls, f"{name} hyperparameters", exclude=entry.data_fields, defaults=RECIPES.get(name))


class _LineFormatter(argparse.HelpFormatter):
    """Help whose descriptions keep their line breaks (one entry per preset), each line wrapped by itself under a
    hanging indent, never inside a hyphenated word ("620-d", "multi30k-bahdanau")."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        lines = (" ".join(line.split()) for line in text.splitlines())
        wrap = functools.partial(textwrap.fill, width=width, initial_indent=indent, subsequent_indent=indent + "  ")
        return "\n".join(wrap(line, break_on_hyphens=False) for line in lines)


def _load_data(spec: str, src: str | None, tgt: str | None, encoding_errors: str):
    from lmlab.translate.data import load_parallel_data

    return load_parallel_data(spec, src, tgt, encoding_errors=encoding_errors)


def _data_info(args: argparse.Namespace, data, tok_opts) -> dict[str, Any]:
    from lmlab.data.registry import DATASETS

    spec = str(args.data) if str(args.data) in DATASETS else data.source
    return {
        "spec": spec,
        "source": data.source,
        "src": data.src_lang,
        "tgt": data.tgt_lang,
        "encoding_errors": args.encoding_errors,
        "sha256": data.fingerprint(),
        "files": data.files,
        "sizes": {"train": len(data.train), "valid": len(data.valid), "test": len(data.test)},
        "notes": list(data.notes),
        "tokenizer": asdict(tok_opts),
    }


def train(args: argparse.Namespace) -> int:
    from lmlab.cli.common import check_seed
    from lmlab.train_options import TrainOptions
    from lmlab.translate.models import get_translator
    from lmlab.translate.vocab import TokenizerOptions, build_vocabularies

    if args.resume:
        return _resume(args)
    entry = get_translator(args.model)
    check_seed(args.seed)
    recipe = dict(entry.recipe or {})
    if args.preset:
        from lmlab.translate.presets import get_preset

        recipe |= get_preset(args.preset, args.model)
    file_values = read_toml(args.config) if args.config else None
    source = f"--config {args.config}"
    cls = entry.train_config_class()
    build_config(cls, args, file_values=file_values, preset=recipe, source=source, fixed=_PROVISIONAL)
    tok_opts = TokenizerOptions(
        kind=args.tokenizer,
        vocab_size=args.vocab_size,
        joint=args.joint_vocab,
        byte_level=args.byte_level,
        lowercase=args.lowercase,
        min_freq=args.min_freq,
        max_vocab=args.max_vocab,
    )
    data = _load_data(args.data, args.src, args.tgt, args.encoding_errors)
    from lmlab.translate.data import usable_pairs

    keep = usable_pairs(data.train)
    if not keep:
        raise LmlabError(f"{data.files['train'][0]}: no training pair has text on both sides")
    vocabs = build_vocabularies([data.train.src[i] for i in keep], [data.train.tgt[i] for i in keep], tok_opts)
    fixed = _vocab_values(vocabs)
    cfg = build_config(cls, args, file_values=file_values, preset=recipe, source=source, fixed=fixed)
    if getattr(cfg, "share_embeddings", False) and not vocabs.joint:
        raise LmlabError("--share-embeddings needs one vocabulary for both sides: add --joint-vocab")
    opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=_data_info(args, data, tok_opts))
    return _train(entry, cfg, data, vocabs, opts, Path(args.out))


def _vocab_values(vocabs) -> dict[str, int]:
    return {
        "src_vocab_size": vocabs.src_size,
        "tgt_vocab_size": vocabs.tgt_size,
        "bos_id": vocabs.tgt.bos_id + 1,
        "eos_id": vocabs.tgt.eos_id + 1,
    }


def _resume(args: argparse.Namespace) -> int:
    from lmlab.cli.common import resume_inputs
    from lmlab.tokenizers import load_tokenizer
    from lmlab.train_options import TrainOptions
    from lmlab.translate.models import get_translator
    from lmlab.translate.vocab import JOINT_FILE, SRC_FILE, TGT_FILE, Vocabularies

    run_dir, info = resume_inputs(args)
    entry = get_translator(info.get("family", ""))
    if args.model and args.model != entry.name:
        raise LmlabError(f"--resume {run_dir} is a {entry.name} run, not --model {args.model}")
    saved = info.get("data", {})
    data = _load_data(saved.get("spec", ""), saved.get("src"), saved.get("tgt"), saved.get("encoding_errors", "strict"))
    if (run_dir / JOINT_FILE).is_file():
        shared = load_tokenizer(run_dir / JOINT_FILE)
        vocabs = Vocabularies(shared, shared)
    else:
        vocabs = Vocabularies(load_tokenizer(run_dir / SRC_FILE), load_tokenizer(run_dir / TGT_FILE))
    cfg = build_config(
        entry.train_config_class(), args, preset=info.get("config", {}), source=f"checkpoint of {run_dir}"
    )
    opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=saved, resume=True)
    return _train(entry, cfg, data, vocabs, opts, run_dir)


def _train(entry, cfg, data, vocabs, opts, out: Path) -> int:
    from lmlab.translate.task import train_translator

    t0 = time.perf_counter()
    translator = train_translator(cfg, data, vocabs, opts, out)
    seconds = time.perf_counter() - t0
    stats = json.loads((out / "config.json").read_text(encoding="utf-8")).get("stats", {})
    best = ""
    if "best_val_bleu" in stats:
        best = f"; best valid BLEU {stats['best_val_bleu']:.2f} (beam {cfg.val_beam})"
    elif "best_val_perplexity" in stats:
        best = f"; best valid perplexity {stats['best_val_perplexity']:.2f}"
    joint = " (joint)" if vocabs.joint else ""
    print(
        f"trained {entry.name} {data.src_lang}->{data.tgt_lang} ({translator.num_parameters():,} parameters, "
        f"vocabularies {vocabs.src_size - 1:,}/{vocabs.tgt_size - 1:,}{joint}, {len(data.train):,} training pairs) "
        f"in {seconds:.2f} s{best} -> {out}"
    )
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from lmlab.runconfig import unfinished_note
    from lmlab.translate.task import evaluate_translator, load_translator

    translator, run_cfg = load_translator(args.run)
    if args.text:
        raise LmlabError(
            "a translation run is evaluated on a split of a parallel dataset (--data DATA --split S), not on one "
            "side's --text"
        )
    if args.confusion:
        raise LmlabError("--confusion is for classifiers")
    note = unfinished_note(args.run, run_cfg)
    if note:
        print(f"lmlab: warning: {note}", file=sys.stderr)
    saved = run_cfg.get("data", {})
    languages = run_cfg.get("languages", {})
    spec = args.data or saved.get("spec")
    if not spec:
        raise LmlabError("this run records no dataset; pass --data DATA")
    errors = args.encoding_errors if args.data else saved.get("encoding_errors", "strict")
    data = _load_data(spec, languages.get("src"), languages.get("tgt"), errors)
    recorded = saved.get("sha256", {}).get(args.split) if not args.data else None
    if recorded and recorded != data.fingerprint()[args.split]:
        print(f"lmlab: warning: {spec}: its {args.split} split changed since training", file=sys.stderr)
    r = evaluate_translator(translator, data.split(args.split))
    for what in ("sources", "targets"):
        if r[f"truncated_{what}"]:
            print(
                f"lmlab: warning: {r[f'truncated_{what}']:,} {what} longer than the model's limit of "
                f"{translator.cfg.max_len} tokens were cut to it",
                file=sys.stderr,
            )
    where = f"{spec}:{args.split}"
    r.pop("translations")
    if args.json:
        print(json.dumps({"data": where, "family": run_cfg.get("family"), **languages, **r}))
    else:
        print(
            f"{where} ({data.src_lang}->{data.tgt_lang}): BLEU {r['bleu']:.2f}, chrF {r['chrf']:.2f}, perplexity "
            f"{r['perplexity']:.2f} ({r['sentences']:,} sentences, beam {r['beam']})\n"
            f"  {r['sacrebleu_signature']}"
        )
    return 0


def attention(run, args: argparse.Namespace) -> int:
    """``lmlab attention RUN --text SOURCE --out FILE.png``: the cross-attention of ``run.explain(source)``
    (every layer and head of a Transformer and their mean; one matrix for an RNN with attention)."""
    import numpy as np

    from lmlab.translate.visualize import plot_alignment

    if Path(args.out).suffix.lower() != ".png":
        raise LmlabError(f"--out must end in .png, got {args.out!r}")
    view = run.explain(args.text)
    if view["alignment"] is None:
        raise LmlabError(f"a {run.family} model has no attention to draw; train bahdanau, luong or transformer")
    weights = np.asarray([layer["heads"] for layer in view["layers"]], dtype=np.float64)  # (L, h, T, S)
    src, tgt, translation = view["source_tokens"], view["target_tokens"], view["translation"]
    n = plot_alignment(weights, src, tgt, args.out, f"{args.text[:60]}  ->  {translation[:60]}")
    L, h = weights.shape[:2]
    panels = "1 matrix" if n == 1 else f"{L} layers x {h} heads and their mean"
    print(f"wrote {args.out} ({panels}; {len(src)} source x {len(tgt)} target tokens): {translation}")
    return 0


__all__ = ["add_train_flags", "attention", "evaluate", "train"]
