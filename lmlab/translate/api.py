"""A trained translation run through :func:`lmlab.load`: translate sentences, and show where the decoder looked.

::

    m = lmlab.load("runs/bahdanau")
    m.predict(["ein hund läuft ."])                   # greedy: [{"translation": "a dog runs .", "score": -0.41, ...}]
    m.predict(["ein hund läuft ."], beam=5, n_best=3)  # beam search, the 3 best in "nbest"
    m.explain("ein hund läuft .")                     # source x target alignment of the greedy translation

``predict`` decodes greedily unless given a beam (``lmlab translate`` uses the run's own beam, 5 by default: pass
``beam=5`` for its output). A greedy or beam-1 ``score`` is log P(Y | X), ``</s>`` included; a beam search of
K > 1 ranks by Wu et al.'s length-normalised score log P(Y | X) / lp(Y) (see :mod:`lmlab.translate.decode`), which
``length_normalised`` says, ``logprob`` always holding log P(Y | X).

``explain`` translates greedily and reads the network's cross-attention while it reads that translation back
(teacher forcing on its own output gives the weights of the greedy search itself): one matrix of target x source
weights for the RNN attention models (Bahdanau et al.'s figure 3), every layer and head for a Transformer; each
row sums to one over the source. ``alignment`` is the mean over layers and heads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.api import TrainedRun, bounded_int, inputs_list, json_ready, nonempty_text
from lmlab.errors import LmlabError
from lmlab.translate.decode import DecodeConfig, Hypothesis
from lmlab.translate.task import NeuralTranslator, load_translator, truncate
from lmlab.translate.vocab import encode_sentences, token_labels

MAX_BEAM = 100  # the CLI's bound (lmlab translate --beam): quality falls past 30 or so, memory grows with it
MAX_LENGTH_PENALTY = 10.0  # Wu et al.'s best alpha lay in 0.6 .. 1.0; lp(Y) ** alpha overflows past ~100


class TranslateRun(TrainedRun):
    """A trained translation model (any family of :data:`lmlab.translate.models.TRANSLATORS`)."""

    task = "translate"

    def __init__(self, path: str | Path, config: dict[str, Any], translator: NeuralTranslator):
        super().__init__(path, config)
        self.translator = translator

    def num_parameters(self) -> int:
        return self.translator.num_parameters()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "languages": json_ready(self.config.get("languages", {}))}

    def decode_config(
        self, beam: int = 1, n_best: int = 1, max_len: int | None = None, length_penalty: float | None = None
    ) -> DecodeConfig:
        """The search ``predict`` runs: the options checked with their API names, the rest the run's own."""
        beam = bounded_int(beam, "beam", 1, MAX_BEAM)
        n_best = bounded_int(n_best, "n_best", 1, beam)
        changes: dict[str, Any] = {"beam": beam, "n_best": n_best}
        if max_len is not None:  # a fixed limit: 0 * |X| + max_len, the model's own limit still capping it
            changes.update(max_len_a=0.0, max_len_b=bounded_int(max_len, "max_len", 1, self.translator.cfg.max_len))
        if length_penalty is not None:
            a = length_penalty
            if not (isinstance(a, (int, float)) and not isinstance(a, bool) and 0 <= a <= MAX_LENGTH_PENALTY):
                raise LmlabError(f"length_penalty must be a number from 0 to {MAX_LENGTH_PENALTY:g}, got {a!r}")
            changes["length_penalty"] = float(a)
        return self.translator.cfg.decode_config(**changes)

    def decoding(self, **flags: Any) -> DecodeConfig:
        """The run's own decoding settings changed as ``lmlab translate``'s flags change them (``beam``,
        ``length_penalty``, ``max_len_a``, ``max_len_b``, ``n_best``, ``sample``, ``temperature``, ``top_k``,
        ``top_p``, ``seed``; None keeps the run's), checked with the flags' messages (``--beam must be ...``)."""
        return self.translator.cfg.decode_config(**flags)

    def to(self, device: str) -> TranslateRun:
        """The network moved to ``device`` (cpu, cuda, cuda:N, mps or auto, as ``lmlab translate --device``)."""
        from lmlab.train.device import resolve_device

        self.translator.net.to(resolve_device(device))
        return self

    def predict(
        self,
        sentences: Sequence[str],
        beam: int = 1,
        n_best: int = 1,
        max_len: int | None = None,
        length_penalty: float | None = None,
        *,
        decoding: DecodeConfig | None = None,
    ) -> list[dict[str, Any]]:
        """For each source sentence: its best ``translation`` with its ``score`` and ``logprob``, and the
        ``n_best`` best in ``nbest`` (best first); ``truncated`` when the source was cut to the model's limit.

        ``max_len``: the longest translation in tokens, ``</s>`` included (default: the run's 1.5 |X| + 10, |X|
        the source's tokens); ``length_penalty``: Wu et al.'s alpha for beams above 1 (default: the run's).

        ``decoding``: a :meth:`decoding` of this run, searched (or sampled) as it is instead of the four options
        above; the sentences are then the lines of a file as ``lmlab translate`` reads them, an empty one
        translated too."""
        if decoding is None:
            lines = [nonempty_text(s, "source sentence") for s in inputs_list(sentences, "source sentences")]
            cfg = self.decode_config(beam, n_best, max_len, length_penalty)
        else:
            lines = inputs_list(sentences, "source sentences")
            for line in lines:
                if not isinstance(line, str):
                    raise LmlabError(f"a source sentence must be a string, got {type(line).__name__}")
            cfg = decoding
        tr = self.translator
        raw = encode_sentences(tr.vocabs.src, lines)
        srcs, _ = truncate(raw, tr.cfg.max_len)  # as lmlab translate: a source past the model's limit is cut
        normalised = cfg.beam > 1 and cfg.length_penalty > 0 and not cfg.sample
        out = []
        for line, ids, hyps in zip(lines, raw, tr.search(srcs, cfg)):
            nbest = [self._hypothesis(h) for h in hyps]
            out.append(
                {
                    "source": line,
                    **nbest[0],
                    "length_normalised": normalised,
                    "nbest": nbest,
                    "source_length": int(ids.size),  # tokens, </s> included
                    "truncated": ids.size > tr.cfg.max_len,
                }
            )
        return json_ready(out)

    def _hypothesis(self, h: Hypothesis) -> dict[str, Any]:
        return {"translation": self.translator.detokenize(h), "score": h.score, "logprob": h.logprob}

    def explain(self, sentence: str) -> dict[str, Any]:
        """The greedy translation of ``sentence``, its tokens and the source tokens (``</s>`` last on both
        sides), and the cross-attention weights while the decoder wrote it: ``layers`` (each layer's heads, every
        matrix target x source) and their mean, ``alignment``. A model without attention (``seq2seq``) gives no
        matrix and a ``note``."""
        text = nonempty_text(sentence, "source sentence")
        tr = self.translator
        greedy = self.decode_config(beam=1)
        if not tr.net.has_attention:
            src, _ = tr.encode_sources([text])
            hyp = tr.search(src, greedy)[0][0]
            return json_ready(
                {
                    "source": text,
                    "translation": tr.detokenize(hyp),
                    "source_tokens": _labels(tr.vocabs.src, src[0]),
                    "target_tokens": _labels(tr.vocabs.tgt, [*hyp.tokens, tr.cfg.eos_id]),
                    "alignment": None,
                    "layers": [],
                    "note": f"a {self.family} model has no attention: the decoder reads one summary vector of the "
                    "source (Sutskever et al. 2014), so there is no alignment to show",
                }
            )
        src_tokens, tgt_tokens, weights, translation = tr.alignment(text, greedy)  # weights (L, h, T, S)
        layers = [{"layer": i + 1, "heads": list(w)} for i, w in enumerate(weights)]
        return json_ready(
            {
                "source": text,
                "translation": translation,
                "source_tokens": src_tokens,
                "target_tokens": tgt_tokens,
                "alignment": weights.mean(axis=(0, 1)),  # (T, S)
                "layers": layers,
                "rows": "target tokens (</s> last); columns: source tokens; each row sums to 1",
            }
        )


def _labels(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    return token_labels(tokenizer, np.asarray(ids, dtype=np.int64))


def load_run(path: str | Path) -> TranslateRun:
    """The translation run at ``path`` (what :func:`lmlab.load` returns for it)."""
    translator, config = load_translator(path)
    return TranslateRun(path, config, translator)


__all__ = ["MAX_BEAM", "TranslateRun", "load_run"]
