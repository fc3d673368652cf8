"""Byte Pair Encoding: the lecture's worked examples, the fast trainer and encoder against the textbook ones,
byte-level round trips, <unk>, the file format and bad input."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmlab.errors import LmlabError
from lmlab.tokenizers import BPETokenizer, _bpe_core, load_tokenizer
from lmlab.tokenizers.bpe import BYTE_TO_CHAR, CHAR_TO_BYTE, count_words, gpt2_regex, listing_path

TEXT = [
    "the cat sat on the mat , and the dog sat on the log .",
    "low lower lowest newer newest wider widest  tall taller tallest",
    "Ünïcödé wörds , 日本語の文章です , emoji 🙂🙂 and 🚀 , combining e\u0301 a\u0300 .",
    "numbers 1984 and 2025 ; it's they're we've I'm you'll he'd",
] * 5


@pytest.fixture(scope="module")
def byte_tok() -> BPETokenizer:
    return BPETokenizer.train(TEXT, vocab_size=420, byte_level=True)


@pytest.fixture(scope="module")
def char_tok() -> BPETokenizer:
    return BPETokenizer.train(TEXT, vocab_size=150)


# The lecture's worked examples.


def test_low_lower_newest_widest():
    tok = BPETokenizer.train(["low lower newest widest"], vocab_size=1000)
    assert set(tok.alphabet) == set("lowernstid") and len(tok.alphabet) == 10
    # Then no pair occurs twice, so training stops long before 1000 tokens.
    assert tok.merges == [("e", "s"), ("es", "t"), ("l", "o"), ("lo", "w")]
    assert tok.merge_counts == [2, 2, 2, 2]
    assert tok.vocab_size == 3 + 1 + 10 + 4
    ids = tok.encode("low lower newest widest")
    assert "|".join(tok.id_to_token(i) for i in ids) == "low| |low|e|r| |n|e|w|est| |w|i|d|est"
    assert tok.decode(ids) == "low lower newest widest"
    # Character mode keeps the words and one space between them.
    assert tok.decode(tok.encode("  low\tlower \n newest ")) == "low lower newest"


def test_aaabdaaabac_both_modes():
    for byte_level in (False, True):
        tok = BPETokenizer.train(["aaabdaaabac"], vocab_size=300, byte_level=byte_level)
        assert tok.merges == [("a", "a"), ("a", "b"), ("aa", "ab")]
        assert tok.merge_counts == [4, 2, 2]
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert [tok.id_to_token(i) for i in (256, 257, 258)] == ["aa", "ab", "aaab"]
    assert (tok.unk_id, tok.bos_id, tok.eos_id, tok.vocab_size) == (259, 260, 261, 262)


def test_vocab_size_stops_training_and_counts_special_tokens():
    tok = BPETokenizer.train(TEXT, vocab_size=300, byte_level=True)
    assert tok.vocab_size == 300 and len(tok.merges) == 300 - 256 - 3
    assert len(tok.tokens()) == len(set(tok.tokens())) == 300
    char = BPETokenizer.train(TEXT, vocab_size=120)
    assert char.vocab_size == 120 == 4 + len(char.alphabet) + len(set(char.merges))


def test_min_frequency():
    few = BPETokenizer.train(TEXT[:4], vocab_size=10_000, min_frequency=5)
    assert few.merge_counts and min(few.merge_counts) >= 5
    all_pairs = BPETokenizer.train(["abcd"], vocab_size=100, min_frequency=1)
    assert all_pairs.merges == [("a", "b"), ("ab", "c"), ("abc", "d")]


def test_merge_counts_never_rise(char_tok, byte_tok):
    for tok in (char_tok, byte_tok):
        assert tok.merge_counts == sorted(tok.merge_counts, reverse=True)


# The fast paths against the readable ones.


def _random_corpus(rng: random.Random) -> tuple[list[list[int]], list[int], list[bytes]]:
    alphabet = [bytes([c]) for c in b"abcde"[: rng.randint(1, 5)]]
    words = [[rng.randrange(len(alphabet)) for _ in range(rng.randint(1, 9))] for _ in range(rng.randint(1, 12))]
    freqs = [rng.choice([1, 1, 2, 3, 7]) for _ in words]
    return words, freqs, alphabet


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("pair_counter", ["python", "numpy"])
def test_fast_trainer_equals_naive_trainer(seed, pair_counter, monkeypatch):
    monkeypatch.setattr(_bpe_core, "NUMPY_MIN_SYMBOLS", 0 if pair_counter == "numpy" else 10**9)
    rng = random.Random(seed)
    words, freqs, symbols = _random_corpus(rng)
    forbidden = frozenset({symbols[0] * 3})  # some runs want to spell it
    kwargs = dict(min_frequency=rng.choice([1, 2, 3]), frozen=frozenset({len(symbols) - 1}), forbidden=forbidden)
    max_symbols = len(symbols) + rng.randint(0, 25)
    words_a, symbols_a = [list(w) for w in words], list(symbols)
    words_b, symbols_b = [list(w) for w in words], list(symbols)
    fast = _bpe_core.learn_merges(words_a, freqs, symbols_a, max_symbols, progress=False, **kwargs)
    naive = _bpe_core.learn_merges_naive(words_b, freqs, symbols_b, max_symbols, **kwargs)
    assert fast == naive
    assert (words_a, symbols_a) == (words_b, symbols_b)


@pytest.mark.parametrize("seed", range(10))
def test_initial_pair_counts_in_python_equal_numpys(seed):
    words, freqs, _ = _random_corpus(random.Random(seed))
    counts_py, where_py = _bpe_core._initial_pairs_python(words, freqs)
    counts_np, where_np = _bpe_core._initial_pairs_numpy(words, freqs)
    assert dict(counts_py) == dict(counts_np) and dict(where_py) == dict(where_np)


def test_a_merge_spelling_an_existing_token_reuses_its_id():
    symbols = [b"a", b"b", b"ab"]  # "ab" exists already (as a special token might)
    words = [[0, 1, 0, 1], [0, 1]]
    merges = _bpe_core.learn_merges(words, [1, 1], symbols, 100, progress=False)
    assert [(m.a, m.b, m.new, m.count) for m in merges] == [(0, 1, 2, 3)]  # then (ab, ab) occurs only once
    assert symbols[:3] == [b"a", b"b", b"ab"] and words[1] == [2]


def _random_merges(rng: random.Random) -> tuple[dict[int, int], list[int], int]:
    n = 5
    merges = []
    for _ in range(rng.randint(1, 15)):
        x, y = rng.randrange(n), rng.randrange(n)
        new = rng.choice([rng.randrange(n), n, n])  # sometimes an existing id, as when two merges spell a token
        n += new == n
        merges.append((x, y, new))
    ranks, new = _bpe_core.merge_ranks(merges)
    return ranks, new, n


@pytest.mark.parametrize("seed", range(20))
def test_word_encoders_agree(seed, monkeypatch):
    rng = random.Random(seed)
    ranks, new, n = _random_merges(rng)
    words = [[rng.randrange(n) for _ in range(rng.randint(0, 100))] for _ in range(150)]
    heap = [_bpe_core.encode_word_heap(w, ranks, new) for w in words]
    batched = _bpe_core.encode_words(words, ranks, new)
    monkeypatch.setattr(_bpe_core, "LONG_WORD", 10**9)  # the O(n^2) scan for every length
    scan = [_bpe_core.encode_word(list(w), ranks, new) for w in words]
    assert scan == heap == batched


def test_encoding_a_long_word_is_fast(byte_tok):
    word = "ab" * 20_000 + "🙂" * 1000
    ids = byte_tok.encode(word)
    assert byte_tok.decode(ids) == word


def test_encoder_replays_the_trainer():
    # Right after training the encode cache holds the trainer's own segmentation of the training words; a
    # tokenizer loaded from the file recomputes it by applying the merges by rank: both must agree.
    for byte_level in (False, True):
        trained = BPETokenizer.train(TEXT, vocab_size=380 if byte_level else 160, byte_level=byte_level)
        loaded = BPETokenizer.from_dict(trained.to_dict())
        assert trained._words and not loaded._words
        assert trained.encode_lines(TEXT).ids.tolist() == loaded.encode_lines(TEXT).ids.tolist()
        assert {w: loaded._words[w] for w in trained._words} == trained._words


# Byte-level: every string round-trips.

WEIRD = ["", " ", "  ", "\n", "\t\t x", "a  b   c    ", " 's 't 're", "🙂", "日本語", "e\u0301\u0302", "\x00\x1c\x85"]
PIECES = ["🙂", "🚀", "👩\u200d👩\u200d👧", "日本", "語", "\u0301", "\x00", "\t", "\x1c", " ", "  ", "'s", "\r\n", "é"]
# Arbitrary unicode (all planes, control characters, the empty string), with emoji, CJK, combining marks and
# the pre-tokenizer's corner cases drawn often.
unicode_text = st.lists(st.one_of(st.characters(), st.sampled_from(PIECES)), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(unicode_text)
def test_byte_level_round_trip(byte_tok, text):
    assert byte_tok.decode(byte_tok.encode(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.lists(unicode_text, max_size=5))
def test_byte_level_encode_is_the_regex_then_bpe_per_piece(byte_tok, lines):
    # The fast split at single spaces must give exactly GPT-2's pieces; encode_lines exactly encode per line.
    def reference(line):
        ids = []
        for piece in gpt2_regex().findall(line):
            ids += _bpe_core.encode_word(
                list(piece.encode("utf-8", "surrogatepass")), byte_tok._ranks, byte_tok._merged
            )
        return ids

    lines = [line.replace("\n", " ") for line in lines] + WEIRD[:4]
    for line in lines:
        assert byte_tok.encode(line) == reference(line)
    want = [i for line in lines for i in [*reference(line), byte_tok.eos_id]]
    assert byte_tok.encode_lines(lines).ids.tolist() == want


def test_byte_level_special_cases(byte_tok):
    for text in WEIRD:
        assert byte_tok.decode(byte_tok.encode(text)) == text
    assert byte_tok.decode(byte_tok.encode("\ud800 lone surrogate")) == "\ud800 lone surrogate"
    assert byte_tok.encode("") == [] and byte_tok.encode_lines([]).ids.tolist() == []
    ids = byte_tok.encode("the cat")
    assert byte_tok.decode([byte_tok.bos_id, *ids, byte_tok.eos_id]) == "the cat"
    assert byte_tok.decode([0xE6]) == "\ufffd"  # half a character
    assert byte_tok.id_to_token(ord(" ")) == "Ġ" and byte_tok.token_text(ord(" ")) == " "
    # Special tokens are never made from text: "<s>" is spelled with ordinary tokens.
    assert byte_tok.bos_id not in byte_tok.encode("<s> <unk> </s>")


@pytest.mark.parametrize("text", ["Hello world's  1984 café!!", "a\tb\n\nc   d ", " 're 're'm", "x\u3000y\xa0z"])
def test_gpt2_regex_equals_the_unicode_property_version(text):
    regex = pytest.importorskip("regex")
    gpt2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
    assert gpt2_regex().findall(text) == gpt2.findall(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cn", "Cs", "Co"])))
def test_gpt2_regex_equals_the_unicode_property_version_on_random_text(text):
    regex = pytest.importorskip("regex")
    gpt2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
    assert gpt2_regex().findall(text) == gpt2.findall(text)


def test_gpt2_pieces_are_fixed_points():
    for text in [*TEXT, *WEIRD, "''ll 'x ' 's  \t 'T"]:
        for piece in gpt2_regex().findall(text):
            assert gpt2_regex().findall(piece) == [piece]


def test_byte_table():
    assert len(set(BYTE_TO_CHAR)) == 256 and all(c.isprintable() for c in BYTE_TO_CHAR)
    assert all(CHAR_TO_BYTE[BYTE_TO_CHAR[b]] == b for b in range(256))


# Character mode: unseen characters are <unk>, and counted.


def test_unseen_characters_are_unk_and_counted(char_tok):
    ids = char_tok.encode("cat ж dogж")
    assert ids.count(char_tok.unk_id) == 2
    assert char_tok.decode(ids) == "cat <unk> dog<unk>"
    enc = char_tok.encode_lines(["cat ж", "", "жж dog"])
    assert enc.n_oov == 3 and enc.n_lines == 3
    assert enc.ids.tolist() == [*char_tok.encode("cat ж"), 2, 2, *char_tok.encode("жж dog"), 2]
    assert char_tok._encode_counting_oov("ж ж") == (char_tok.encode("ж ж"), 2)


def test_character_mode_layout(char_tok):
    assert char_tok.tokens()[:4] == ["<unk>", "<s>", "</s>", " "]
    assert char_tok.alphabet == sorted(char_tok.alphabet) == char_tok.tokens()[4 : 4 + len(char_tok.alphabet)]
    assert (char_tok.unk_id, char_tok.bos_id, char_tok.eos_id) == (0, 1, 2)


def test_encode_lines_equals_encode_per_line(char_tok, byte_tok):
    lines = [*TEXT[:4], "", "   ", "a\tb", "  lead and trail  ", "ж"]
    for tok in (char_tok, byte_tok):
        want = [i for line in lines for i in [*tok.encode(line), tok.eos_id]]
        assert tok.encode_lines(lines).ids.tolist() == want


def test_unk_marker_in_text_becomes_the_unk_token_but_sentence_markers_never_merge():
    tok = BPETokenizer.train(["a <unk> b <s> c </s>"] * 50, vocab_size=100)
    assert tok.encode("<unk>") == [tok.unk_id]  # WikiText's own marker, as in a word vocabulary
    assert tok.encode_lines(["<unk>"]).n_oov == 0
    assert "<s>" not in tok.tokens()[3:] and tok.tokens().count("</s>") == 1
    assert tok.decode(tok.encode("x <s> </s>")) == "<unk> <s> </s>"


def test_count_words():
    assert count_words(["the  cat", " the"]) == {"the": 2, "cat": 1}
    assert count_words(["the  cat", " the", "a\tb"], byte_level=True) == {
        "the": 1,
        " ": 1,
        " cat": 1,
        " the": 1,
        "a": 1,
        "\t": 1,
        "b": 1,
    }


# Files.


def test_save_load_round_trip(tmp_path, char_tok, byte_tok):
    for tok in (char_tok, byte_tok):
        path = tmp_path / f"{tok.byte_level}.json"
        tok.save(path)
        d = json.loads(path.read_text(encoding="utf-8"))
        assert (d["format"], d["version"], d["kind"], d["bpe_version"]) == ("lmlab-tokenizer", 1, "bpe", 1)
        assert d["merges"] == [list(m) for m in tok.merges]
        again = load_tokenizer(path)
        assert isinstance(again, BPETokenizer) and again.to_dict() == tok.to_dict()
        assert again.tokens() == tok.tokens() and again.encode(TEXT[2]) == tok.encode(TEXT[2])
        listing = listing_path(path).read_text(encoding="utf-8")
        assert listing == tok.listing() and len(listing.splitlines()) == tok.vocab_size + 2
    assert "'Ġt' + 'he'" not in byte_tok.listing() and "' t' + 'he'" in byte_tok.listing()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"bpe_version": 7}, "BPE tokenizer data version 7 is not supported"),
        ({"merges": [["a", "zz"]]}, "uses a token that no earlier merge defines"),
        ({"merges": [["a"]]}, "not a pair of token strings"),
        ({"merges": "a b"}, "'merges' is missing or not a list"),
        ({"vocab_size": 3}, "it says vocab_size 3"),
        ({"byte_level": "yes"}, "'byte_level' is 'yes'"),
        ({"alphabet": ["ab"]}, "'alphabet' is not a list of single characters"),
        ({"merge_counts": [1]}, "'merge_counts' does not match"),
    ],
)
def test_corrupted_files_are_one_clear_error(tmp_path, char_tok, change, message):
    path = tmp_path / "t.json"
    char_tok.save(path)
    d = json.loads(path.read_text(encoding="utf-8"))
    if "merges" in change:
        del d["merge_counts"]
    d.update(change)
    path.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(LmlabError, match=message):
        load_tokenizer(path)


def test_unreadable_files(tmp_path, char_tok):
    path = tmp_path / "t.json"
    char_tok.save(path)
    path.write_text(path.read_text(encoding="utf-8")[:100], encoding="utf-8")
    with pytest.raises(LmlabError, match="not a valid tokenizer file"):
        load_tokenizer(path)
    path.write_text(json.dumps({**char_tok.to_dict(), "format": "lmlab-tokenizer", "version": 2}))
    with pytest.raises(LmlabError, match="version 2 is not supported"):
        load_tokenizer(path)


# Bad input.


def test_vocab_size_below_the_alphabet():
    with pytest.raises(LmlabError, match=r"smaller than the initial vocabulary .* at least 14"):
        BPETokenizer.train(["low lower newest widest"], vocab_size=13)
    with pytest.raises(LmlabError, match="at least 259"):
        BPETokenizer.train(["abc"], vocab_size=258, byte_level=True)
    assert BPETokenizer.train(["low lower newest widest"], vocab_size=14).merges == []


@pytest.mark.parametrize("lines", [[], [""], ["  ", "\t"]])
def test_empty_corpus(lines):
    with pytest.raises(LmlabError, match="empty corpus"):
        BPETokenizer.train(lines, vocab_size=300)
    if not any(lines):
        with pytest.raises(LmlabError, match="empty corpus"):
            BPETokenizer.train(lines, vocab_size=300, byte_level=True)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocab_size": "8000"}, "vocab_size must be an integer"),
        ({"vocab_size": 300, "min_frequency": 0}, "min_frequency must be an integer >= 1"),
        ({"vocab_size": 300, "tie_break": "random"}, "tie_break must be"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(LmlabError, match=message):
        BPETokenizer.train(["abc"], **kwargs)


def test_decode_rejects_ids_out_of_range(char_tok):
    with pytest.raises(LmlabError, match="token id 9999 is out of range"):
        char_tok.decode([4, 9999])
    with pytest.raises(LmlabError, match="token id -1 is out of range"):
        char_tok.decode([-1])


def test_progress_bar_can_be_forced(capsys):
    BPETokenizer.train(TEXT, vocab_size=200, progress=True)
    assert "BPE merges" in capsys.readouterr().err
    BPETokenizer.train(TEXT, vocab_size=200)  # not a terminal: no bar
    assert capsys.readouterr().err == ""


def test_small_caches_give_the_same_ids(monkeypatch, char_tok, byte_tok):
    lines = TEXT + ["unseen words here", "and more of them"] * 3
    for tok in (char_tok, byte_tok):
        want = tok.encode_lines(lines).ids.tolist()
        fresh = BPETokenizer.from_dict(tok.to_dict())
        monkeypatch.setattr("lmlab.tokenizers.bpe.CACHE_LIMIT", 5)
        monkeypatch.setattr("lmlab.tokenizers.bpe.CHUNK_LINES", 3)
        assert fresh.encode_lines(lines).ids.tolist() == want
        assert [i for line in lines for i in [*fresh.encode(line), fresh.eos_id]] == want
        monkeypatch.undo()


def test_gc_is_restored():
    import gc

    with _bpe_core.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
