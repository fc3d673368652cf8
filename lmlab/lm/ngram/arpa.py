"""ARPA back-off files, both ways: write any lmlab n-gram model, read KenLM's or SRILM's into an lmlab model.

The format (log10 values; the back-off column only below the highest order)::

    \\data\\
    ngram 1=3
    ngram 2=2

    \\1-grams:
    -0.5    </s>    0
    -99     <s>     -0.3
    ...
    \\end\\

References: SRILM's ngram-format(5) manual; KenLM's lmplz output.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError
from lmlab.io import atomic_open
from lmlab.lm.ngram.arpa_text import ARPA_LOG_ZERO, format_log10, spaced_tokens_message
from lmlab.tokenizers import BOS, EOS, SPECIALS, UNK, WordTokenizer

log = logging.getLogger(__name__)

#: The probability KenLM gives <unk> when a file has none.
MISSING_UNK_LOG10 = -100.0


def write_arpa(model, path: str | Path) -> None:
    """Write an :class:`~lmlab.lm.ngram.model.NgramLM` as an ARPA file (atomically)."""
    tok = model.tokenizer
    V = tok.vocab_size
    order = model.order
    if message := spaced_tokens_message(tok.tokens()):
        raise LmlabError(message)
    # the unigram table is dense over the vocabulary: ids with no probability are left out (not <s>, <unk>)
    unigram_ids = np.array([i for i in range(V) if np.isfinite(model.logp[0][i]) or i in (tok.bos_id, tok.unk_id)])
    sizes = [unigram_ids.size] + [int(k.size) for k in model.keys[1:]]
    names = np.array(tok.tokens(), dtype=object)
    with atomic_open(path) as f:
        f.write("\\data\\\n")
        f.writelines(f"ngram {k}={n}\n" for k, n in enumerate(sizes, start=1))
        text = names  # text[i]: the words of n-gram i of the current order
        for k in range(1, order + 1):
            f.write(f"\n\\{k}-grams:\n")
            if k == 1:
                rows, logp = unigram_ids, model.logp[0][unigram_ids].copy()
                logp[rows == tok.bos_id] = ARPA_LOG_ZERO  # <s> is a context only
            else:
                key = model.keys[k - 1]
                text = text[key // V] + " " + names[key % V]  # (n_k,) object array of strings
                rows, logp = np.arange(key.size), model.logp[k - 1]
            words = text[rows]
            if k < order:
                bow = model.bow[k - 1][rows]
                f.writelines(
                    f"{format_log10(p)}\t{t}\t{format_log10(b)}\n"
                    for p, t, b in zip(logp.tolist(), words, bow.tolist())
                )
            else:
                f.writelines(f"{format_log10(p)}\t{t}\n" for p, t in zip(logp.tolist(), words))
        f.write("\n\\end\\\n")


_SECTION = re.compile(r"^\\(\d+)-grams:\s*$")
_COUNT = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)\s*$")


def _check_values(lines: list[str], k: int, probs: np.ndarray, bows: np.ndarray, path: Path, first_line: int) -> None:
    """Refuse values no estimator can produce, naming the line: a log10 probability above 0 (p > 1), nan or +inf;
    a back-off weight that is nan or infinite upwards. -inf and -99 (log10 0, as for ``<s>``) stay legal, and so
    does a positive back-off (a context whose seen words took less than the lower order gives them).

    KenLM refuses positive log probabilities too; read silently, they would give a perplexity below the truth.
    """
    bad_p = np.flatnonzero(~(probs <= 0.0))  # nan compares false, so it is caught with the positive values
    bad_b = np.flatnonzero(~(bows < np.inf))
    if bad_p.size and (not bad_b.size or bad_p[0] <= bad_b[0]):
        j = int(bad_p[0])
        value = lines[j].split()[0]
        why = "is positive (p > 1)" if probs[j] > 0 and np.isfinite(probs[j]) else "is not a finite number"
        raise LmlabError(
            f"{path}:{first_line + j}: log10 probability {value} {why}; a {k}-gram's log10 probability must be <= 0"
        )
    if bad_b.size:
        j = int(bad_b[0])
        value = lines[j].split()[k + 1]
        raise LmlabError(f"{path}:{first_line + j}: back-off weight {value} of a {k}-gram is not a finite number")


def _parse_section(lines: list[str], k: int, top: bool, path: Path, first_line: int):
    """Words (k columns of strings), log10 probabilities and back-offs of one ``\\k-grams:`` section."""
    fields = k + 1 if top else k + 2
    flat = "\n".join(lines).split()
    if len(flat) == fields * len(lines):  # fast path: every line has the usual number of fields
        try:
            probs = np.array(flat[0::fields], dtype=np.float64)
            bows = np.zeros(len(lines)) if top else np.array(flat[k + 1 :: fields], dtype=np.float64)
        except ValueError:
            pass  # the slow path below names the line
        else:
            _check_values(lines, k, probs, bows, path, first_line)
            return [flat[1 + j :: fields] for j in range(k)], probs, bows, first_line
    columns: list[list[str]] = [[] for _ in range(k)]
    probs_l, bows_l = [], []
    for j, line in enumerate(lines):
        parts = line.split()
        if len(parts) not in (k + 1, k + 2):
            raise LmlabError(
                f"{path}:{first_line + j}: a {k}-gram line needs a log10 probability, {k} word(s) and an optional "
                f"back-off, found {line[:60]!r}" + (" (truncated file?)" if not line.strip() else "")
            )
        try:
            probs_l.append(float(parts[0]))
            bows_l.append(float(parts[k + 1]) if len(parts) == k + 2 else 0.0)
        except ValueError:
            raise LmlabError(f"{path}:{first_line + j}: not a number in {line[:60]!r}") from None
        for c in range(k):
            columns[c].append(parts[1 + c])
    probs, bows = np.array(probs_l), np.array(bows_l)
    _check_values(lines, k, probs, bows, path, first_line)
    return columns, probs, bows, first_line


def read_arpa(path: str | Path, *, lowercase: bool = False):
    """Read an ARPA file into an :class:`~lmlab.lm.ngram.model.NgramLM` with a word tokenizer over its unigrams.

    Malformed or truncated files raise :class:`LmlabError` naming the line.
    """
    from lmlab.lm.ngram.model import NgramConfig, NgramLM

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LmlabError(f"cannot read ARPA file {path}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LmlabError(f"{path}: not valid UTF-8 at byte offset {e.start}") from None
    lines = text.split("\n")
    n = len(lines)
    i = 0
    while i < n and lines[i].strip() != "\\data\\":
        if lines[i].strip():
            raise LmlabError(f"{path}:{i + 1}: expected '\\data\\' to start the ARPA file, found {lines[i][:40]!r}")
        i += 1
    if i == n:
        raise LmlabError(f"{path}: not an ARPA file (no '\\data\\' line)")
    i += 1
    declared: dict[int, int] = {}
    while i < n and lines[i].strip():
        m = _COUNT.match(lines[i].strip())
        if not m:
            raise LmlabError(f"{path}:{i + 1}: expected 'ngram K=COUNT' in the \\data\\ section, found {lines[i]!r}")
        declared[int(m.group(1))] = int(m.group(2))
        i += 1
    order = len(declared)
    if order == 0 or sorted(declared) != list(range(1, order + 1)):
        raise LmlabError(f"{path}: the \\data\\ section must declare ngram 1..N counts, got {sorted(declared)}")
    sections = []
    for k in range(1, order + 1):
        while i < n and not lines[i].strip():
            i += 1
        if i == n:
            raise LmlabError(f"{path}: file ends before the \\{k}-grams: section (truncated?)")
        m = _SECTION.match(lines[i].strip())
        if not m or int(m.group(1)) != k:
            raise LmlabError(f"{path}:{i + 1}: expected '\\{k}-grams:', found {lines[i][:40]!r}")
        i += 1
        start = i
        want = declared[k]
        if start + want > n:
            raise LmlabError(
                f"{path}:{n}: the \\{k}-grams: section declares {want} entries but the file ends first (truncated?)"
            )
        sections.append(_parse_section(lines[start : start + want], k, k == order, path, start + 1))
        i = start + want
    while i < n and not lines[i].strip():
        i += 1
    if i == n or lines[i].strip() != "\\end\\":
        raise LmlabError(f"{path}:{min(i + 1, n)}: expected '\\end\\' after the {order}-grams (truncated file?)")

    # vocabulary: the special tokens first, then the unigrams in file order
    (unigrams,), uni_p, uni_b, _ = sections[0]
    words = [w.lower() for w in unigrams] if lowercase else unigrams
    if UNK not in words:
        log.warning("%s has no <unk>; unknown words get log10 p = %g, as KenLM does", path, MISSING_UNK_LOG10)
    for special in (BOS, EOS):
        if special not in words:
            raise LmlabError(f"{path}: the unigrams must include {special}")
    tok = WordTokenizer(list(SPECIALS) + [w for w in words if w not in SPECIALS], lowercase=lowercase)
    V = tok.vocab_size
    logp1 = np.full(V, MISSING_UNK_LOG10)
    bow1 = np.zeros(V)
    ids1 = np.array([tok.token_to_id(w) for w in words], dtype=np.int64)
    logp1[ids1] = uni_p
    bow1[ids1] = np.where(np.asarray(uni_b) <= ARPA_LOG_ZERO, -np.inf, uni_b)
    logp1[tok.bos_id] = -np.inf
    logp1 = np.where(logp1 <= ARPA_LOG_ZERO, -np.inf, logp1)
    keys, logps, bows = [np.arange(V, dtype=np.int64)], [logp1], [bow1]
    index = {w: t for w, t in zip(words, ids1.tolist())}
    for k in range(2, order + 1):
        columns, probs, bws, first_line = sections[k - 1]
        try:
            ids = np.stack([np.fromiter((index[w] for w in col), np.int64, len(col)) for col in columns], axis=1)
        except KeyError as e:
            bad = next(j for j in range(len(columns[0])) if any(col[j] not in index for col in columns))
            raise LmlabError(f"{path}:{first_line + bad}: word {e.args[0]!r} is not among the unigrams") from None
        idx = ids[:, 0]
        for j in range(1, k - 1):
            q = idx * V + ids[:, j]
            pos = np.searchsorted(keys[j], q)
            ok = (pos < keys[j].size) & (keys[j][np.minimum(pos, keys[j].size - 1)] == q)
            if not ok.all():
                bad = int(np.argmin(ok))
                gram = " ".join(col[bad] for col in columns)
                raise LmlabError(f"{path}:{first_line + bad}: the {k}-gram {gram!r} has no {j + 1}-gram prefix entry")
            idx = pos
        key = idx * V + ids[:, k - 1]
        perm = np.argsort(key, kind="stable")
        key = key[perm]
        if key.size > 1 and np.any(key[1:] == key[:-1]):
            dup = int(perm[1:][key[1:] == key[:-1]][0])
            gram = " ".join(col[dup] for col in columns)
            raise LmlabError(f"{path}:{first_line + dup}: duplicate {k}-gram {gram!r}")
        lp = np.asarray(probs)[perm]
        keys.append(key)
        logps.append(np.where(lp <= ARPA_LOG_ZERO, -np.inf, lp))
        bw = np.asarray(bws)[perm]
        bows.append(np.where(bw <= ARPA_LOG_ZERO, -np.inf, bw) if k < order else np.zeros(key.size))
    cfg = NgramConfig(order=order, smoothing="imported")
    model = NgramLM(tok, keys, logps, bows, cfg)
    model.source = str(path)
    return model
