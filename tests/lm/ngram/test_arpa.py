"""ARPA files both ways: lmlab's export loads in KenLM with equal scores; KenLM and SRILM files load in lmlab."""

from __future__ import annotations

import numpy as np
import pytest

from lmlab.errors import LmlabError
from lmlab.lm.evaluate import evaluate
from lmlab.lm.ngram.arpa import read_arpa, write_arpa

from .helpers import fit, model_entries

TRAIN = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the cat saw a dog on a log"]
TEST = ["the cat sat on a log", "a dog and the mat", "zebra cat"]


@pytest.mark.parametrize("smoothing", ["modified-kneser-ney", "witten-bell", "katz", "add-k", "mle"])
def test_round_trip_keeps_every_entry(tmp_path, smoothing):
    model = fit(TRAIN, order=3, smoothing=smoothing)
    write_arpa(model, tmp_path / "m.arpa")
    again = read_arpa(tmp_path / "m.arpa")
    a, b = model_entries(model), model_entries(again)
    assert a.keys() == b.keys()
    for key in a:
        for x, y in zip(a[key], b[key]):
            assert (x == y == -np.inf) or (key == (1, "<s>") and x == -np.inf) or abs(x - y) < 1e-6, key


def test_kenlm_scores_equal_lmlab_scores(tmp_path):
    kenlm = pytest.importorskip("kenlm")
    model = fit(TRAIN, order=4)
    path = tmp_path / "m.arpa"
    write_arpa(model, path)
    ref = kenlm.Model(str(path))
    tok = model.tokenizer
    for line in TEST + TRAIN:
        mine = model.log10_stream(tok.encode_lines([line]).ids).sum()
        assert mine == pytest.approx(ref.score(line, bos=True, eos=True), abs=1e-4), line


def test_kenlm_fixture_loads_and_scores(kenlm_fixtures):
    model = read_arpa(kenlm_fixtures / "tiny.3gram.fallback.arpa")
    assert model.order == 3 and model.sizes() == [12, 17, 16]
    r = evaluate(model, ["the cat sat on the log", "a dog"])
    assert np.isfinite(r.perplexity) and r.tokens == 7 + 3


SRILM = """
\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-0.5 </s>
-99 <s> -0.2
-0.9 a -0.1
-0.7 b
-1.2 <unk>

\\2-grams:
-0.2 <s> a
-0.3 a b
-0.1 b </s>

\\end\\
"""


def test_srilm_style_file_with_spaces_and_missing_backoffs(tmp_path):
    path = tmp_path / "srilm.arpa"
    path.write_text(SRILM)
    model = read_arpa(path)
    tok = model.tokenizer
    lp = model.log10_stream(tok.encode_lines(["a b"]).ids)
    assert lp.tolist() == pytest.approx([-0.2, -0.3, -0.1])
    lp = model.log10_stream(tok.encode_lines(["b a"]).ids)  # bow(<s>) + p(b); bow(b) + p(a); bow(a) + p(</s>)
    assert lp.tolist() == pytest.approx([-0.2 - 0.7, 0.0 - 0.9, -0.1 - 0.5])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello\n", r"expected '\\data\\'"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1 <s>\n", r"x.arpa:6: .*truncated"),
        ("\\data\\\nngram 1=3\n\n\\1-grams:\n-1 <s>\n-1 </s>\n", r"x.arpa:7: .*truncated"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1 <s>\nx </s>\n\n\\end\\\n", r"x.arpa:6: not a number"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1 <s>\n-1 </s>\n", r"expected '\\end\\'"),
        (
            "\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1 <s>\n-1 </s>\n\n\\2-grams:\n-1 <s> zebra\n\n\\end\\\n",
            r"x.arpa:10: word 'zebra' is not among the unigrams",
        ),
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "x.arpa"
    path.write_text(text)
    with pytest.raises(LmlabError, match=message):
        read_arpa(path)


def test_vocabulary_with_spaces_cannot_be_written_as_arpa(tmp_path):
    from lmlab.lm.ngram.model import NgramConfig, NgramLM
    from lmlab.tokenizers import CharTokenizer

    tok = CharTokenizer.train(["a b"])
    model = NgramLM.fit(tok.encode_lines(["a b"]).ids, tok, NgramConfig(order=2))
    with pytest.raises(LmlabError, match="whitespace"):
        write_arpa(model, tmp_path / "c.arpa")
    assert not (tmp_path / "c.arpa").exists()
