"""WordVectors against gensim's KeyedVectors on the same vectors: nearest words, 3CosAdd and 3CosMul, analogy
and word-similarity evaluations; and the word2vec files lmlab exports, read by gensim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lmlab.errors import LmlabError
from lmlab.word2vec.vectors import WordVectors

gensim = pytest.importorskip("gensim")
from gensim.models import KeyedVectors  # noqa: E402

GENSIM_DATA = Path(gensim.__file__).parent / "test" / "test_data"
COUNTRIES = [
    "France",
    "Italy",
    "Spain",
    "Japan",
    "China",
    "Egypt",
    "Peru",
    "Chile",
    "Kenya",
    "Norway",
    "Greece",
    "Iran",
]
CAPITALS = ["Paris", "Rome", "Madrid", "Tokyo", "Beijing", "Cairo", "Lima", "Santiago", "Nairobi", "Oslo", "Athens",
            "Tehran"]  # fmt: skip
MALE = ["king", "man", "boy", "father", "son", "brother", "uncle", "husband"]
FEMALE = ["queen", "woman", "girl", "mother", "daughter", "sister", "aunt", "wife"]


def structured_vectors(seed: int = 0, dim: int = 24) -> WordVectors:
    """Countries and capitals, men and women related by a shared offset plus noise (so that some analogies
    are solved and some are not), case variants of a few words, and filler words."""
    rng = np.random.default_rng(seed)
    words, rows = [], []
    capital, female = rng.normal(size=dim), rng.normal(size=dim)
    for a, b, offset in [*zip(COUNTRIES, CAPITALS, [capital] * 12), *zip(MALE, FEMALE, [female] * 8)]:
        base = rng.normal(size=dim)
        words += [a, b]
        rows += [base, base + offset + rng.normal(scale=0.9, size=dim)]
    for w in ["paris", "KING", "Queen", "rome"]:  # rarer spellings: later in the list
        words.append(w)
        rows.append(rng.normal(size=dim))
    words += [f"filler{i}" for i in range(60)]
    rows += list(rng.normal(size=(60, dim)))
    order = rng.permutation(len(words) - 4 - 60)  # the related words in a random frequency order, first
    words = [words[i] for i in order] + words[len(order) :]
    rows = [rows[i] for i in order] + rows[len(order) :]
    return WordVectors(words, np.array(rows, dtype=np.float32))


def to_gensim(wv: WordVectors) -> KeyedVectors:
    kv = KeyedVectors(wv.dim)
    kv.add_vectors(wv.words, wv.vectors)
    return kv


@pytest.fixture(scope="module")
def pair():
    wv = structured_vectors()
    return wv, to_gensim(wv)


def assert_same_neighbours(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("positive", "negative", "restrict"),
    [(["king"], [], None), (["Paris", "Japan"], ["France"], None), (["queen", "man"], ["king"], 30),
     (["Tokyo"], ["Oslo", "Peru"], None)],
)  # fmt: skip
def test_most_similar_and_3cosmul_equal_gensims(pair, positive, negative, restrict):
    wv, kv = pair
    ours = wv.most_similar(positive, negative, topn=8, restrict_vocab=restrict)
    assert_same_neighbours(ours, kv.most_similar(positive=positive, negative=negative, topn=8, restrict_vocab=restrict))
    ours = wv.most_similar_cosmul(positive, negative, topn=8)
    assert_same_neighbours(ours, kv.most_similar_cosmul(positive=positive, negative=negative, topn=8))
    assert wv.similarity(positive[0], "Rome") == pytest.approx(kv.similarity(positive[0], "Rome"), abs=1e-6)


def test_analogy_is_b_minus_a_plus_c(pair):
    wv, kv = pair
    ours = wv.analogy("France", "Paris", "Japan", topn=3)
    assert_same_neighbours(ours, kv.most_similar(positive=["Paris", "Japan"], negative=["France"], topn=3))
    ours = wv.analogy("France", "Paris", "Japan", topn=3, method="3cosmul")
    assert_same_neighbours(ours, kv.most_similar_cosmul(positive=["Paris", "Japan"], negative=["France"], topn=3))
    with pytest.raises(LmlabError, match="unknown analogy method '3cosdiv'"):
        wv.analogy("France", "Paris", "Japan", method="3cosdiv")
    with pytest.raises(LmlabError, match=r"'Kingdom' is not in the vocabulary"):
        wv.analogy("France", "Kingdom", "Japan")


def write_analogies(path: Path) -> Path:
    """Every pair of pairs, in both directions, lowercased now and then; a question with an unknown word."""
    lines = [": capital-world"]
    lines += [f"{a} {b} {c} {d}" for a, b in zip(COUNTRIES, CAPITALS) for c, d in zip(COUNTRIES, CAPITALS) if a != c]
    lines += [": family"]
    lines += [f"{a.upper()} {b} {c} {d}" for a, b in zip(MALE, FEMALE) for c, d in zip(MALE, FEMALE) if a != c]
    lines += ["king queen unknownword woman", ": empty-section", ": gram1", "paris france rome italy"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("restrict", [30_000, 30])
def test_analogy_evaluation_equals_gensims(pair, tmp_path, restrict):
    wv, kv = pair
    path = write_analogies(tmp_path / "questions.txt")
    r = wv.evaluate_analogies(path, restrict_vocab=restrict)
    score, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict)
    if restrict > 100:
        assert 0.1 < r["accuracy"] < 0.95  # the test can tell right answers from wrong ones
    assert r["accuracy"] == pytest.approx(score)
    total = sections[-1]
    assert (r["correct"], r["total"]) == (len(total["correct"]), len(total["correct"]) + len(total["incorrect"]))
    theirs = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections[:-1]}
    ours = {s["section"]: (s["correct"], s["total"]) for s in r["sections"] if s["total"]}
    assert ours == {k: v for k, v in theirs.items() if v[1]}
    assert r["questions"] == r["total"] + r["oov_questions"]
    cosmul = wv.evaluate_analogies(path, method="3cosmul", restrict_vocab=restrict)
    assert cosmul["total"] == r["total"] and cosmul["method"] == "3cosmul"


def test_analogy_evaluation_on_mikolovs_questions_equals_gensims(shared_data):
    questions = shared_data / "analogy" / "questions-words.txt"
    words = list(dict.fromkeys(w for line in questions.read_text().splitlines() if not line.startswith(":")
                               for w in line.split()))  # fmt: skip
    rng = np.random.default_rng(1)
    words = [words[i] for i in rng.permutation(len(words))]
    wv = WordVectors(words, rng.normal(size=(len(words), 16)).astype(np.float32))
    kv = to_gensim(wv)
    for restrict in (30_000, 400):
        r = wv.evaluate_analogies(questions, restrict_vocab=restrict)
        score, sections = kv.evaluate_word_analogies(str(questions), restrict_vocab=restrict)
        assert r["correct"] == len(sections[-1]["correct"]) and r["accuracy"] == pytest.approx(score)
        assert [s["section"] for s in r["sections"]] == [s["section"] for s in sections[:-1]]


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
def test_similarity_evaluation_equals_gensims(tmp_path, name):
    pairs = GENSIM_DATA / name
    words = sorted({w for line in pairs.read_text().splitlines() if not line.startswith("#")
                    for w in line.split("\t")[:2]})  # fmt: skip
    rng = np.random.default_rng(2)
    kept = [w for w in words if rng.random() < 0.8]  # the rest are out of the vocabulary
    wv = WordVectors(kept + [kept[0].upper()], rng.normal(size=(len(kept) + 1, 20)).astype(np.float32))
    kv = to_gensim(wv)
    r = wv.evaluate_similarity(pairs)
    pearson, spearman, oov = kv.evaluate_word_pairs(str(pairs))
    assert r["spearman"] == pytest.approx(spearman[0], abs=1e-6)
    assert r["pearson"] == pytest.approx(pearson[0], abs=1e-6)
    assert 100 * r["oov_ratio"] == pytest.approx(oov) and r["oov_pairs"] > 0
    # the same pairs, comma-separated with a header line
    csv = tmp_path / "pairs.csv"
    rows = [line.split("\t") for line in pairs.read_text().splitlines() if not line.startswith("#")]
    csv.write_text("word1,word2,score\n" + "".join(f"{a},{b},{s}\n" for a, b, s in rows), encoding="utf-8")
    again = wv.evaluate_similarity(csv)
    assert again["spearman"] == pytest.approx(r["spearman"]) and again["pairs"] == r["pairs"]


def test_similarity_errors_say_what_is_wrong(tmp_path):
    wv = structured_vectors()
    path = tmp_path / "pairs.tsv"
    path.write_text("apple\tpear\t7.5\nmoon\tsun\t3\n", encoding="utf-8")
    with pytest.raises(LmlabError, match=r"all 2 word pairs are out of the vocabulary"):
        wv.evaluate_similarity(path)
    path.write_text("king\tqueen\t7.5\nking\tman\n", encoding="utf-8")
    with pytest.raises(LmlabError, match=r"pairs.tsv:2: expected 'word1 word2 score'"):
        wv.evaluate_similarity(path)


def test_exported_vectors_load_in_gensim_with_the_same_neighbours(pair, tmp_path):
    wv, _ = pair
    for binary in (False, True):
        path = tmp_path / f"v.{'bin' if binary else 'txt'}"
        wv.save_word2vec(path, binary=binary)
        kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
        assert kv.index_to_key == wv.words
        np.testing.assert_array_equal(kv.vectors, wv.vectors)
        for word in ("king", "Paris", "filler3"):
            assert_same_neighbours(wv.most_similar(word), kv.most_similar(word))
        back = WordVectors.load(path)
        assert back.words == wv.words and np.array_equal(back.vectors, wv.vectors)
