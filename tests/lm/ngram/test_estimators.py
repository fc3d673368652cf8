"""Every estimator against NLTK's nltk.lm where NLTK has it, and every normalized one sums to 1."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lmlab.lm.evaluate import evaluate
from lmlab.lm.ngram.model import NgramConfig, NgramLM
from lmlab.tokenizers import WordTokenizer

TRAIN = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog sat",
    "the cat saw the dog",
    "a dog saw a cat on the mat",
    "the log",
]
TEST = ["the cat sat on the log", "a dog and the cat", "the mat sat", "dog"]


def nltk_model(name: str, order: int):
    """An NLTK model fitted on exactly lmlab's n-grams: one <s> in front, </s> at the end, no <s> unigram.

    NLTK maps words outside its vocabulary to <UNK>; leaving <s> out of the vocabulary makes <s> read as <UNK>
    in counts and queries alike, so len(vocab) equals lmlab's V (every token but <s>) and no estimate changes.
    """
    lm = pytest.importorskip("nltk.lm")
    from nltk.util import everygrams

    models = {
        "mle": lambda: lm.MLE(order),
        "add-k": lambda: lm.Lidstone(0.5, order),
        "laplace": lambda: lm.Laplace(order),
        "witten-bell": lambda: lm.WittenBellInterpolated(order),
        "absolute-discount": lambda: lm.AbsoluteDiscountingInterpolated(order, discount=0.75),
        "stupid-backoff": lambda: lm.StupidBackoff(order=order, alpha=0.4),
    }
    model = models[name]()
    sents = [["<s>", *s.split(), "</s>"] for s in TRAIN]
    grams = [[g for g in everygrams(s, max_len=order) if g != ("<s>",)] for s in sents]
    vocab = [w for s in sents for w in s if w != "<s>"]
    model.fit(grams, vocab)
    return model


def lmlab_model(smoothing: str, order: int, **kw) -> NgramLM:
    tok = WordTokenizer.train(TRAIN)
    return NgramLM.fit(tok.encode_lines(TRAIN).ids, tok, NgramConfig(order=order, smoothing=smoothing, **kw))


def contexts(order: int):
    """Every context lmlab scores on TEST, as word lists starting after <s>."""
    for line in TEST + TRAIN:
        words = line.split()
        for i in range(len(words) + 1):
            yield words[max(0, i - order + 1) : i], i < order - 1


CASES = [
    ("mle", "mle", {}),
    ("add-k", "add-k", {"k": 0.5}),
    ("laplace", "add-k", {"k": 1.0}),
    ("witten-bell", "witten-bell", {"interpolate_unigrams": False}),
    ("absolute-discount", "absolute-discount", {"discount": 0.75, "interpolate_unigrams": False}),
    ("stupid-backoff", "stupid-backoff", {"alpha": 0.4}),
]


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize(("nltk_name", "smoothing", "kw"), CASES, ids=[c[0] for c in CASES])
def test_equals_nltk(nltk_name, smoothing, kw, order):
    ref = nltk_model(nltk_name, order)
    model = lmlab_model(smoothing, order, **kw)
    tok = model.tokenizer
    words = [w for w in tok.tokens() if w not in ("<s>", "<unk>")]
    checked = 0
    for ctx, at_start in contexts(order):
        nltk_ctx = (["<UNK>"] if at_start or (order > 1 and len(ctx) < order - 1) else []) + ctx
        nltk_ctx = nltk_ctx[-(order - 1) :] if order > 1 else []
        if smoothing == "mle" and order > 1 and ref.counts[tuple(nltk_ctx)].N() == 0:
            continue  # MLE is undefined after an unseen context
        dist = np.exp(model.next_token_logprobs([tok.encode(" ".join(ctx))][0] if ctx else []))
        for w in words:
            want = ref.score(w, nltk_ctx)
            assert dist[tok.token_to_id(w)] == pytest.approx(want, rel=1e-9, abs=1e-12), (ctx, w)
            checked += 1
    assert checked > 100


NORMALIZED = ["add-k", "absolute-discount", "witten-bell", "katz", "kneser-ney", "modified-kneser-ney"]


@pytest.mark.parametrize("smoothing", NORMALIZED)
@pytest.mark.parametrize("order", [1, 2, 3, 4, 7])
def test_sums_to_one_for_every_context(smoothing, order):
    model = lmlab_model(smoothing, order)
    tok = model.tokenizer
    seen = [tok.encode(" ".join(c)) for c, _ in contexts(order)]
    unseen = [[tok.token_to_id("mat"), tok.token_to_id("a")], [tok.unk_id], [tok.unk_id, tok.unk_id, 3]]
    for ctx in seen + unseen:
        p = np.exp(model.next_token_logprobs(ctx))
        assert p[tok.bos_id] == 0.0
        assert p.sum() == pytest.approx(1.0, abs=1e-9), (smoothing, ctx)
        if smoothing != "katz":  # Katz keeps no mass after contexts whose followers all occur more than K times
            assert (p > 0).sum() == tok.vocab_size - 1  # nothing but <s> has probability 0


@pytest.mark.parametrize("smoothing", NORMALIZED)
def test_score_stream_agrees_with_next_token_distribution(smoothing):
    model = lmlab_model(smoothing, 3)
    tok = model.tokenizer
    enc = tok.encode_lines(TEST)
    lp = model.score_stream(enc.ids)
    i = 0
    for line in TEST:
        ids = tok.encode(line) + [tok.eos_id]
        for j, w in enumerate(ids):
            assert lp[i] == pytest.approx(model.next_token_logprobs(ids[:j])[w], abs=1e-12)
            i += 1
    assert i == lp.size


def test_kneser_ney_single_discount_is_modified_with_equal_discounts():
    kn = lmlab_model("kneser-ney", 3)
    assert all(len(set(d)) == 1 for d in kn.discounts)
    # on this small corpus discounts fall back; still a distribution that beats add-one on held-out text
    assert evaluate(kn, TEST).perplexity < evaluate(lmlab_model("add-k", 3), TEST).perplexity


def test_stupid_backoff_is_flagged_not_a_probability():
    model = lmlab_model("stupid-backoff", 3)
    assert not model.normalized
    with pytest.raises(ValueError, match="scores, not probabilities"):
        evaluate(model, TEST)


def test_mle_zero_probability_is_reported_not_infinite():
    model = lmlab_model("mle", 2)
    with pytest.raises(ValueError, match="probability 0"):
        evaluate(model, ["the zebra sat"])


def test_perplexity_protocol_counts_end_tokens_and_oov():
    model = lmlab_model("modified-kneser-ney", 3)
    r = evaluate(model, ["the cat", "the zebra sat", ""])
    assert r.tokens == 2 + 3 + 0 + 3  # words plus one </s> per line, <s> never
    assert r.oov == 1
    assert math.isfinite(r.perplexity)
