"""The word tokenizer's compiled look-up (lmlab/tokenizers/_words.c) gives exactly the readable path's ids."""

from __future__ import annotations

import copy
import pickle
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmlab.errors import LmlabError
from lmlab.tokenizers import SPECIALS, WordTokenizer
from lmlab.tokenizers import base as base_module
from lmlab.tokenizers import word as word_module

pytestmark = pytest.mark.skipif(word_module.WordIndex is None, reason="the word look-up extension is not built")

#: every character Python's str.split() cuts at, past ASCII (U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
#: U+2029, U+202F, U+205F, U+3000), and the ASCII ones it also cuts at beside space, tab and newline
UNICODE_SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
LOOKALIKES = ["\u200b", "\ufeff", "\u180e", "\u2060", "_", "\x00"]  # not whitespace to str.split()


def both(tok: WordTokenizer, lines: list[str]):
    fast, slow = tok.encode_lines(lines), tok.encode_lines_python(lines)
    assert fast.ids.dtype == slow.ids.dtype == np.int32
    assert fast.ids.tolist() == slow.ids.tolist()
    assert (fast.n_oov, fast.n_lines) == (slow.n_oov, slow.n_lines)
    return fast


def test_every_unicode_space_cuts_as_str_split_does():
    assert "\x1c" in UNICODE_SPACES and "\u3000" in UNICODE_SPACES and "\u200b" not in UNICODE_SPACES
    tok = WordTokenizer.train(["a b é 日本"])
    lines = [f"a{s}b{s}{s}é{s}日本{s}" for s in UNICODE_SPACES] + [f"a{s}b" for s in LOOKALIKES]
    enc = both(tok, lines)
    assert enc.ids.tolist()[:5] == tok.encode("a b é 日本") + [2]
    assert enc.n_oov == len(LOOKALIKES)  # "a\u200bb" is one word, not in the vocabulary


def test_specials_non_ascii_surrogates_and_empty_lines():
    tok = WordTokenizer.train(["the cat", "<unk> Straße naïve 😀 \ud800x"])
    lines = ["", "   ", "<s> </s> <unk> <UNK>", "Straße straße naïve naive", "😀 \ud800x \ud800 x\udfff", "the\tcat\n"]
    enc = both(tok, lines)
    assert enc.ids.tolist()[:2] == [2, 2]  # an empty or blank line is only its </s>
    assert enc.ids.tolist()[2:6] == [1, 2, 0, 0]  # literal specials are their ids, as in the dict look-up


def test_lowercase_applies_python_lower():
    tok = WordTokenizer.train(["İstanbul STRASSE Σίσυφος"], lowercase=True)
    both(tok, ["İSTANBUL strasse ΣΊΣΥΦΟΣ", "i̇stanbul"])


def test_a_token_with_whitespace_never_matches_and_long_words_hash_whole():
    long_word = "x" * 1000
    tok = WordTokenizer(["<unk>", "<s>", "</s>", "a b", long_word, long_word[:-1] + "y", "abcdefgh", "abcdefghi"])
    enc = both(tok, ["a b", long_word, long_word[:-1] + "y", "abcdefgh abcdefghi abcdefg"])
    assert enc.ids.tolist() == [0, 0, 2, 4, 2, 5, 2, 6, 7, 0, 2]


def test_refuses_what_is_not_str():
    tok = WordTokenizer.train(["a"])
    with pytest.raises(TypeError, match="line 1 is bytes"):
        tok.encode_lines(["a", b"a"])


def test_ids_are_a_writable_array():
    enc = WordTokenizer.train(["a b"]).encode_lines(["a b c"])
    assert enc.ids.tolist() == [3, 4, 0, 2]
    enc.ids[0] = 7  # callers may edit the stream in place, as they may the readable path's
    assert enc.ids.tolist() == [7, 4, 0, 2]


