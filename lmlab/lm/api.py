"""``lmlab.load`` for language models (task ``lm``), n-gram and neural alike, and ARPA files.

::

    m = lmlab.load("runs/lstm")                 # a run directory, or an ARPA file
    m.predict(["the cat sat"], top_k=5)         # per text: tokens, log-probabilities, perplexity, next tokens
    for step in m.generate("the", seed=1):      # sampled tokens one at a time, as dicts
        print(step["text"], end="")
    m.explain("the cat sat")                    # attention, gates, or the n-gram back-off path
    n = lmlab.load("runs/names-gru")            # trained on a labelled corpus (names-by-language)
    n.labels                                    # ("Arabic", "Chinese", ...)
    next(n.generate(condition="Russian"))       # every verb takes condition=LABEL: p(w | c)

A text is one line, scored as :mod:`lmlab.lm.evaluate` scores a line: its tokens and then ``</s>``, each given
the tokens before it on the line, so ``exp(-mean(logprobs))`` is ``evaluate(model, [text]).perplexity``.

``explain`` shows what the model computes on a text, according to what it has:

* a Transformer (``method`` "attention"): every layer's and head's attention weights over the positions;
* a recurrent model (``method`` "recurrent"): per layer and step the hidden state's norm, the LSTM's cell state
  norm and every gate, recomputed with the cell equations of :mod:`lmlab.nn.cells` on the trained weights;
* an n-gram model (``method`` "backoff"): each token's back-off path, the stored n-gram that answered and the
  back-off weights of the longer contexts passed over, which reproduce the model's log-probability exactly;
* a window model, the MLP or the CNN (``method`` "window"): the window of input positions each prediction reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.api import TrainedRun, bounded_int, inputs_list, json_ready, nonempty_text
from lmlab.errors import LmlabError
from lmlab.lm import LanguageModel
from lmlab.lm.evaluate import perplexity_from_logprobs
from lmlab.lm.generate import SamplingConfig, sample_tokens

MAX_TOP_K = 1_000  # next tokens listed per text
MAX_TEXT_TOKENS = 20_000  # tokens of one text scored by predict or read by explain: one value each, all returned
MAX_GENERATE = 100_000  # tokens of one sample, as `lmlab generate --max-tokens` (each step decodes the sample so far)
MAX_TOP_K_SAMPLING = 1_000_000  # as `lmlab generate --top-k`: a cut larger than the vocabulary keeps every token
MAX_SEED = 2**63 - 1
EXPLAIN_TOKENS = 64  # positions explained by default (attention grows as their square)
EXPLAIN_TOKENS_LIMIT = 512
EXPLAIN_UNITS = 32  # hidden units of a recurrent layer whose gates are listed one by one
EXPLAIN_UNITS_LIMIT = 4_096


class LanguageModelRun(TrainedRun):
    """A trained language model of any family, or an ARPA file (see the module docstring)."""

    task = "lm"
    verbs = ("generate",)

    def __init__(self, path: str | Path, config: dict[str, Any], model: LanguageModel):
        super().__init__(path, config)
        self.model = model
        self.family = model.family
        self.tokenizer = model.tokenizer

    # ---- predict
    @property
    def labels(self) -> tuple[str, ...]:
        """The labels a conditioned model takes as ``condition`` (trained on a labelled corpus); () for others."""
        return self.model.labels

    def _given(self, condition: Any) -> LanguageModel:
        """The model given ``condition`` (a label), or the model itself for None; a model trained on labels needs
        one, and one trained without them takes none (the messages name the labels, or say why)."""
        if condition is None:
            if self.model.labels:
                raise LmlabError(
                    f"this {self.family} model is conditioned on a label: give condition= one of: "
                    + ", ".join(self.model.labels)
                )
            return self.model
        if not isinstance(condition, str):
            raise LmlabError(f"condition must be a label (a string), got {type(condition).__name__}")
        return self.model.given(condition)

    def predict(self, inputs: Sequence[Any], *, top_k: int = 10, condition: Any = None) -> list[dict[str, Any]]:
        """Per text: ``tokens`` (as the tokenizer splits it, unknown ones as ``<unk>``, then ``</s>``),
        ``logprobs`` (each token's natural-log probability given the line before it, the perplexity protocol's
        scores), ``log_prob`` their sum, ``perplexity`` (None for a model of scores, stupid backoff, or with a
        token of probability 0), ``oov`` (tokens not in the vocabulary), and ``next``: the ``top_k`` most likely
        tokens after the text (before its ``</s>``), each ``token``, ``id`` and ``p``.

        ``condition``: for a model conditioned on labels, the label every text is read with, or a list of labels,
        one per text (each result then names its ``condition``)."""
        texts = [_text(t, i) for i, t in enumerate(inputs_list(inputs, "texts"))]
        top_k = bounded_int(top_k, "top_k", 1, MAX_TOP_K)
        if isinstance(condition, (list, tuple)):
            if len(condition) != len(texts):
                raise LmlabError(f"got {len(texts)} texts but {len(condition)} conditions; give one per text")
            conditions = list(condition)
        else:
            conditions = [condition] * len(texts)
        out = []
        for text, label in zip(texts, conditions):
            result = self._predict_one(text, top_k, self._given(label))
            out.append(result if label is None else {**result, "condition": label})
        return out

    def _predict_one(self, text: str, top_k: int, model: LanguageModel) -> dict[str, Any]:
        tok = self.tokenizer
        encoded = tok.encode_lines([text])  # the line's ids, then </s>: what evaluate() scores
        ids = encoded.ids.astype(np.int64)
        _check_length(ids.size - 1)
        logprobs = model.score_stream(ids)
        perplexity = None
        if model.normalized and np.isfinite(logprobs).all():
            perplexity = perplexity_from_logprobs(logprobs).perplexity
        next_lp = model.next_token_logprobs(ids[:-1].tolist())
        top = np.argsort(-next_lp, kind="stable")[:top_k]
        return json_ready(
            {
                "text": text,
                "tokens": self._labels(ids),
                "logprobs": logprobs,
                "log_prob": float(np.sum(logprobs)),
                "perplexity": perplexity,
                "normalized": model.normalized,
                "oov": encoded.n_oov,
                "next": [{"token": tok.id_to_token(int(i)), "id": int(i), "p": math.exp(next_lp[i])} for i in top],
            }
        )

    # ---- generate
    def generate(
        self,
        prompt: str = "",
        max_tokens: int = 100,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        *,
        greedy: bool = False,
        rng: np.random.Generator | None = None,
        condition: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Sample a continuation of ``prompt`` (the start of a line), yielding one dict per token as it is drawn:
        ``token`` (its string), ``id``, ``p`` (the model's probability of it given the line so far, before
        temperature and the top-k / top-p cuts) and ``text`` (what the token adds to the printed sample).
        Sampling stops at ``</s>`` (not yielded) or after ``max_tokens``.

        This is ``lmlab generate RUN --prompt PROMPT --seed SEED`` with the same settings: the same tokens, and the
        line it prints is the prompt (as the tokenizer reads it back) followed by every step's ``text``. The
        arguments are checked here, when ``generate`` is called, not when the first token is asked for.

        ``rng``: a NumPy generator to draw from instead of a new one seeded with ``seed`` (``lmlab generate
        --num-samples N --seed S`` draws its N samples one after another from one generator).

        ``condition``: the label a model trained on a labelled corpus generates for (``lmlab generate RUN
        --condition LABEL``); an unknown one is an error naming the labels there are.
        """
        if not isinstance(prompt, str):
            raise LmlabError(f"the prompt must be a string, got {type(prompt).__name__}")
        cfg = SamplingConfig(
            max_tokens=bounded_int(max_tokens, "max_tokens", 1, MAX_GENERATE),
            temperature=_temperature(temperature),
            top_k=None if top_k is None else bounded_int(top_k, "top_k", 1, MAX_TOP_K_SAMPLING),
            top_p=_top_p(top_p),
            greedy=bool(greedy),
        )
        if seed is not None:
            seed = bounded_int(seed, "seed", 0, MAX_SEED)
        prompt_ids = self.tokenizer.encode(prompt) if prompt else []
        _check_length(len(prompt_ids))
        model = self._given(condition)
        return self._samples(model, prompt_ids, cfg, np.random.default_rng(seed) if rng is None else rng)

    def _samples(
        self, model: LanguageModel, prompt_ids: list[int], cfg: SamplingConfig, rng: np.random.Generator
    ) -> Iterator[dict]:
        tok = self.tokenizer
        seen = _Recorder(model)
        ids = list(prompt_ids)
        shown = tok.decode(ids)
        for token in sample_tokens(seen, prompt_ids, cfg, rng):
            ids.append(token)
            text = tok.decode(ids)
            piece = text[len(shown) :] if text.startswith(shown) else "\n" + text  # as `lmlab generate` prints
            shown = text
            # seen.logprobs: the distribution the token was just drawn from (advance comes after the yield)
            yield {"token": tok.id_to_token(token), "id": token, "p": math.exp(seen.logprobs[token]), "text": piece}

    # ---- explain
    def explain(
        self,
        one_input: Any,
        *,
        max_tokens: int = EXPLAIN_TOKENS,
        max_units: int = EXPLAIN_UNITS,
        condition: str | None = None,
    ) -> dict[str, Any]:
        """What the model computes on the text (see the module docstring for each ``method``). Every method gives
        ``tokens``, the positions shown, and ``num_tokens``, the text's tokens and ``</s>``; a longer text shows
        its last ``max_tokens`` positions (``truncated`` says so; a Transformer then reads only those, from a line
        start, and a recurrent model reads the whole text but shows the last steps). ``max_units`` bounds the hidden
        units of a recurrent layer whose gates are listed one by one (their means cover every unit). ``condition``:
        the label a conditioned model reads the text with."""
        text = nonempty_text(one_input)
        max_tokens = bounded_int(max_tokens, "max_tokens", 1, EXPLAIN_TOKENS_LIMIT)
        max_units = bounded_int(max_units, "max_units", 1, EXPLAIN_UNITS_LIMIT)
        ids = [int(i) for i in self.tokenizer.encode_lines([text]).ids[:-1]]  # the line's tokens, </s> not included
        _check_length(len(ids))
        model = self._given(condition)
        out: dict[str, Any] = {"text": text, "family": self.family}
        if condition is not None:
            out["condition"] = condition
        if hasattr(model, "attention_weights"):
            out |= self._explain_attention(model, ids, max_tokens)
        elif hasattr(model, "trace"):
            out |= self._explain_recurrent(model, ids, max_tokens, max_units)
        elif hasattr(model, "backoff_path"):
            out |= self._explain_backoff(ids, max_tokens)
        else:
            out |= self._explain_window(ids, max_tokens)
        return json_ready(out)

    def _explain_attention(self, model: Any, ids: list[int], max_tokens: int) -> dict[str, Any]:
        """Attention weights on ``</s>`` and the last tokens of the text that fit the window and ``max_tokens``."""
        keep = min(max_tokens - 1, model.context_limit)  # positions besides the </s> start
        shown = ids[max(0, len(ids) - keep) :]
        weights = model.attention_weights(shown)  # one (n_head, T, T) per layer, T = len(shown) + 1
        return {
            "method": "attention",
            "tokens": self._labels([self.tokenizer.eos_id, *shown]),
            "num_tokens": len(ids) + 1,
            "truncated": len(shown) < len(ids),
            "layers": [{"layer": i + 1, "heads": w.double().numpy()} for i, w in enumerate(weights)],
            "rows": "each row is a position (the token it reads, </s> first, predicting the next token); its columns "
            "the positions it attends to, itself and those before it; each row sums to 1",
        }

    def _explain_recurrent(self, model: Any, ids: list[int], max_tokens: int, max_units: int) -> dict[str, Any]:
        """Per layer and step: the norms of the states and the gates (their mean and the first units)."""
        layers = model.trace(ids)  # per layer {"h": (T, H), ...}, T = len(ids) + 1
        T = len(ids) + 1
        first = max(0, T - max_tokens)
        out_layers = []
        for index, layer in enumerate(layers):
            entry: dict[str, Any] = {"layer": index + 1, "units": layer["h"].shape[1]}
            entry["h_norm"] = np.linalg.norm(layer["h"][first:], axis=1)
            if "c" in layer:
                entry["c_norm"] = np.linalg.norm(layer["c"][first:], axis=1)
            entry["gates"] = {
                name: {"mean": v[first:].mean(axis=1), "first_units": v[first:, :max_units]}
                for name, v in layer.items()
                if name not in ("h", "c")
            }
            out_layers.append(entry)
        return {
            "method": "recurrent",
            "tokens": self._labels([self.tokenizer.eos_id, *ids][first:]),
            "num_tokens": T,
            "truncated": first > 0,
            "first_step": first,
            "layers": out_layers,
            "rows": "step t reads the token shown and gives the state that predicts the next token; gates are "
            "(steps, units), 'mean' over all units",
        }

    def _explain_backoff(self, ids: list[int], max_tokens: int) -> dict[str, Any]:
        """Each token's back-off path; ``reproduces_model`` checks it against the model's own scoring."""
        model, tok = self.model, self.tokenizer
        line = [*ids, tok.eos_id]
        path = model.backoff_path(line)
        scored = model.score_stream(np.asarray(line, dtype=np.int64))
        logprobs = np.array([step.log10_prob for step in path]) * np.log(10.0)
        first = max(0, len(path) - max_tokens)
        steps = [
            {
                "token": tok.id_to_token(step.token),
                "order": step.order,
                "ngram": [tok.id_to_token(w) for w in step.ngram],
                "log10_p": step.log10_p,
                "p": 10.0**step.log10_p,
                "backoffs": [
                    {"context": [tok.id_to_token(w) for w in context], "log10_bow": b, "bow": 10.0**b}
                    for context, b in step.backoffs
                ],
                "missing_contexts": step.missing_contexts,
                "log10_prob": step.log10_prob,
                "logprob": lp,
                "prob": math.exp(lp),
            }
            for step, lp in zip(path[first:], logprobs[first:])
        ]
        return {
            "method": "backoff",
            "tokens": self._labels(line[first:]),
            "num_tokens": len(line),
            "truncated": first > 0,
            "order": model.order,
            "effective_order": model.effective_order,
            "missing_context_log10_bow": model.missing_context_bow,
            "steps": steps,
            "reproduces_model": bool(np.array_equal(logprobs, scored)),
            "rows": "per token: the longest stored n-gram ending in it (order, ngram, its log10_p), then each longer "
            "context passed over with its back-off weight; log10_prob = log10_p + the log10_bow's "
            "(+ missing_contexts * missing_context_log10_bow)",
        }

    def _explain_window(self, ids: list[int], max_tokens: int) -> dict[str, Any]:
        """A feed-forward model: the input positions each prediction reads (``</s>`` fills a window's start)."""
        size = self.model.context_size + 1 if hasattr(self.model, "context_size") else None
        T = len(ids) + 1
        first = max(0, T - max_tokens)
        out: dict[str, Any] = {
            "method": "window",
            "tokens": self._labels([self.tokenizer.eos_id, *ids][first:]),
            "num_tokens": T,
            "truncated": first > 0,
            "window": size,
        }
        if size is None:
            return out | {"windows": [], "note": f"a {self.family} model reads no fixed window"}
        # position t reads inputs t - size + 1 .. t, the ones before the line's </s> being </s> too
        out["windows"] = [
            {"from": max(0, t - size + 1), "to": t, "padding": max(0, size - 1 - t)} for t in range(first, T)
        ]
        out["rows"] = (
            "per position t (the token it reads, predicting the next): the input positions from..to it reads, and "
            "how many </s> fill the window before the line's start"
        )
        out["note"] = f"a {self.family} model has no attention or gates to show: each prediction reads {size} tokens"
        return out

    # ---- describe
    def num_parameters(self) -> int:
        return int(self.model.num_parameters())

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        if not out["model"]:  # an ARPA file has no run configuration
            out["model"] = json_ready(self.model.config_dict())
        return out | json_ready(
            {
                "vocab_size": self.model.vocab_size,
                "tokenizer": getattr(self.tokenizer, "kind", ""),
                "context_limit": self.model.context_limit,
                "normalized": self.model.normalized,
                **({"labels": list(self.model.labels)} if self.model.labels else {}),
            }
        )

    def _labels(self, ids: Sequence[int]) -> list[str]:
        return [self.tokenizer.id_to_token(int(i)) for i in ids]


