"""BPE against HuggingFace ``tokenizers`` (a test dependency only): the exported JSON gives lmlab's ids on
WikiText-2, and lmlab's trainer learns exactly what ``BpeTrainer`` learns once ties are broken the same way."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lmlab.data import read_lines
from lmlab.tokenizers import BPETokenizer
from lmlab.tokenizers.bpe import CHAR_TO_BYTE, count_words, gpt2_regex
from tests.conftest import SHARED_DATA

tokenizers = pytest.importorskip("tokenizers")
WIKITEXT = SHARED_DATA / "wikitext-2"
SPECIALS = ["<unk>", "<s>", "</s>"]


@pytest.fixture(scope="module")
def wikitext() -> dict[str, list[str]]:
    if not (WIKITEXT / "valid.txt").is_file():
        pytest.skip(f"WikiText-2 not found at {WIKITEXT}")
    return {split: read_lines(WIKITEXT / f"{split}.txt") for split in ("valid", "test")}


def hf_train(lines: list[str], vocab_size: int, byte_level: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    if byte_level:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIALS, initial_alphabet=alphabet
        )
    else:
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        # lmlab's character vocabulary has one more token, the word separator.
        trainer = trainers.BpeTrainer(vocab_size=vocab_size - 1, min_frequency=2, special_tokens=SPECIALS)
    trainer.show_progress = False
    tok.train_from_iterator(lines, trainer)
    return [tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]]


@pytest.mark.slow
@pytest.mark.parametrize("byte_level", [False, True])
def test_exported_tokenizer_gives_lmlab_ids_on_wikitext_valid(tmp_path, wikitext, byte_level):
    tok = BPETokenizer.train(wikitext["test"], vocab_size=3000, byte_level=byte_level)
    path = tmp_path / "hf.json"
    tok.save_huggingface(path)
    hf = tokenizers.Tokenizer.from_file(str(path))
    valid = wikitext["valid"]
    hf_ids = [i for enc in hf.encode_batch(valid) for i in [*enc.ids, tok.eos_id]]
    assert hf_ids == tok.encode_lines(valid).ids.tolist()
    assert hf.get_vocab_size() == tok.vocab_size and hf.get_vocab() == {t: i for i, t in enumerate(tok.tokens())}
    if byte_level:
        assert hf.decode(tok.encode(valid[3])) == valid[3]


@pytest.mark.parametrize("byte_level", [False, True])
def test_exported_tokenizer_on_awkward_text(byte_level):
    lines = ["low lower newest widest  ", "a\tb\u3000c\xa0d\x1ce", " 's 're  café 🙂 日本語", "<unk> <s> </s> x"] * 3
    tok = BPETokenizer.train(lines, vocab_size=320 if byte_level else 60, byte_level=byte_level)
    hf = tokenizers.Tokenizer.from_str(json.dumps(tok.to_huggingface()))
    tests = [*lines, "unseen ж chars", "   ", "", "\x00"]
    assert [hf.encode(line).ids for line in tests] == [tok.encode(line) for line in tests]


@pytest.mark.slow
@pytest.mark.parametrize("byte_level", [False, True])
def test_trainer_equals_huggingface_bpe_trainer_with_its_tie_break(wikitext, byte_level):
    # HuggingFace breaks ties by token creation order; with that rule the two algorithms agree merge for merge.
    lines = wikitext["valid"]
    ours = BPETokenizer.train(lines, vocab_size=2000, byte_level=byte_level, tie_break="huggingface")
    assert ours.merges == hf_train(lines, 2000, byte_level)


@pytest.mark.slow
@pytest.mark.parametrize("byte_level", [False, True])
def test_lexicographic_tie_break_differs_only_at_a_tie(wikitext, byte_level):
    lines = wikitext["valid"]
    ours = BPETokenizer.train(lines, vocab_size=600, byte_level=byte_level)
    theirs = hf_train(lines, 600, byte_level)
    k = next(i for i, (a, b) in enumerate(zip(ours.merges, theirs)) if a != b)
    assert k > 50  # the counts are large and distinct at first
    # Replay the k shared merges: the two next pairs are equally frequent, and the most frequent of all.
    before = BPETokenizer(ours.merges[:k], byte_level=byte_level, alphabet=ours.alphabet)
    counts: Counter[tuple[str, str]] = Counter()
    for word, n in count_words(lines, byte_level=byte_level).items():
        tokens = [before.id_to_token(i) for i in before.encode(word)]
        for pair in zip(tokens, tokens[1:]):
            counts[pair] += n
    assert counts[ours.merges[k]] == counts[theirs[k]] == max(counts.values()) == ours.merge_counts[k]
    spelled = (lambda t: bytes(CHAR_TO_BYTE[c] for c in t)) if byte_level else (lambda t: t.encode())
    assert tuple(map(spelled, ours.merges[k])) < tuple(map(spelled, theirs[k]))  # ours: the smaller strings


def test_textbook_example_shows_the_different_tie_break():
    lines = ["low lower newest widest"]
    assert hf_train(lines, 100, byte_level=False) == [("e", "s"), ("l", "o"), ("es", "t"), ("lo", "w")]
    assert BPETokenizer.train(lines, vocab_size=100, tie_break="huggingface").merges == hf_train(lines, 100, False)
    assert BPETokenizer.train(lines, vocab_size=100).merges == [("e", "s"), ("es", "t"), ("l", "o"), ("lo", "w")]


def test_gpt2_regex_equals_huggingface_byte_level_pre_tokenizer(wikitext):
    from tokenizers import pre_tokenizers

    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    lines = [*wikitext["valid"][:3000], "Hello world's  1984 café!!", "a\tb\n\nc   d ", " 're 're'm", "x\u3000y\xa0z"]
    for line in lines:
        theirs = [bytes(CHAR_TO_BYTE[c] for c in piece).decode("utf-8") for piece, _ in pre.pre_tokenize_str(line)]
        assert gpt2_regex().findall(line) == theirs