words = st.text(st.sampled_from("ab é日\ud800" + "".join(UNICODE_SPACES[:8]) + "\u200b"), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(words, max_size=6), st.lists(words, max_size=8), st.booleans())
def test_any_text_same_ids(vocabulary, lines, lowercase):
    both(WordTokenizer.train(vocabulary, lowercase=lowercase), lines)


def test_ptb_valid_same_ids(shared_data):
    lines = (shared_data / "ptb" / "ptb.valid.txt").read_text().split("\n")
    tok = WordTokenizer.train(lines[: len(lines) // 2])  # the second half brings unseen words
    assert both(tok, lines).n_oov > 0


def test_without_the_extension_the_readable_path_answers(monkeypatch):
    tok = WordTokenizer.train(["a b"])
    expected = tok.encode_lines(["a  b z", ""])
    monkeypatch.setattr(word_module, "WordIndex", None)
    got = WordTokenizer.train(["a b"]).encode_lines(["a  b z", ""])
    assert got.ids.tolist() == expected.ids.tolist() == [3, 4, 0, 2, 2] and got.n_oov == 1


def test_copies_and_pickles_leave_the_index_out_and_encode_the_same():
    tok = WordTokenizer.train(["a b c"])
    before = tok.encode_lines(["a b d"]).ids.tolist()
    for other in (copy.deepcopy(tok), pickle.loads(pickle.dumps(tok))):
        assert other._compiled is None and tok._compiled is not None
        assert other.encode_lines(["a b d"]).ids.tolist() == before


def _counted(lines: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        for w in line.split():
            counts[w] = counts.get(w, 0) + 1
    return counts


@settings(max_examples=200, deadline=None)
@given(st.lists(words, max_size=12))
def test_training_counts_words_in_c_as_str_split_does(lines):
    """The vocabulary's counts (word_module.count_words) against str.split() and a dict, on every space Python
    cuts at, look-alikes it does not, non-ASCII text and lone surrogates."""
    assert word_module.count_words(lines) == _counted(lines)


def test_training_counts_across_batches_give_the_readable_vocabulary(monkeypatch):
    lines = [f"a{s}b{s}{s}é{s}日本{s}a" for s in UNICODE_SPACES] + [f"a{s}b" for s in LOOKALIKES] + ["", "\ud800x x"]
    lines = lines * 3
    with pytest.raises(TypeError, match="line 1 is bytes, not str"):
        word_module.count_words(["a", b"b"])
    monkeypatch.setattr(word_module, "COUNT_LINES", 7)  # counted a batch at a time, the batches added up
    fast = WordTokenizer.train(iter(lines), lowercase=True)
    monkeypatch.setattr(word_module, "count_words", None)
    slow = WordTokenizer.train(iter(lines), lowercase=True)
    assert fast.tokens() == slow.tokens() and len(fast.tokens()) > 10


@settings(max_examples=200, deadline=None)
@given(st.lists(words | st.sampled_from(["a", "é", "\ud800", "\ud83d\ude00", "😀"]), max_size=12))
def test_the_index_counts_repeated_tokens_as_a_set_does(tokens):
    assert word_module.WordIndex(tokens).duplicates == len(tokens) - len(set(tokens))


@pytest.mark.parametrize("compiled", [True, False])
def test_a_repeated_token_is_refused_with_or_without_the_extension(monkeypatch, compiled):
    """The vocabulary's repeats are counted by its compiled index where there is one (no Python dict is made for a
    tokenizer that only encodes in C: lmlab eval of a model file), else by the dict."""
    if not compiled:
        monkeypatch.setattr(base_module, "_compiled_index", lambda tokens: None)
    with pytest.raises(LmlabError, match="duplicate tokens"):
        WordTokenizer([*SPECIALS, "a", "b", "a"])
    tok = WordTokenizer([*SPECIALS, "a", "é", "\ud83d\ude00", "😀"])
    assert (tok._compiled is not None) == compiled
    assert (tok._token_ids is None) == compiled  # the dict is made where a look-up in Python needs it
    assert tok._index == {t: i for i, t in enumerate(tok.tokens())}
    assert tok.encode("a 😀 b") == [3, 6, 0]
