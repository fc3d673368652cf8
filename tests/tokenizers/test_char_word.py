"""Character and word tokenizers: vocabulary rules, <unk>, round trips, the JSON file."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmlab.errors import LmlabError
from lmlab.tokenizers import CharTokenizer, WordTokenizer, load_tokenizer


def test_word_vocabulary_keeps_case_and_every_word_by_default():
    tok = WordTokenizer.train(["The cat", "the cat <unk>"])
    assert tok.tokens() == ["<unk>", "<s>", "</s>", "cat", "The", "the"]
    assert tok.encode("the <unk> dog") == [5, 0, 0]  # a literal <unk> is the <unk> token


def test_word_options():
    lines = ["a a a b b c", "A"]
    assert "A" not in WordTokenizer.train(lines, lowercase=True).tokens()
    assert WordTokenizer.train(lines, min_freq=2).tokens()[3:] == ["a", "b"]
    assert WordTokenizer.train(lines, max_size=4).tokens()[3:] == ["a"]
    with pytest.raises(LmlabError, match="reserved token"):
        WordTokenizer.train(["a </s> b"])


def test_encode_lines_counts_oov_and_ends_lines():
    tok = WordTokenizer.train(["a b", "<unk> c"])
    enc = tok.encode_lines(["a z", "", "<unk> q q"])
    assert enc.ids.tolist() == [tok.encode("a")[0], 0, 2, 2, 0, 0, 0, 2]
    assert enc.n_oov == 3 and enc.n_lines == 3


def test_char_encode_lines_vectorised_equals_per_line_encode():
    tok = CharTokenizer.train(["héllo wörld", "日本語 ok"])
    lines = ["hello", "", "日本 zz", "wörld"]
    enc = tok.encode_lines(lines)
    want = [i for line in lines for i in [*tok.encode(line), tok.eos_id]]
    assert enc.ids.tolist() == want
    assert enc.n_oov == 3  # the plain e of "hello" and the two z


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=20), max_size=5))
def test_char_round_trip(lines):
    tok = CharTokenizer.train(lines)
    for line in lines:
        assert tok.decode(tok.encode(line)) == line


@pytest.mark.parametrize("tok", [CharTokenizer.train(["abc"]), WordTokenizer.train(["x y"], lowercase=True)])
def test_save_load_round_trip(tmp_path, tok):
    tok.save(tmp_path / "t.json")
    again = load_tokenizer(tmp_path / "t.json")
    assert type(again) is type(tok) and again.tokens() == tok.tokens()
    assert again.to_dict() == tok.to_dict()


def test_bad_tokenizer_files(tmp_path):
    path = tmp_path / "t.json"
    path.write_text("{not json")
    with pytest.raises(LmlabError, match="not a valid tokenizer file"):
        load_tokenizer(path)
    path.write_text(json.dumps({"format": "lmlab-tokenizer", "version": 99, "kind": "word", "tokens": []}))
    with pytest.raises(LmlabError, match="version 99 is not supported"):
        load_tokenizer(path)
    path.write_text(json.dumps({"format": "lmlab-tokenizer", "version": 1, "kind": "klingon"}))
    with pytest.raises(LmlabError, match="unknown tokenizer kind"):
        load_tokenizer(path)
