"""The text ``lmlab eval`` scores with a language model: every line of ``--text FILE`` (of a ``label<TAB>text`` .tsv
file, with its labels), or a split of a corpus (``--data``, else the one the run was trained on).

Kept apart from the command's other parts (:mod:`lmlab.lm.cli`), so that a model evaluated without NumPy (a
model file, :mod:`lmlab.lm.ngram.lean`) reads its text through the same functions without importing them.
"""

from __future__ import annotations

import os
import sys

from lmlab.data.lines import check_input_file
from lmlab.errors import LmlabError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    import argparse


def labelled_text(path: str) -> bool:
    """Whether ``--text`` names a file of ``label<TAB>text`` lines: its name ends in ``.tsv``, in any case.

    >>> labelled_text("dev.TSV"), labelled_text("dev.txt"), labelled_text(".tsv")
    (True, False, False)
    """
    return os.path.splitext(path)[1].lower() == ".tsv"


def read_eval_text(args: argparse.Namespace, run_cfg: dict) -> tuple[list[str], list[str] | None, str, str | None]:
    """The lines to evaluate, their labels (None for a corpus without them), where they came from, and the warning
    to print before the figures (a corpus changed since training; None: none), read without printing anything."""
    if args.text:
        check_input_file(args.text, "--text")
        if labelled_text(args.text):  # label<TAB>text lines, every one evaluated
            from pathlib import Path

            from lmlab.data.labelled import read_label_tab_text

            texts, labels = read_label_tab_text(Path(args.text), encoding_errors=args.encoding_errors)
            return texts, labels, args.text, None
        from lmlab.data.lines import read_lines

        return read_lines(args.text, encoding_errors=args.encoding_errors), None, args.text, None
    from lmlab.data import LabelledCorpus, data_changes, load_corpus

    spec = args.data or run_cfg.get("data", {}).get("spec")
    if not spec:
        raise LmlabError("this model records no corpus; pass --data DATA or --text FILE")
    errors = args.encoding_errors if args.data else run_cfg.get("data", {}).get("encoding_errors", "strict")
    corpus = load_corpus(spec, encoding_errors=errors)
    warning = None
    if not args.data and (changed := data_changes(run_cfg.get("data", {}), corpus)):
        warning = f"{spec}: its contents changed since training ({'/'.join(changed)})"
    labels = corpus.labels_of(args.split) if isinstance(corpus, LabelledCorpus) else None
    return corpus.split(args.split), labels, f"{spec}:{args.split}", warning


def eval_lines(args: argparse.Namespace, run_cfg: dict) -> tuple[list[str], list[str] | None, str]:
    """The lines to evaluate, their labels and where they came from (:func:`read_eval_text`), its warning
    printed."""
    lines, labels, where, warning = read_eval_text(args, run_cfg)
    if warning:
        print(f"lmlab: warning: {warning}", file=sys.stderr)
    return lines, labels, where


__all__ = ["eval_lines", "labelled_text", "read_eval_text"]
