"""The text ``lmlab eval`` scores with a language model: every line of ``--text FILE`` (of a ``label<TAB>text`` .tsv
file, with its labels), or a split of a corpus (``--data``, else the one the run was trained on).

Kept apart from the command's other parts (:mod:`lmlab.lm.cli`), so that a model evaluated without NumPy (a
model file, :mod:`lmlab.lm.ngram.lean`) reads its text through the same function without importing them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lmlab.cli.common import check_input_file
from lmlab.errors import LmlabError


def eval_lines(
    args: argparse.Namespace, run_cfg: dict, *, unlabelled_only: bool = False
) -> tuple[list[str], list[str] | None, str] | None:
    """The lines to evaluate, their labels (None for a corpus without them) and where they came from.

    With ``unlabelled_only``, None instead for labelled lines (a .tsv file, a labelled corpus), found before any
    warning is printed, so that the caller can hand the command over to the path that evaluates them.
    """
    if args.text:
        check_input_file(args.text, "--text")
        if Path(args.text).suffix.lower() == ".tsv":  # label<TAB>text lines, every one evaluated
            if unlabelled_only:
                return None
            from lmlab.data.labelled import read_label_tab_text

            texts, labels = read_label_tab_text(Path(args.text), encoding_errors=args.encoding_errors)
            return texts, labels, args.text
        from lmlab.data.lines import read_lines

        return read_lines(args.text, encoding_errors=args.encoding_errors), None, args.text
    from lmlab.data import LabelledCorpus, data_changes, load_corpus

    spec = args.data or run_cfg.get("data", {}).get("spec")
    if not spec:
        raise LmlabError("this model records no corpus; pass --data DATA or --text FILE")
    errors = args.encoding_errors if args.data else run_cfg.get("data", {}).get("encoding_errors", "strict")
    corpus = load_corpus(spec, encoding_errors=errors)
    labelled = isinstance(corpus, LabelledCorpus)
    if labelled and unlabelled_only:
        return None
    if not args.data and (changed := data_changes(run_cfg.get("data", {}), corpus)):
        print(f"lmlab: warning: {spec}: its contents changed since training ({'/'.join(changed)})", file=sys.stderr)
    labels = corpus.labels_of(args.split) if labelled else None
    return corpus.split(args.split), labels, f"{spec}:{args.split}"


__all__ = ["eval_lines"]
