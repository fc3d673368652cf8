"""``lmlab.load`` on translation runs of every family: predict equals greedy decoding (beam 1), beam search and
``lmlab translate``; explain gives the alignment ``lmlab attention`` draws; bad inputs are one LmlabError line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import lmlab
from lmlab.errors import LmlabError
from lmlab.translate.decode import greedy_search, max_lengths
from lmlab.translate.models import TRANSLATORS
from tests.translate.conftest import write_corpus

SIZES = {
    "seq2seq": ["--d-embed", "12", "--d-hidden", "12", "--n-layer", "1"],
    "bahdanau": ["--d-embed", "12", "--d-hidden", "12", "--d-attention", "8"],
    "luong": ["--d-embed", "12", "--d-hidden", "12", "--n-layer", "2"],
    "transformer": ["--d-model", "16", "--d-ff", "32", "--n-head", "2", "--n-encoder-layer", "2",
                    "--n-decoder-layer", "2", "--max-len", "32"],
}  # fmt: skip
SENTENCES = ["ein hund läuft .", "frau sieht katze .", "ein großer mann schläft ."]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks run faster on one thread than on several that wait for each other (the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, one_thread):
    """One tiny run of every family, two epochs over 200 word-for-word pairs (about a second each)."""
    from lmlab.cli.main import main

    assert set(SIZES) == set(TRANSLATORS)
    root = tmp_path_factory.mktemp("translate-api")
    data = write_corpus(root / "toy", sizes=(("train", 200), ("valid", 8), ("test", 4)))
    for family, sizes in SIZES.items():
        argv = ["train", "--task", "translate", "--model", family, "--data", str(data), "--src", "de", "--tgt", "en",
                "--out", str(root / family), "--tokenizer", "word", "--seed", "1", "--device", "cpu", "--epochs", "2",
                "--batch-size", "25", "--lr", "1e-2", "--no-val-bleu", "--main-metric", "loss", *sizes]  # fmt: skip
        assert main(argv) == 0
    return root


@pytest.fixture
def cli(capsys):
    from lmlab.cli.main import main

    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.mark.parametrize("family", SIZES)
def test_beam_one_is_greedy_decoding_and_what_lmlab_translate_prints(runs, cli, tmp_path, family):
    m = lmlab.load(runs / family)
    assert (m.task, m.family) == ("translate", family) and type(m).__name__ == "TranslateRun"
    got = m.predict(SENTENCES)
    json.dumps(got)
    assert [r["source"] for r in got] == SENTENCES
    assert all({"translation", "score", "logprob", "nbest", "length_normalised"} <= r.keys() for r in got)
    tr = m.translator
    srcs, _ = tr.encode_sources(SENTENCES)
    limits = max_lengths([s.size for s in srcs], tr.cfg.max_len_a, tr.cfg.max_len_b, tr.cfg.max_len)
    greedy = greedy_search(tr.net.eval(), srcs, limits)
    for r, h in zip(got, greedy):
        assert r["translation"] == tr.detokenize(h) and r["nbest"] == [{k: r[k] for k in ("translation", "score",
                                                                                          "logprob")}]  # fmt: skip
        assert r["score"] == r["logprob"] == pytest.approx(h.logprob) and not r["length_normalised"]
    src = tmp_path / "in.de"
    src.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    rc, out, err = cli("translate", runs / family, "--input", src, "--beam", "1")
    assert rc == 0, err
    assert out.splitlines() == [r["translation"] for r in got]


@pytest.mark.parametrize("family", ["bahdanau", "transformer"])
def test_beam_search_gives_the_n_best_of_lmlab_translate(runs, cli, tmp_path, family):
    m = lmlab.load(runs / family)
    got = m.predict(SENTENCES[:2], beam=4, n_best=3, length_penalty=0.6)
    json.dumps(got)
    src = tmp_path / "in.de"
    src.write_text("\n".join(SENTENCES[:2]) + "\n", encoding="utf-8")
    rc, out, err = cli("translate", runs / family, "--input", src, "--beam", "4", "--n-best", "3",
                       "--length-penalty", "0.6")  # fmt: skip
    assert rc == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    expected = [[(float(s), t) for n, s, t in rows if n == str(i + 1)] for i in range(2)]
    for r, best in zip(got, expected):
        assert r["length_normalised"] and len(r["nbest"]) == 3 and r["nbest"][0]["translation"] == r["translation"]
        assert [(round(h["score"], 4), h["translation"]) for h in r["nbest"]] == best
        assert [h["score"] for h in r["nbest"]] == sorted((h["score"] for h in r["nbest"]), reverse=True)
        for h in r["nbest"]:  # score = log P / lp(|Y|), |Y| counting </s>
            length = len(m.translator.vocabs.tgt.encode(h["translation"])) + 1
            assert h["score"] == pytest.approx(h["logprob"] / ((5 + length) / 6) ** 0.6)
    short = m.predict(SENTENCES[:1], max_len=2)[0]
    assert len(m.translator.vocabs.tgt.encode(short["translation"])) <= 1  # two tokens at most, </s> one of them


@pytest.mark.parametrize("family", ["bahdanau", "luong", "transformer"])
def test_explain_gives_the_alignment_of_the_greedy_translation(runs, family):
    m = lmlab.load(runs / family)
    e = m.explain(SENTENCES[0])
    json.dumps(e)
    assert e["translation"] == m.predict(SENTENCES[:1])[0]["translation"]
    assert e["source_tokens"] == ["ein", "hund", "läuft", ".", "</s>"] and e["target_tokens"][-1] == "</s>"
    T, S = len(e["target_tokens"]), len(e["source_tokens"])
    weights = np.array([layer["heads"] for layer in e["layers"]])  # (L, h, T, S)
    L, h = (2, 2) if family == "transformer" else (1, 1)
    assert weights.shape == (L, h, T, S) and [layer["layer"] for layer in e["layers"]] == list(range(1, L + 1))
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)  # each target token's weights over the source
    np.testing.assert_allclose(np.array(e["alignment"]), weights.mean(axis=(0, 1)), atol=1e-12)
    src, tgt, expected, translation = m.translator.alignment(SENTENCES[0], m.decode_config(beam=1))
    assert (src, tgt, translation) == (e["source_tokens"], e["target_tokens"], e["translation"])
    np.testing.assert_allclose(weights, expected)  # lmlab attention's matrices (with a greedy search)


def test_explain_without_attention_says_so(runs):
    e = lmlab.load(runs / "seq2seq").explain(SENTENCES[0])
    json.dumps(e)
    assert e["alignment"] is None and e["layers"] == [] and "no attention" in e["note"]
    assert e["source_tokens"][-1] == e["target_tokens"][-1] == "</s>"


def test_a_source_past_the_models_limit_is_cut_and_said(runs):
    m = lmlab.load(runs / "transformer")  # --max-len 32
    long, short = m.predict(["ein hund " * 20 + ".", SENTENCES[0]])
    assert long["truncated"] and long["source_length"] == 42 and not short["truncated"]
    assert len(m.explain("ein hund " * 20 + ".")["source_tokens"]) == 32


def test_describe_counts_the_parameters(runs):
    m = lmlab.load(runs / "luong")
    d = m.describe()
    json.dumps(d)
    assert d["task"] == "translate" and d["family"] == "luong" and d["languages"] == {"src": "de", "tgt": "en"}
    assert d["parameters"] == sum(p.numel() for p in m.translator.net.parameters()) > 0
    assert math.isfinite(d["metrics"]["best_val_loss"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.predict([""]), "empty"),
        (lambda m: m.predict(["  "]), "empty"),
        (lambda m: m.predict("ein hund ."), "wrap a single one in a list"),
        (lambda m: m.predict([3]), "must be a string"),
        (lambda m: m.predict(SENTENCES, beam=0), "beam must be an integer from 1 to 100"),
        (lambda m: m.predict(SENTENCES, beam=101), "beam must be an integer from 1 to 100"),
        (lambda m: m.predict(SENTENCES, beam=2, n_best=3), "n_best must be an integer from 1 to 2"),
        (lambda m: m.predict(SENTENCES, max_len=0), "max_len must be an integer from 1"),
        (lambda m: m.predict(SENTENCES, beam=2, length_penalty=-1), "length_penalty must be a number from 0 to 10"),
        (lambda m: m.explain(""), "empty"),
    ],
)
def test_bad_inputs_are_one_line(runs, call, message):
    with pytest.raises(LmlabError, match=message) as e:
        call(lmlab.load(runs / "bahdanau"))
    assert "\n" not in str(e.value)
