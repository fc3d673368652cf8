"""The image task's command-line parts: ``lmlab train --task image``, ``eval``, ``classify --image`` and
``plot --filters / --feature-maps``.

``lmlab train --task image --model MODEL --data mnist --out RUN`` reads the images (see
:mod:`lmlab.vision.data`), and trains the family on the engine with its recipe (:data:`lmlab.vision.task.RECIPES`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from lmlab.cli.common import SeedFlag, check_seed
from lmlab.cli.config_args import add_config_flags, build_config, read_toml
from lmlab.errors import LmlabError

#: The most pixels of an image given with --image: more than any camera's photo. A PNG of a few kB can claim
#: billions of pixels (a decompression bomb), so the size is read from the header and checked before decoding.


def add_train_flags(p: argparse.ArgumentParser, name: str | None, resuming: bool) -> None:
    from lmlab.vision.models import IMAGE_MODELS

    g = p.add_argument_group("image data")
    g.add_argument(
        "--data",
        required=not resuming,
        metavar="DATA",
        help="mnist, a folder of MNIST IDX files, or a folder of images in class subfolders (DATA/train/<class>/*.png)",
    )
    g.add_argument(
        "--split-seed",
        action=SeedFlag,
        default=0,
        help="seed of the stratified split when one is made, 0 to 2**63 - 1 (default 0)",
    )
    g.add_argument("--image-size", type=int, help="folders of images: resize every image to N x N")
    g.add_argument("--image-channels", type=int, choices=[1, 3], help="folders of images: 1 (grey) or 3 (colour)")
    # `lmlab compare` passes --tokenizer to every task's training; images have none
    g.add_argument("--tokenizer", default="none", help=argparse.SUPPRESS)
    p.set_defaults(encoding_errors="strict")
    if name in IMAGE_MODELS:
        entry = IMAGE_MODELS[name]
        add_config_flags(p, entry.train_config_class(), f"{name} hyperparameters", exclude=entry.data_fields)


def _load(spec: str, saved: dict[str, Any] | None, args: argparse.Namespace):
    from lmlab.vision.data import load_image_data, refuse_image_bombs

    saved = saved or {}
    split_seed = int(saved.get("split_seed", getattr(args, "split_seed", 0)))
    check_seed(split_seed, "--split-seed")  # a run's own may have been edited
    with refuse_image_bombs(str(spec)):
        return load_image_data(
            spec,
            split_seed=split_seed,
            image_size=saved.get("image_size", getattr(args, "image_size", None)),
            channels=saved.get("channels", getattr(args, "image_channels", None)),
        )


def read_user_image(path: str, pre) -> Any:
    """``--image FILE`` made as the run's images are (``pre``: the run's preprocessing), or one line naming
    ``--image``: see :func:`lmlab.vision.data.read_one_image`."""
    from lmlab.vision.data import read_one_image

    return read_one_image(path, pre, "--image")


def train(args: argparse.Namespace) -> int:
    from lmlab.cli.common import check_seed
    from lmlab.train_options import TrainOptions
    from lmlab.vision.data import data_info
    from lmlab.vision.models import get_image_model
    from lmlab.vision.task import train_image_classifier

    check_seed(args.seed)
    if args.tokenizer != "none":
        raise LmlabError(f"--tokenizer {args.tokenizer}: image models read pixels, not tokens; drop --tokenizer")
    if args.preset:
        raise LmlabError("--preset is for language models; image models start from their family's recipe")
    if args.resume:
        from lmlab.cli.common import resume_inputs

        run_dir, info = resume_inputs(args)
        entry = get_image_model(info.get("family", ""))
        saved = info.get("data", {})
        data = _load(saved.get("spec", ""), saved, args)
        cfg = build_config(
            entry.train_config_class(), args, preset=info.get("config", {}), source=f"checkpoint of {run_dir}"
        )
        opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=saved, resume=True)
        out = run_dir
    else:
        entry = get_image_model(args.model)
        data = _load(args.data, None, args)
        C, H, _ = data.shape
        file_values = read_toml(args.config) if args.config else None
        cfg = build_config(
            entry.train_config_class(),
            args,
            file_values=file_values,
            preset=entry.recipe,
            source=f"--config {args.config}",
            fixed=entry.data_values(C, H, len(data.classes)),
        )
        info = data_info(args.data, data, args.split_seed, args.image_size, args.image_channels)
        opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=info)
        out = Path(args.out)
    t0 = time.perf_counter()
    classifier = train_image_classifier(cfg, data, opts, out)
    seconds = time.perf_counter() - t0
    valid = ""
    if len(data.valid):
        from lmlab.vision.task import evaluate_image_run

        r = evaluate_image_run(classifier, data.valid, data.classes)
        valid = f"; valid accuracy {r['accuracy']:.2%}"
    print(
        f"trained {entry.name} ({classifier.num_parameters():,} parameters, {len(data.classes)} classes, "
        f"{len(data.train):,} training images) in {seconds:.2f} s{valid} -> {out}"
    )
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from lmlab.vision.task import evaluate_image_run, load_image_classifier

    if args.text:
        raise LmlabError("--text is for text models; evaluate an image run on --data DATA --split SPLIT")
    classifier, run_cfg = load_image_classifier(args.run)
    saved = run_cfg.get("data", {}) if isinstance(run_cfg.get("data"), dict) else {}
    spec = args.data or saved.get("spec")
    if not spec:
        raise LmlabError("this run records no dataset; pass --data DATA")
    data = _load(spec, saved if not args.data else None, args)
    if not args.data:
        expected = saved.get("sha256", {}).get(args.split)
        if expected and expected != data.split(args.split).sha256():
            import sys

            print(f"lmlab: warning: {spec}: its {args.split} images changed since training", file=sys.stderr)
    where = f"{spec}:{args.split}"
    r = evaluate_image_run(classifier, data.split(args.split), data.classes, args.confusion, where)
    if args.json:
        print(json.dumps({"data": where, "family": run_cfg.get("family"), **r}))
    else:
        print(f"{where}: accuracy {r['accuracy']:.2%}, macro-F1 {r['macro_f1']:.4f}, {r['examples']:,} images")
        for label, m in r["per_class"].items():
            print(
                f"  {label}: precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f} "
                f"({m['support']:,} images)"
            )
    return 0


def attention(run, args: argparse.Namespace) -> int:
    raise LmlabError(
        f"{args.run} is an image classifier: draw what it sees with lmlab plot RUN --filters or --feature-maps "
        "--image FILE.png"
    )


def plot_network(args: argparse.Namespace) -> int:
    """``lmlab plot RUN --filters`` or ``--feature-maps --image FILE``: what the network has learned to look for."""
    from lmlab.vision.task import load_image_classifier
    from lmlab.vision.visualize import plot_feature_maps, plot_filters

    classifier, run_cfg = load_image_classifier(args.run)
    out = Path(args.out) if args.out else Path(args.run) / ("filters.png" if args.filters else "feature-maps.png")
    if out.suffix.lower() != ".png":
        raise LmlabError(f"--out must end in .png, got {str(out)!r}")
    title = f"{Path(args.run).resolve().name} ({run_cfg.get('family')})"
    if args.filters:
        weights = classifier.net.filters()
        plot_filters(weights, out, title=f"{title}: first-layer filters")
        print(f"wrote {out} ({weights.shape[0]} filters of {weights.shape[2]}x{weights.shape[3]})")
        return 0
    if not args.image:
        raise LmlabError("--feature-maps needs --image FILE.png (the image whose maps to draw)")
    image = read_user_image(args.image, classifier.preprocess)
    maps = classifier.feature_maps(image)
    probs = classifier.predict_proba(image[None])[0]
    label = classifier.classes[int(probs.argmax())]
    plot_feature_maps(image, maps, out, title=f"{title}: predicted {label} ({probs.max():.1%})")
    print(f"wrote {out} ({len(maps)} stages); predicted {label} ({probs.max():.1%})")
    return 0


__all__ = ["add_train_flags", "attention", "evaluate", "plot_network", "train"]
