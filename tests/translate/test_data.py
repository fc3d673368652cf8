"""Parallel data: Multi30k in both directions, user folders with lmlab's or Multi30k's file names, misaligned and
empty files; vocabularies (BPE per side or joint, words) and exact detokenization; batches by length."""

from __future__ import annotations

import numpy as np
import pytest

from lmlab.data.registry import DATASETS
from lmlab.errors import LmlabError
from lmlab.translate.batching import EpochOrder, length_batches
from lmlab.translate.data import load_parallel_data, parallel_datasets, usable_pairs
from lmlab.translate.vocab import TokenizerOptions, build_vocabularies, decode_ids, encode_sentences
from tests.translate.conftest import write_corpus


def test_multi30k_both_directions(shared_data):
    de_en = load_parallel_data("multi30k", data_dir=shared_data)
    assert (de_en.src_lang, de_en.tgt_lang) == ("de", "en")  # the direction the papers report, by default
    assert (len(de_en.train), len(de_en.valid), len(de_en.test)) == (29_000, 1_014, 1_000)
    assert de_en.test.tgt[0] == "A man in an orange hat starring at something."
    en_de = load_parallel_data("multi30k", "en", "de", data_dir=shared_data)
    assert en_de.train.src == de_en.train.tgt and en_de.test.tgt == de_en.test.src
    assert de_en.files["test"][0].endswith("multi30k/test_2016_flickr.de")
    assert "multi30k" in parallel_datasets() and DATASETS["multi30k"].kind == "parallel"
    # the pairs entry reuses the language-model entries' files, checksums and URLs
    single = {f.path: f for name in ("multi30k-de", "multi30k-en") for f in DATASETS[name].files}
    assert {f.path: f for f in DATASETS["multi30k"].files} == single


def test_multi30k_byte_level_bpe_decodes_exactly(shared_data):
    data = load_parallel_data("multi30k", data_dir=shared_data)
    lines_src, lines_tgt = data.train.src[:3000], data.train.tgt[:3000]
    vocabs = build_vocabularies(lines_src, lines_tgt, TokenizerOptions(vocab_size=2000))
    assert not vocabs.joint and vocabs.src_size == vocabs.tgt_size == 2001
    for text, ids in zip(data.test.tgt, encode_sentences(vocabs.tgt, data.test.tgt)):
        assert decode_ids(vocabs.tgt, ids) == text  # unseen characters too: bytes cover everything
    double = [t for t in data.train.src if "  " in t][:5]  # the German side has runs of spaces: kept
    assert double and all(
        decode_ids(vocabs.src, ids) == t for t, ids in zip(double, encode_sentences(vocabs.src, double))
    )


def test_folder_with_multi30k_names_and_joint_or_word_vocabularies(tmp_path):
    d = write_corpus(tmp_path / "m30k", names={"valid": "val", "test": "test_2016_flickr"})
    data = load_parallel_data(d, "en", "de")
    assert (len(data.train), len(data.valid), len(data.test)) == (600, 40, 40)
    assert data.src_lang == "en" and data.files["valid"][0].endswith("val.en")
    joint = build_vocabularies(data.train.src, data.train.tgt, TokenizerOptions(vocab_size=400, joint=True))
    assert joint.joint and joint.src is joint.tgt
    words = build_vocabularies(data.train.src, data.train.tgt, TokenizerOptions(kind="word"))
    ids = encode_sentences(words.tgt, ["ein hund läuft .", "ein zebra ."])
    assert decode_ids(words.tgt, ids[0]) == "ein hund läuft ." and decode_ids(words.tgt, ids[1]) == "ein <unk> ."


def test_blank_pairs_are_kept_for_testing_and_left_out_of_training(tmp_path):
    d = write_corpus(tmp_path / "c")
    (d / "train.de").write_text("ein hund .\n\nkatze .\n")
    (d / "train.en").write_text("a dog .\nnothing\n \n")
    data = load_parallel_data(d, "de", "en")
    assert usable_pairs(data.train) == [0] and "blank side" in data.notes[0]


@pytest.mark.parametrize(
    "case, message",
    [
        ("misaligned", r"train.de has 600 lines but .*train.en has 599"),
        ("empty", r"valid.en is empty"),
        ("no_test", r"no test file for en"),
        ("unknown_src", r"--src fr: .* has no fr side; its languages are de, en"),
        ("same", r"--src and --tgt are both 'de'"),
        ("no_direction", r"pass --src and --tgt"),
        ("a_file", r"is a file"),
        ("missing", r"no such folder, and not a named parallel dataset \(multi30k\)"),
        ("one_language", r"multi30k-de is not a parallel dataset"),
    ],
)
def test_bad_data_is_one_line_naming_the_problem(case, message, tmp_path):
    d = write_corpus(tmp_path / "c")
    src, tgt, spec = "de", "en", str(d)
    if case == "misaligned":
        lines = (d / "train.en").read_text().splitlines(keepends=True)
        (d / "train.en").write_text("".join(lines[:-1]))
    elif case == "empty":
        (d / "valid.en").write_text("\n \n")
    elif case == "no_test":
        (d / "test.en").unlink()
    elif case == "unknown_src":
        src = "fr"
    elif case == "same":
        tgt = "de"
    elif case == "no_direction":
        src = tgt = None
    elif case == "a_file":
        spec = str(d / "train.de")
    elif case == "missing":
        spec = str(tmp_path / "nothing")
    elif case == "one_language":
        spec = "multi30k-de"
    with pytest.raises(LmlabError, match=message) as e:
        load_parallel_data(spec, src, tgt)
    assert "\n" not in str(e.value)


def test_unknown_language_of_a_named_dataset_needs_no_download(tmp_path):
    with pytest.raises(LmlabError, match="--tgt fr: multi30k has no fr side"):
        load_parallel_data("multi30k", "de", "fr", data_dir=tmp_path)  # refused before any file is fetched
    assert not any(tmp_path.iterdir())


def test_length_batches_respect_both_limits_and_cover_every_pair_once():
    rng = np.random.default_rng(0)
    src = rng.integers(1, 40, 1000)
    tgt = np.maximum(1, src + rng.integers(-3, 4, 1000))  # translations about as long as their sources
    batches = length_batches(src, tgt, batch_size=32, max_tokens=400, seed=3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    for b in batches:
        assert b.size <= 32 and (b.size == 1 or b.size * max(src[b].max(), tgt[b].max()) <= 400)
    padded = sum(b.size * max(src[b].max(), tgt[b].max()) for b in batches)
    assert padded < 1.2 * np.maximum(src, tgt).sum()  # sorted by length: little padding
    order = EpochOrder(batches, seed=3)
    epoch0 = [order.batch(s).tolist() for s in range(len(batches))]
    again = EpochOrder(batches, seed=3)
    assert epoch0 == [again.batch(s).tolist() for s in range(len(batches))]
    assert epoch0 != [order.batch(len(batches) + s).tolist() for s in range(len(batches))]  # a new order each epoch
