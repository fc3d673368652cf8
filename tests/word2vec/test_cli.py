"""The word2vec commands end to end on a tiny corpus, and every kind of bad input: one line, exit status 2,
nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.word2vec.conftest import write_corpus

TINY = ["--dim", "16", "--min-count", "2", "--epochs", "3", "--threads", "2", "--seed", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus):
    from lmlab.cli.main import main

    out = tmp_path_factory.mktemp("runs") / "sg"
    assert main(["train", "--task", "word2vec", "--model", "skipgram", "--data", str(corpus), "--out", str(out),
                 *TINY]) == 0  # fmt: skip
    return out


def test_training_writes_a_run_with_a_loss_per_epoch(trained):
    config = json.loads((trained / "config.json").read_text())
    assert config["task"] == "word2vec" and config["family"] == "skipgram"
    assert config["model"]["dim"] == 16 and config["model"]["negative"] == 5 and config["model"]["window"] == 5
    assert config["data"]["sha256"] and config["stats"]["status"] == "done"
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert rows[0]["train_loss"] > rows[-1]["train_loss"] > 0
    assert {"words_per_s", "effective_words", "train_loss_sum", "alpha"} <= rows[0].keys()
    assert not [p for p in trained.iterdir() if p.suffix == ".bin"]  # the epoch cache is not left behind


def test_similar_analogy_and_plots(cli, trained, tmp_path):
    rc, out, _ = cli("similar", trained, "cat", "--top", "3")
    assert rc == 0 and len(out.splitlines()) == 3 and all(len(line.split("\t")) == 2 for line in out.splitlines())
    rc, out, _ = cli("analogy", trained, "king", "cat", "dog", "--json")
    d = json.loads(out)
    assert rc == 0 and d["positive"] == ["king", "dog"] and d["negative"] == ["cat"] and len(d["results"]) == 5
    assert not {"king", "cat", "dog"} & {r["word"] for r in d["results"]}
    rc, out, _ = cli("analogy", trained, "king", "cat", "dog", "--method", "3cosmul", "--top", "1")
    assert rc == 0 and len(out.splitlines()) == 1
    rc, out, err = cli("plot", trained, "--words", "king,queen,cat,dog,banana,zebra", "--out", tmp_path / "s.png")
    assert rc == 0 and (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG" and "zebra" in err
    rc, out, _ = cli("plot", trained, "--out", tmp_path / "curves.png")
    assert rc == 0 and (tmp_path / "curves.png").stat().st_size > 0


def test_eval_analogies_and_similarity_as_json(cli, trained, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(": pets\ncat dog fur paw\ncat meow dog bark\n: royal\nking queen prince crown\n"
                         "king queen zebra crown\n", encoding="utf-8")  # fmt: skip
    rc, out, _ = cli("eval", trained, "--analogies", questions, "--json")
    r = json.loads(out)
    assert rc == 0 and r["total"] == 3 and r["oov_questions"] == 1 and 0 <= r["correct"] <= 3
    assert [s["section"] for s in r["sections"]] == ["pets", "royal"] and r["accuracy"] == r["correct"] / 3
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("cat\tdog\t8\ncat\tcar\t1\nking\tqueen\t9\nking\tapple\t0.5\nzebra\tcat\t5\n", encoding="utf-8")
    rc, out, _ = cli("eval", trained, "--similarity", pairs, "--json")
    r = json.loads(out)
    assert rc == 0 and r["pairs"] == 4 and r["oov_pairs"] == 1 and -1 <= r["spearman"] <= 1 and "pearson" in r
    rc, out, _ = cli("eval", trained, "--similarity", pairs, "--analogies", questions)
    assert rc == 0 and "accuracy" in out and "Spearman" in out


def test_export_text_and_binary_load_in_gensim_with_the_same_neighbours(cli, trained, tmp_path):
    gensim = pytest.importorskip("gensim")
    from lmlab.word2vec.runs import load_run

    wv = load_run(trained).vectors
    for binary in (False, True):
        path = tmp_path / ("v.bin" if binary else "v.txt")
        rc, out, _ = cli("export", trained, "--format", "word2vec", "--out", path, *(["--binary"] if binary else []))
        assert rc == 0
        kv = gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=binary)
        np.testing.assert_array_equal(kv.vectors, wv.vectors)
        assert [w for w, _ in kv.most_similar("king", topn=10)] == [w for w, _ in wv.most_similar("king", topn=10)]
        rc, out, _ = cli("similar", path, "king", "--top", "10")  # a vectors file works where a run does
        assert [line.split("\t")[0] for line in out.splitlines()] == [w for w, _ in wv.most_similar("king")]


def test_cbow_with_hierarchical_softmax_trains(cli, corpus, tmp_path):
    rc, out, _ = cli("train", "--task", "word2vec", "--model", "cbow", "--hs", "--negative", "0", "--data", corpus,
                     "--out", tmp_path / "cbow", *TINY)  # fmt: skip
    assert rc == 0 and "cbow" in out
    config = json.loads((tmp_path / "cbow" / "config.json").read_text())
    assert config["model"]["hs"] is True and config["model"]["negative"] == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--min-count", "1000"], "no word occurs --min-count 1000 times (the most frequent, 'the', occurs"),
        (["--window", "0"], "--window must be an integer from 1 to 1,000, got 0"),
        (["--negative", "0"], "--negative 0 leaves nothing to train: give --negative N >= 1, or --hs"),
        (["--dim", "0"], "--dim must be an integer from 1 to 10,000, got 0"),
        (["--sample", "-1"], "--sample must be a number in [0, 1)"),
        (["--min-alpha", "0.5"], "--min-alpha must be a number from 0 to --alpha"),
        (["--resume", "x"], None),
    ],
)
def test_bad_training_input_is_one_line_and_writes_nothing(cli, corpus, tmp_path, flags, message):
    out = tmp_path / "run"
    rc, _, err = cli("train", "--task", "word2vec", "--model", "skipgram", "--data", corpus, "--out", out, *flags)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and err.startswith("lmlab: error: ")
    if message:
        assert message in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_bad_corpus_files(cli, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine words here\nbroken \xfe byte\n")
    rc, _, err = cli("train", "--task", "word2vec", "--model", "cbow", "--data", bad, "--out", tmp_path / "r",
                     "--min-count", "1")  # fmt: skip
    assert rc == 2 and "not valid UTF-8 at byte offset 23" in err and not (tmp_path / "r").exists()
    rc, _, err = cli(
        "train", "--task", "word2vec", "--model", "cbow", "--data", tmp_path / "nope", "--out", tmp_path / "r"
    )
    assert rc == 2 and "no such file" in err


def test_bad_evaluation_files(cli, trained, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(": pets\ncat dog fur paw\ncat dog fur\n", encoding="utf-8")
    rc, _, err = cli("eval", trained, "--analogies", questions)
    assert rc == 2 and f"{questions}:3: expected four words" in err and len(err.splitlines()) == 1
    pairs = tmp_path / "p.tsv"
    pairs.write_text("zebra\tlion\t3\nunicorn\tdragon\t4\n", encoding="utf-8")
    rc, _, err = cli("eval", trained, "--similarity", pairs, "--json")
    assert rc == 2 and "all 2 word pairs are out of the vocabulary" in err and "nan" not in err.lower()
    rc, _, err = cli("eval", trained)
    assert rc == 2 and "--analogies FILE and/or --similarity FILE" in err
    rc, _, err = cli("similar", trained, "Zebra")
    assert rc == 2 and "'Zebra' is not in the vocabulary" in err
    rc, _, err = cli("export", trained, "--format", "arpa", "--out", tmp_path / "x.arpa")
    assert rc == 2 and "--format word2vec" in err and not (tmp_path / "x.arpa").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"3 x\nking 1 2\n", ":1: the first line must be the header"),
        (b"2 3\nking 1 2 3\nqueen 1 2\n", ":3: word 'queen' has 2 values"),
    ],
)
def test_bad_vectors_files_name_the_line(cli, tmp_path, content, message):
    path = tmp_path / "v.txt"
    path.write_bytes(content)
    rc, _, err = cli("similar", path, "king")
    assert rc == 2 and message in err and len(err.splitlines()) == 1


def test_plot_words_is_for_word_vector_runs(cli, corpus, tmp_path):
    rc, *_ = cli("train", "--model", "ngram", "--order", "2", "--data", corpus, "--out", tmp_path / "lm")
    assert rc == 0
    rc, _, err = cli("plot", tmp_path / "lm", "--words", "cat,dog")
    assert rc == 2 and "--words is for runs with word vectors" in err
    rc, _, err = cli("export", tmp_path / "lm", "--format", "word2vec", "--out", tmp_path / "v.txt")
    assert rc == 2 and "it exports as --format arpa" in err


def test_compare_word2vec_families(cli, tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("LMLAB_DATA_DIR", str(shared_data))
    corpus = write_corpus(tmp_path / "c.txt", n=200)
    rc, out, _ = cli("compare", "--task", "word2vec", "--data", corpus, "--out", tmp_path / "cmp")
    assert rc == 0 and "analogy accuracy" in out
    results = json.loads((tmp_path / "cmp" / "results.json").read_text())
    assert [r["family"] for r in results["rows"]] == ["skipgram", "cbow"]
    assert all(r["status"] == "done" and r["speed"] > 0 and len(r["curve"]) == 5 for r in results["rows"])


def test_exported_vectors_initialise_a_classifiers_embeddings_on_the_right_words(cli, trained, tmp_path):
    pytest.importorskip("torch")
    from lmlab.classify.task import embedding_rows
    from lmlab.tokenizers import TOKENIZERS
    from lmlab.word2vec.runs import load_run

    path = tmp_path / "v.bin"
    assert cli("export", trained, "--format", "word2vec", "--out", path, "--binary")[0] == 0
    tokenizer = TOKENIZERS["word"].train(["the king and the queen", "a dog unknownword"])
    rows, known = embedding_rows(path, tokenizer, 16)
    wv = load_run(trained).vectors
    for tid in range(tokenizer.vocab_size):
        word = tokenizer.id_to_token(tid)
        assert bool(known[tid + 1]) == (word in wv)
        if word in wv:
            np.testing.assert_array_equal(rows[tid + 1].numpy(), wv[word])
    assert known.sum() >= 5
