"""How translations are scored: corpus BLEU and chrF by sacreBLEU, and the target side's perplexity.

BLEU is computed as the field reports it: sacreBLEU's corpus BLEU-4 on detokenized output against the raw
references, with its own tokenizer (``13a``), cased, and its signature, which says exactly how the number was
made, so that it can be compared with another paper's. chrF is the character n-gram F-score (n = 6, beta = 2).

Perplexity is defined once for every model: teacher forcing (the decoder reads the reference's previous tokens),
every target token scored, ``</s>`` included and ``<s>`` never, weighted by tokens over the whole split::

    ppl = exp( -(1/N) sum_{sentences} sum_{t=1}^{|y|+1} ln p(y_t | y_<t, x) ),  N = sum (|y| + 1)

in the target tokenizer's tokens (so two runs with different vocabularies have perplexities that do not compare).

References: Papineni et al. 2002, "BLEU"; Post 2018, "A Call for Clarity in Reporting BLEU Scores" (sacreBLEU);
Popović 2015, "chrF: character n-gram F-score for automatic MT evaluation".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lmlab.errors import LmlabError


@dataclass(frozen=True)
class CorpusScores:
    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str


def _sacrebleu():
    try:
        import sacrebleu
    except ImportError:  # pragma: no cover - a runtime dependency; only a broken install lacks it
        raise LmlabError("BLEU needs the sacrebleu package: pip install sacrebleu") from None
    return sacrebleu


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str]) -> CorpusScores:
    """sacreBLEU's corpus BLEU and chrF of detokenized ``hypotheses`` against one reference each.

    >>> s = corpus_scores(["a dog runs on the grass ."], ["a dog runs on the grass ."])
    >>> s.bleu, s.bleu_signature.startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    (100.00000000000004, True)
    """
    if len(hypotheses) != len(references):
        raise LmlabError(f"{len(hypotheses)} translations for {len(references)} references")
    sb = _sacrebleu()
    # force: lmlab's output is detokenized by construction (decoded), whatever the references look like; without it
    # sacreBLEU warns on stderr about lines ending in " ." in corpora written that way
    bleu, chrf = sb.metrics.BLEU(force=True), sb.metrics.CHRF()
    refs = [list(references)]
    b = bleu.corpus_score(list(hypotheses), refs)
    c = chrf.corpus_score(list(hypotheses), refs)
    return CorpusScores(b.score, c.score, str(bleu.get_signature()), str(chrf.get_signature()))


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], **options) -> float:
    """sacreBLEU's corpus BLEU with ``options`` (``tokenize="none"``, ``lowercase=True`` for pre-tokenized text).

    >>> round(corpus_bleu(["the cat sat on the mat"], ["the cat sat on a mat"], tokenize="none"), 2)
    53.73
    >>> round(corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"], tokenize="none"), 6)
    100.0
    """
    sb = _sacrebleu()
    return sb.metrics.BLEU(**options).corpus_score(list(hypotheses), [list(references)]).score


def perplexity(total_nll: float, tokens: int) -> float:
    """exp(total negative log-likelihood in nats / tokens).

    >>> round(perplexity(2 * math.log(4), 2), 6)
    4.0
    """
    if tokens <= 0:
        raise LmlabError("no target tokens to compute a perplexity on")
    return math.exp(total_nll / tokens) if total_nll / tokens < 709 else math.inf


__all__ = ["CorpusScores", "corpus_bleu", "corpus_scores", "perplexity"]
