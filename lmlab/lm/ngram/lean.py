"""``lmlab eval`` of an n-gram run with a model file, without NumPy: what the general path computes (load the model,
read the text, encode it, score it, report), with the tokenizer's compiled encoder giving int32 ids, the compiled
scorer reading the mapped file in place and adding the log-probabilities up as NumPy would, so that the command
starts scoring at once instead of after NumPy's import (about 0.1-0.2 s, several times the work itself).

It is the path ``lmlab eval`` takes for every n-gram run that has a model file (the n-gram family declares it in
:data:`lmlab.lm.models.FAMILIES`), and it prints the same figures, in the same form, as the general path
(:func:`lmlab.lm.cli.evaluate`); tests hold the two equal. Where it cannot answer as the general path would, it
hands the command over before doing anything a user would see (``None``): a run written before model files, a
tokenizer without a compiled encoder (BPE) or extensions not built, labelled text, an estimator that gives scores
rather than probabilities, or a configuration that is not one lmlab writes (the general path names what is wrong).
"""

from __future__ import annotations

import math
import os
import sys

from lmlab import fastjson
from lmlab.errors import LmlabError
from lmlab.lm.ngram import fast
from lmlab.lm.ngram.modelfile import (
    MAX_ORDER,
    WEIGHTS_FILE,
    ModelFile,
    check_bos_unigram,
    check_model_file,
    effective_order,
    lower_order_note,
)
from lmlab.runfiles import is_type

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    import argparse
    from typing import Any

#: The smoothings whose models give probabilities, as saved in ``config.json`` (``stupid-backoff`` gives scores:
#: the general path says so); ``imported`` is a model read from an ARPA file.
NORMALIZED_SMOOTHINGS = (
    "mle",
    "add-k",
    "absolute-discount",
    "witten-bell",
    "katz",
    "kneser-ney",
    "modified-kneser-ney",
    "imported",
)
#: The smoothings that prune (``NgramConfig`` refuses pruning thresholds with the others).
PRUNING_SMOOTHINGS = ("modified-kneser-ney", "kneser-ney")
#: The type of each field of a saved n-gram configuration (``NgramConfig``'s, and what the model saves beside them)
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "order": (int,),
    "smoothing": (str,),
    "k": (float,),
    "discount": (float,),
    "alpha": (float,),
    "interpolate_unigrams": (bool,),
    "temp_dir": (str, type(None)),
    "prune": (list, type(None)),
    "missing_context_bow": (float,),
    "discounts": (list, type(None)),
}
#: Fields a saved configuration never holds (``NgramLM.config_dict`` drops them): present, the general path reads them
_NOT_SAVED = ("memory", "limit_vocab_file")


def plain_config(model: Any) -> bool:
    """Whether a run's saved n-gram configuration is one the general path accepts as it is and whose model gives
    probabilities: known fields of their types, an order of 1 to MAX_ORDER, a normalized smoothing, pruning
    thresholds as lmplz takes them (counts >= 0, not decreasing, Kneser-Ney only).

    >>> plain_config({"order": 3, "smoothing": "modified-kneser-ney", "prune": [0, 1, 1]})
    True
    >>> plain_config({"order": 3, "smoothing": "stupid-backoff"}), plain_config({"order": 11})
    (False, False)
    """
    if not isinstance(model, dict) or any(name in model for name in _NOT_SAVED):
        return False
    for name, types in _FIELD_TYPES.items():
        if name in model and not any(is_type(model[name], tp) for tp in types):
            return False
    order = model.get("order", 5)
    if not 1 <= order <= MAX_ORDER or model.get("smoothing", "modified-kneser-ney") not in NORMALIZED_SMOOTHINGS:
        return False
    discounts = model.get("discounts")
    if discounts is not None and not all(isinstance(d, list) and all(is_type(x, float) for x in d) for d in discounts):
        return False
    prune = model.get("prune")
    if prune is not None:
        ok = 1 <= len(prune) <= order and all(is_type(t, int) and t >= 0 for t in prune)
        if not ok or any(b < a for a, b in zip(prune, prune[1:])):
            return False
        if any(prune) and model.get("smoothing", "modified-kneser-ney") not in PRUNING_SMOOTHINGS:
            return False
    return True


