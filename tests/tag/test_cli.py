"""Sequence labelling through the command line: train every family, eval (a split, another file, span scores equal
to seqeval's), lmlab tag, resume; and the bad inputs each answered with one line and exit status 2."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import warnings

import pytest

from lmlab.cli.main import main

LEXICON = {
    "DET": ["the", "a", "this"],
    "ADJ": ["old", "big", "red"],
    "NOUN": ["man", "boat", "dog", "cat", "house"],
    "VERB": ["sees", "runs", "sleeps", "likes"],
    "PUNCT": [".", "!"],
}
TINY = {
    "window": ["--d-word", "8", "--d-caps", "2", "--d-hidden", "8"],
    "bilstm": ["--d-word", "8", "--d-char", "4", "--d-char-hidden", "4", "--d-hidden", "8"],
    "bilstm-crf": ["--d-word", "8", "--d-char", "4", "--d-char-hidden", "4", "--d-hidden", "8"],
    "transformer": ["--d-word", "8", "--d-char", "4", "--d-char-hidden", "4", "--d-model", "8", "--n-head", "2",
                    "--d-ff", "16", "--n-layer", "1", "--warmup-steps", "0"],
    "hmm": [],
}  # fmt: skip


def pos_sentence(rng: random.Random) -> list[tuple[str, str]]:
    tags = ["DET"] + (["ADJ"] if rng.random() < 0.5 else []) + ["NOUN", "VERB"]
    if rng.random() < 0.5:
        tags += ["DET", "NOUN"]
    tags.append("PUNCT")
    return [(rng.choice(LEXICON[t]), t) for t in tags]


def write_conllu(path, sentences) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, s in enumerate(sentences):
            f.write(f"# sent_id = {i}\n")
            for j, (w, t) in enumerate(s, start=1):
                f.write(f"{j}\t{w}\t{w.lower()}\t{t}\t{t}-ptb\t_\t0\tdep\t_\t_\n")
            f.write("\n")


def write_columns(path, sentences) -> None:
    path.write_text("".join("".join(f"{w}\t{t}\n" for w, t in s) + "\n" for s in sentences), encoding="utf-8")


@pytest.fixture(scope="module")
def pos_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("pos")
    rng = random.Random(0)
    for split, n in (("train", 60), ("dev", 12), ("test", 12)):
        write_conllu(d / f"toy-ud-{split}.conllu", [pos_sentence(rng) for _ in range(n)])
    return d


def ner_sentence(rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for _ in range(rng.randint(1, 3)):
        out += [(rng.choice(["met", "saw", "in", "and"]), "O")]
        kind = rng.choice(["PER", "LOC"])
        names = ["Ada", "Alan", "Grace"] if kind == "PER" else ["Paris", "Oslo", "Lima"]
        out += [(rng.choice(names), f"B-{kind}")] + [(rng.choice(names), f"I-{kind}")] * rng.randint(0, 1)
    return out


@pytest.fixture(scope="module")
def ner_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ner")
    rng = random.Random(1)
    for split, n in (("train", 60), ("valid", 10)):
        write_columns(d / f"{split}.txt", [ner_sentence(rng) for _ in range(n)])
    test = [ner_sentence(rng) for _ in range(10)] + [[("Ada", "I-PER"), ("met", "O")]]  # an I- opening a span
    write_columns(d / "test.txt", test)
    return d


@pytest.fixture
def cli(capsys):
    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def train(cli, data, out, model, *extra):
    return cli("train", "--task", "tag", "--model", model, "--data", data, "--out", out, "--seed", "1",
               *(["--device", "cpu", "--epochs", "3"] if model != "hmm" else []), *TINY[model], *extra)  # fmt: skip


@pytest.fixture(scope="module")
def hmm_run(pos_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "hmm"
    assert main(["train", "--task", "tag", "--model", "hmm", "--data", str(pos_dir), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("model", ["window", "bilstm", "bilstm-crf", "transformer"])
def test_every_neural_family_trains_evaluates_and_tags(cli, pos_dir, tmp_path, model):
    run = tmp_path / model
    rc, out, err = train(cli, pos_dir, run, model)
    assert rc == 0, err
    assert f"trained {model}" in out and "valid accuracy" in out
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints", "config.json", "metrics.jsonl", "model.safetensors", "vocab.txt"
    ]  # fmt: skip
    rc, out, err = cli("eval", run, "--split", "test", "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["family"] == model and r["words"] > 0 and 0 <= r["accuracy"] <= 1
    assert set(r["per_tag"]["NOUN"]) == {"precision", "recall", "f1", "support"}
    rc, out, _ = cli("tag", run, "--text", "The old man the boat .")
    assert rc == 0 and len(out.split()) == 6 and all(p.split("/")[1] in LEXICON for p in out.split())


def test_hmm_tags_as_the_readme_shows(cli, hmm_run):
    rc, out, err = cli("tag", hmm_run, "--text", "the old man sees the boat .")
    assert (rc, out) == (0, "the/DET old/ADJ man/NOUN sees/VERB the/DET boat/NOUN ./PUNCT\n"), err
    rc, out, _ = cli("eval", hmm_run, "--split", "test", "--json")
    r = json.loads(out)
    assert rc == 0 and r["accuracy"] == 1.0 and r["scheme"] == "plain" and "f1" not in r
    rc, out, _ = cli("eval", hmm_run)
    assert rc == 0 and "toy-ud-test" not in out and ":test: accuracy 100.00%" in out and "NOUN: precision" in out


def test_eval_scores_another_conllu_file_whole(cli, hmm_run, tmp_path):
    other = tmp_path / "other.conllu"
    write_conllu(other, [[("the", "DET"), ("zebra", "NOUN"), ("sleeps", "VERB")], [("a", "DET"), ("cat", "NOUN")]])
    rc, out, err = cli("eval", hmm_run, "--data", other, "--json")
    r = json.loads(out)
    assert rc == 0 and r["data"] == str(other) and (r["words"], r["sentences"]) == (5, 2)
    assert r["oov_words"] == 1 and r["per_tag"]["DET"]["support"] == 2


def test_tag_input_file_json_and_blank_lines(cli, hmm_run, tmp_path):
    lines = tmp_path / "in.txt"
    lines.write_text("the dog runs .\n\na cat sleeps\n", encoding="utf-8")
    rc, out, _ = cli("tag", hmm_run, "--input", lines, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 0 and [r["words"] for r in rows] == [["the", "dog", "runs", "."], [], ["a", "cat", "sleeps"]]
    assert rows[0]["tags"] == ["DET", "NOUN", "VERB", "PUNCT"] and rows[1]["tags"] == []
    rc, out, _ = cli("tag", hmm_run, "--input", lines)
    assert out.splitlines()[1] == "" and out.splitlines()[2] == "a/DET cat/NOUN sleeps/VERB"


def test_span_scores_equal_seqeval_and_an_I_start_is_warned(cli, ner_dir, tmp_path):
    metrics = pytest.importorskip("seqeval.metrics")
    from lmlab.tag.data import read_columns
    from lmlab.tag.task import load_tagger

    run = tmp_path / "ner"
    rc, out, err = train(cli, ner_dir, run, "hmm")
    assert rc == 0 and "span F1" in out, err
    rc, out, err = cli("eval", run, "--json")
    assert rc == 0
    assert "1 span(s) of the true tags open with I-" in err and "as seqeval does" in err
    r = json.loads(out)
    test = read_columns(ner_dir / "test.txt")
    pred = load_tagger(run)[0].predict(test.words)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert r["precision"] == pytest.approx(metrics.precision_score(test.tags, pred))
        assert r["recall"] == pytest.approx(metrics.recall_score(test.tags, pred))
        assert r["f1"] == pytest.approx(metrics.f1_score(test.tags, pred))
    assert r["scheme"] == "bio" and r["true_spans"] > 10 and set(r["per_type"]) >= {"PER", "LOC"}


def test_an_unseen_tag_is_an_error_and_a_warning_not_a_crash(cli, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    rng = random.Random(2)
    write_columns(d / "train.txt", [pos_sentence(rng) for _ in range(30)])
    write_columns(d / "test.txt", [[("the", "DET"), ("dog", "NOUN"), ("!", "INTJ")]])
    rc, out, err = train(cli, d, tmp_path / "run", "hmm")
    assert rc == 0 and "'INTJ' (1)" in err and "never seen in training" in err
    rc, out, err = cli("eval", tmp_path / "run", "--json")
    r = json.loads(out)
    assert rc == 0 and r["unseen_tags"] == {"INTJ": 1} and r["accuracy"] == pytest.approx(2 / 3)
    assert "counted as errors: 'INTJ' (1)" in err


def test_eval_warns_when_the_split_changed_since_training(cli, pos_dir, tmp_path):
    d = tmp_path / "copy"
    d.mkdir()
    for p in pos_dir.iterdir():
        (d / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    rc, _, _ = train(cli, d, tmp_path / "run", "hmm")
    test = d / "toy-ud-test.conllu"
    test.write_text(test.read_text(encoding="utf-8").replace("\tNOUN\t", "\tVERB\t", 1), encoding="utf-8")
    rc, out, err = cli("eval", tmp_path / "run", "--json")
    assert rc == 0 and "its test sentences changed since training" in err
    rc, _, err = cli("eval", tmp_path / "run", "--split", "valid", "--json")
    assert rc == 0 and "changed" not in err


@pytest.mark.parametrize(
    "text, message",
    [
        ("1\tthe\tthe\tDET\n\n", "train.conllu:1: 4 column(s); a CoNLL-U word line has 10"),
        ("# sent_id = 1\n\n", "train.conllu:1: a sentence with no tokens"),
    ],
)
def test_bad_training_files_are_one_line(cli, tmp_path, text, message):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "train.conllu").write_text(text, encoding="utf-8")
    (d / "test.conllu").write_text("1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n\n", encoding="utf-8")
    rc, out, err = train(cli, d, tmp_path / "run", "hmm")
    assert rc == 2 and out == "" and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "run").exists()


def test_bad_tag_commands_are_one_line(cli, hmm_run, pos_dir, tmp_path):
    rc, _, err = cli("tag", hmm_run, "--text", "   ")
    assert (
        rc == 2
        and err == "lmlab: error: --text is empty; give the words to tag, e.g. --text 'The old man the boat .'\n"
    )
    rc, _, err = cli("tag", pos_dir, "--text", "a")
    assert rc == 2 and "is not a run directory" in err
    rc, _, err = train(cli, pos_dir, tmp_path / "x", "bilstm", "--tokenizer", "bpe")
    assert rc == 2 and "a tagger reads the words as given" in err
    rc, _, err = cli("eval", hmm_run, "--confusion", tmp_path / "c.png")
    assert rc == 2 and err.count("\n") == 1
    rc, _, err = cli("attention", hmm_run, "--text", "the dog", "--out", tmp_path / "a.png")
    assert rc == 2 and "is a tagger: it has no attention weights" in err


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda run: (run / "vocab.txt").write_text("the\na\n"), "vocab.txt does not match the weights of this run"),
        (lambda run: _edit_config(run, lambda c: c["vocab"].update(file="../vocab.txt")), "must be a plain file name"),
        (lambda run: _edit_config(run, lambda c: c.update(tags="NOUN")), "field 'tags' must be a list"),
        (lambda run: _edit_config(run, lambda c: c["model"].update(num_tags=9)), "does not match its vocab.txt"),
        (lambda run: _edit_config(run, lambda c: c["data"].update(split_seed="x")), "field 'data.split_seed'"),
        (lambda run: (run / "model.safetensors").write_bytes(b"\x08" + bytes(7)), "model.safetensors"),
    ],
)
def test_damaged_runs_are_refused_in_one_line(cli, hmm_run, tmp_path, damage, message):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(hmm_run, run)
    damage(run)
    rc, out, err = cli("eval", run, "--json")
    assert rc == 2 and out == "" and err.count("\n") == 1 and message in err, err


def _edit_config(run, change) -> None:
    path = run / "config.json"
    cfg = json.loads(path.read_text(encoding="utf-8"))
    change(cfg)
    path.write_text(json.dumps(cfg), encoding="utf-8")


def test_a_neural_run_with_damaged_weights_is_refused(cli, pos_dir, tmp_path):
    run = tmp_path / "w"
    assert train(cli, pos_dir, run, "window", "--epochs", "1")[0] == 0
    _edit_config(run, lambda c: c["model"].update(d_hidden=9))
    rc, _, err = cli("tag", run, "--text", "the dog")
    assert rc == 2 and err.count("\n") == 1 and "model.safetensors" in err


def test_resume_continues_exactly(cli, pos_dir, tmp_path):
    from lmlab.nn import load_tensors

    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert train(cli, pos_dir, straight, "window", "--max-steps", "6", "--batch-size", "16")[0] == 0
    assert train(cli, pos_dir, resumed, "window", "--max-steps", "3", "--batch-size", "16")[0] == 0
    rc, _, err = cli("train", "--task", "tag", "--resume", resumed, "--max-steps", "6")
    assert rc == 0, err
    a, b = load_tensors(straight / "model.safetensors"), load_tensors(resumed / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_compare_profile_measures_a_run(hmm_run, pos_dir):
    from lmlab.compare import Comparison, Row
    from lmlab.tag.compare import TAG_PROFILE

    cmp = Comparison(data=str(pos_dir), models=["hmm"], tokenizer="none", task="tag")
    row = Row("hmm", "", str(hmm_run))
    TAG_PROFILE.measure(hmm_run, TAG_PROFILE.load_data(cmp), cmp, row)
    assert row.metrics["accuracy"] == 1.0 and row.metrics["f1"] is None and row.parameters > 0 and row.curve


def test_the_family_table_imports_no_torch():
    code = "import sys, lmlab.tasks; lmlab.tasks.get_task('tag').family_table(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