class _Recorder:
    """A model seen through its start/advance: keeps the last next-token log-probabilities handed out, so that
    the probability of each sampled token can be reported without sampling differently."""

    def __init__(self, model: LanguageModel):
        self.model = model
        self.tokenizer = model.tokenizer
        self.logprobs = np.zeros(0)

    def start(self, prompt: Sequence[int]) -> tuple[Any, np.ndarray]:
        state, self.logprobs = self.model.start(prompt)
        return state, self.logprobs

    def advance(self, state: Any, token: int) -> tuple[Any, np.ndarray]:
        state, self.logprobs = self.model.advance(state, token)
        return state, self.logprobs


def _text(text: Any, i: int) -> str:
    try:
        return nonempty_text(text)
    except LmlabError as e:
        raise LmlabError(f"inputs[{i}]: {e}") from None


def _check_length(n: int) -> None:
    if n > MAX_TEXT_TOKENS:
        raise LmlabError(f"the text has {n:,} tokens; give at most {MAX_TEXT_TOKENS:,} (one line at a time)")


def _temperature(value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise LmlabError(f"temperature must be a number > 0, got {value!r} (use greedy=True for the most likely token)")
    return float(value)


def _top_p(value: Any) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1
    if not ok:
        raise LmlabError(f"top_p must be a number in (0, 1], got {value!r}")
    return float(value)


def load_run(path: str | Path) -> LanguageModelRun:
    """The language model of the run directory or ARPA file at ``path`` (what :func:`lmlab.load` returns)."""
    from lmlab.lm.run import load_model

    model, config = load_model(path)
    return LanguageModelRun(path, config, model)


__all__ = ["LanguageModelRun", "load_run"]