def evaluate_run(args: argparse.Namespace, run_dir: str, run_cfg: dict[str, Any]) -> int | None:
    """``lmlab eval RUN`` for an n-gram run with a model file (see the module docstring); None hands the command to
    the general path, before anything is printed."""
    from lmlab.lm.eval_text import labelled_text, read_eval_text
    from lmlab.lm.perplexity import perplexity_from_total, zero_probability_message
    from lmlab.runconfig import load_run_tokenizer, unfinished_note

    path = os.path.join(run_dir, WEIGHTS_FILE)
    if not fast.available() or not plain_config(run_cfg.get("model")) or not os.path.exists(path):
        return None
    if args.text and labelled_text(args.text):  # label<TAB>text lines: the general path reports per label
        return None
    tokenizer = load_run_tokenizer(run_dir, run_cfg)
    encode = tokenizer.compiled_encoder()
    if encode is None:
        return None
    mapped = ModelFile(path)
    check_model_file(path, mapped.order, mapped.vocab_size, run_cfg["model"].get("order", 5), tokenizer.vocab_size)
    bos_log10_p = memoryview(mapped.view("logp.1")).cast("d")[tokenizer.bos_id]
    check_bos_unigram(path, bos_log10_p)
    text = None
    if not args.text:  # a corpus may turn out labelled: know before printing anything
        text = read_eval_text(args, run_cfg)
        if text[1] is not None:
            return None
    # what the general path prints before its figures, in its order: loading, the run's state, reading the text
    # printed as lmlab's log prints the general path's warning: this path sets up no logging (its import would be
    # about a tenth of the command's time; lmlab.cli.main.setup_logging)
    if (n := effective_order(mapped.sizes)) < mapped.order:
        print(f"lmlab: warning: {lower_order_note(mapped.order, n)}", file=sys.stderr)
    if note := unfinished_note(args.run, run_cfg):
        print(f"lmlab: warning: {note}", file=sys.stderr)
    lines, _, where, warning = text or read_eval_text(args, run_cfg)
    if warning:
        print(f"lmlab: warning: {warning}", file=sys.stderr)

    ids, oov = encode(lines)
    log10_p = fast.log10_stream_file(mapped, ids, tokenizer.bos_id, tokenizer.eos_id)
    total, bad, first = fast.ln_total(log10_p, math.log(10.0))
    tokens = len(log10_p) // 8
    if bad:
        token = tokenizer.id_to_token(memoryview(ids).cast("i")[first])
        raise LmlabError(zero_probability_message(bad, tokens, token, first))
    r = perplexity_from_total(total, tokens, oov=oov, lines=len(lines))
    if args.json:
        print(fastjson.dumps({"data": where, "family": run_cfg["family"], **r.to_dict()}))
    else:
        print(r.summary(where))
    return 0


def export_run(args: argparse.Namespace, run_dir: str, run_cfg: dict[str, Any]) -> int | None:
    """``lmlab export RUN --format arpa`` for an n-gram run with a model file, without NumPy: the ARPA text
    :func:`lmlab.lm.ngram.arpa.write_arpa` writes for the loaded model, byte for byte (tests hold the two equal).
    None hands the command to the general path (another format, no model file, a configuration it reads itself)."""
    from lmlab.runconfig import load_run_tokenizer

    path = os.path.join(run_dir, WEIGHTS_FILE)
    if args.format != "arpa" or not plain_config(run_cfg.get("model")) or not os.path.exists(path):
        return None
    tokenizer = load_run_tokenizer(run_dir, run_cfg)
    mapped = ModelFile(path)
    check_model_file(path, mapped.order, mapped.vocab_size, run_cfg["model"].get("order", 5), tokenizer.vocab_size)
    logp1 = memoryview(mapped.view("logp.1")).cast("d")
    check_bos_unigram(path, logp1[tokenizer.bos_id])
    if (n := effective_order(mapped.sizes)) < mapped.order:  # as loading the model logs it
        print(f"lmlab: warning: {lower_order_note(mapped.order, n)}", file=sys.stderr)
    write_arpa_file(mapped, tokenizer, args.out)
    print(f"wrote {args.out}")
    return 0


def write_arpa_file(mapped: ModelFile, tokenizer: Any, out: str | os.PathLike) -> None:
    """Write a mapped model file as an ARPA file (atomically), as :func:`lmlab.lm.ngram.arpa.write_arpa` writes the
    model loaded from it: the unigrams that have a probability (and ``<s>``, ``<unk>``), ``<s>`` at -99, every
    n-gram of order k >= 2 in the order of its key, the back-off column below the highest order."""
    from lmlab.io import atomic_open
    from lmlab.lm.ngram.arpa_text import ARPA_LOG_ZERO, format_log10, spaced_tokens_message

    V, order = mapped.vocab_size, mapped.order
    names = tokenizer.tokens()
    if message := spaced_tokens_message(names):
        raise LmlabError(message)
    logp = [memoryview(mapped.view(f"logp.{k}")).cast("d") for k in range(1, order + 1)]
    bow = [memoryview(mapped.view(f"bow.{k}")).cast("d") for k in range(1, order + 1)]
    special = (tokenizer.bos_id, tokenizer.unk_id)
    unigram_ids = [i for i in range(V) if math.isfinite(logp[0][i]) or i in special]
    with atomic_open(out) as f:
        f.write("\\data\\\n")
        f.writelines(f"ngram {k}={n}\n" for k, n in enumerate([len(unigram_ids), *mapped.sizes[1:]], start=1))
        text = names  # text[i]: the words of n-gram i of the current order
        for k in range(1, order + 1):
            f.write(f"\n\\{k}-grams:\n")
            if k == 1:
                rows = unigram_ids
                values = [ARPA_LOG_ZERO if i == tokenizer.bos_id else logp[0][i] for i in rows]
            else:  # key = row of the context * V + word
                keys = memoryview(mapped.view(f"keys.{k}")).cast("q")
                text = [f"{text[q // V]} {names[q % V]}" for q in keys]
                rows, values = range(len(text)), logp[k - 1]
            if k < order:
                b = bow[k - 1]
                f.writelines(
                    f"{format_log10(values[j])}\t{text[i]}\t{format_log10(b[i])}\n" for j, i in enumerate(rows)
                )
            else:
                f.writelines(f"{format_log10(values[j])}\t{text[i]}\n" for j, i in enumerate(rows))
        f.write("\n\\end\\\n")


__all__ = ["NORMALIZED_SMOOTHINGS", "evaluate_run", "export_run", "plain_config", "write_arpa_file"]
