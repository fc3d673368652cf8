"""The folder and file guarantees, task by task (issue 22): the same writer, reader and recorder serve every task.

Each task trains a tiny run through the command line (module fixtures, a few seconds each), and every test below
runs over all of them: a re-training keeps what the user added to the run and writes nothing lmlab does not know it
writes; a group of runs (``--folds``, ``--repeat``) takes the lock and is swapped in whole; a weights file with bytes
appended, a huge dimension in ``config.json``, a tokenizer outside the run or reordered are one line, before
anything is allocated; a run records its data as an absolute path with hashes, so it evaluates the same file from
any folder and warns when the file changed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lmlab.errors import LmlabError
from lmlab.rundir import is_lmlab_entry, user_entries
from tests.classify.test_task import make_examples, write_tsv
from tests.graph.conftest import write_graph
from tests.safety.test_read import lmlab, lmlab_child, one_line_error
from tests.tag.test_cli import TINY as TINY_TAGGERS
from tests.tag.test_cli import pos_sentence, write_conllu
from tests.translate.conftest import write_corpus as write_parallel
from tests.vision.conftest import write_mnist_like

REPO = Path(__file__).resolve().parents[2]
LM_LINES = [f"the {a} {v} on the {b}" for a in ("cat", "dog", "bird") for v in ("sat", "slept") for b in ("mat", "log")]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    lm = root / "lm"
    lm.mkdir()
    (lm / "train.txt").write_text("\n".join(LM_LINES * 3) + "\n")
    (lm / "valid.txt").write_text("the cat sat on the log\n")
    (lm / "test.txt").write_text("the dog sat on the mat\n")
    sentiment = root / "sentiment"
    sentiment.mkdir()
    write_tsv(sentiment / "train.tsv", make_examples(200, 0))
    write_tsv(sentiment / "valid.tsv", make_examples(30, 1))
    write_tsv(sentiment / "test.tsv", make_examples(40, 2))
    w2v = root / "w2v.txt"
    w2v.write_text("\n".join(LM_LINES * 20) + "\n")
    write_mnist_like(root / "images", 60, 30)
    pos = root / "pos"
    pos.mkdir()
    rng = random.Random(0)
    for split, n in (("train", 60), ("dev", 12), ("test", 12)):
        write_conllu(pos / f"toy-ud-{split}.conllu", [pos_sentence(rng) for _ in range(n)])
    return {
        "lm": lm,
        "classify": sentiment,
        "graph": write_graph(root / "graph"),
        "image": root / "images",
        "translate": write_parallel(root / "parallel", sizes=(("train", 120), ("valid", 10), ("test", 10))),
        "word2vec": w2v,
        "tag": pos,
    }


#: one cheap training per task and kind of writer (counting, engine, own threads)
TRAININGS = {
    "lm-ngram": ["--model", "ngram", "--order", "2"],
    "lm-mlp": ["--model", "mlp", "--context-len", "2", "--d-embed", "4", "--d-hidden", "8", "--epochs", "1"],
    "classify-nb": ["--task", "classify", "--model", "nb"],
    "classify-bow": ["--task", "classify", "--model", "bow", "--d-embed", "8", "--epochs", "1"],
    "graph-gcn": [
        "--task",
        "graph",
        "--model",
        "gcn",
        "--epochs",
        "2",
        "--split",
        "random",
        "--train-per-class",
        "5",
        "--num-valid",
        "15",
        "--num-test",
        "30",
    ],  # fmt: skip
    "graph-labelprop": [
        "--task",
        "graph",
        "--model",
        "labelprop",
        "--split",
        "random",
        "--train-per-class",
        "5",
        "--num-valid",
        "15",
        "--num-test",
        "30",
    ],  # fmt: skip
    "image-mlp": ["--task", "image", "--model", "mlp", "--hidden", "8", "--epochs", "1"],
    "translate-seq2seq": [
        "--task",
        "translate",
        "--model",
        "seq2seq",
        "--src",
        "de",
        "--tgt",
        "en",
        "--vocab-size",
        "300",
        "--d-embed",
        "8",
        "--d-hidden",
        "8",
        "--epochs",
        "1",
    ],  # fmt: skip
    "tag-hmm": ["--task", "tag", "--model", "hmm"],
    "tag-bilstm": ["--task", "tag", "--model", "bilstm", "--epochs", "1", *TINY_TAGGERS["bilstm"]],
    "word2vec-skipgram": [
        "--task",
        "word2vec",
        "--model",
        "skipgram",
        "--dim",
        "8",
        "--epochs",
        "1",
        "--min-count",
        "1",
    ],  # fmt: skip
}


def _train(data: dict[str, Path], name: str, out: Path, *extra) -> tuple[int, str, str]:
    task = name.split("-")[0]
    return lmlab("train", *TRAININGS[name], "--data", data[task], "--out", out, "--seed", "1", *extra)


@pytest.fixture(scope="module")
def runs(data, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for name in TRAININGS:
        rc, _, err = _train(data, name, root / name)
        assert rc == 0, f"{name}: {err}"
        out[name] = root / name
    return out


def _copy(run: Path, tmp_path: Path) -> Path:
    dest = tmp_path / run.name
    shutil.copytree(run, dest)
    return dest


def _edit_config(run: Path, change) -> None:
    cfg = json.loads((run / "config.json").read_text())
    change(cfg)
    (run / "config.json").write_text(json.dumps(cfg))


def _use(name: str, run: Path) -> list:
    """The command that loads and uses the run ``name``: ``lmlab eval``, or ``lmlab similar`` for word vectors."""
    return ["similar", run, "the"] if name.startswith("word2vec") else ["eval", run, "--split", "test"]


def _load(run: Path) -> None:
    """Load and use the run the way ``lmlab eval`` does (raises LmlabError on a bad run)."""
    rc, _, err = lmlab("eval", run, "--split", "test")
    if rc:
        raise LmlabError(err.strip().removeprefix("lmlab: error: "))


# ---- the writer: lmlab replaces only what it made
@pytest.mark.parametrize("name", list(TRAININGS))
def test_every_file_a_task_writes_is_one_lmlab_knows_it_writes(runs, name):
    """The structural half of 'keep what lmlab did not write': every entry of a fresh run matches
    lmlab.rundir.LMLAB_ENTRIES, so a new task that writes a new file fails here until the file is listed."""
    assert user_entries(runs[name]) == [], f"{name} writes files lmlab.rundir.LMLAB_ENTRIES does not list"
    assert all(is_lmlab_entry(p.name) for p in runs[name].iterdir())


@pytest.mark.parametrize("name", ["lm-ngram", "lm-mlp", "classify-nb", "classify-bow", "graph-labelprop", "tag-hmm",
                                  "image-mlp", "word2vec-skipgram"])  # fmt: skip
def test_retraining_keeps_the_files_the_user_added(runs, data, tmp_path, name):
    run = _copy(runs[name], tmp_path)
    (run / "notes.txt").write_text("lr 3e-3 was better\n")
    (run / "figs").mkdir()
    (run / "figs" / "curve.png").write_bytes(b"\x89PNG")
    rc, _, err = _train(data, name, run)
    assert rc == 0, err
    assert (run / "notes.txt").read_text() == "lr 3e-3 was better\n"
    assert (run / "figs" / "curve.png").read_bytes() == b"\x89PNG"
    assert user_entries(run) == ["figs", "notes.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "leftovers beside the run"


def test_user_files_of_an_old_run_set_aside_by_a_kill_are_moved_over(tmp_path):
    """A kill between the swap's renames and the carrying-over leaves the user's files in the old run set aside;
    the next writer's clean-up moves them into the run before removing the old one."""
    from lmlab.rundir import clean_leftovers, run_lock

    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"format": "lmlab-run"}))
    aside = tmp_path / ".run.old-0123abcd"
    aside.mkdir()
    (aside / "config.json").write_text(json.dumps({"format": "lmlab-run"}))
    (aside / "notes.txt").write_text("mine")
    with run_lock(out):
        clean_leftovers(out)
    assert (out / "notes.txt").read_text() == "mine" and not aside.exists()


# ---- groups of runs: --folds and --repeat
GROUPS = {
    "classify": ["--task", "classify", "--model", "nb", "--folds", "2"],
    "graph": [
        "--task",
        "graph",
        "--model",
        "labelprop",
        "--repeat",
        "2",
        "--split",
        "random",
        "--train-per-class",
        "5",
        "--num-valid",
        "15",
        "--num-test",
        "30",
    ],  # fmt: skip
}


def _hold_lock(out: Path) -> subprocess.Popen:
    """A child process that holds the run lock of ``out`` until its standard input closes."""
    code = textwrap.dedent(f"""
        import sys
        from lmlab.rundir import run_lock
        with run_lock({str(out)!r}, "lmlab train --out elsewhere"):
            print("locked", flush=True)
            sys.stdin.read()
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                             text=True)  # fmt: skip
    assert child.stdout.readline().strip() == "locked"
    return child


@pytest.mark.parametrize("task", list(GROUPS))
def test_a_group_of_runs_takes_the_lock(data, tmp_path, task):
    out = tmp_path / "group"
    child = _hold_lock(out)
    try:
        rc, _, err = lmlab("train", *GROUPS[task], "--data", data[task], "--out", out)
    finally:
        child.stdin.close()
        child.wait(timeout=600)
    one_line_error(rc, err, f"{out} is in use by another lmlab process", "lmlab train --out elsewhere")
    assert not out.exists()


@pytest.mark.parametrize("task", list(GROUPS))
def test_a_group_interrupted_half_way_leaves_the_old_group_whole(data, tmp_path, task, monkeypatch):
    out = tmp_path / "group"
    rc, _, err = lmlab("train", *GROUPS[task], "--data", data[task], "--out", out)
    assert rc == 0, err
    (out / "notes.txt").write_text("mine")
    before = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    summary = "cv.json" if task == "classify" else "repeat.json"

    from lmlab import io as lmlab_io

    real = lmlab_io.write_json

    def interrupted(path, obj):  # the second member's config.json: the first member is complete by then
        if Path(path).name == "config.json" and Path(path).parent.name.startswith(".") and "-2." in str(path):
            raise KeyboardInterrupt
        return real(path, obj)

    for module in list(sys.modules.values()):
        if getattr(module, "write_json", None) is real and module.__name__.startswith("lmlab."):
            monkeypatch.setattr(module, "write_json", interrupted)
    rc, _, err = lmlab("train", *GROUPS[task], "--data", data[task], "--out", out, "--seed", "7")
    assert rc == 130, err
    after = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before  # the old group, byte for byte, its summary beside its own members
    assert json.loads((out / summary).read_text())["format"].startswith("lmlab-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["group"]  # no partial folder, no lock left


@pytest.mark.parametrize("task", list(GROUPS))
def test_a_group_retrained_keeps_user_files_and_its_summary_matches_its_members(data, tmp_path, task):
    out = tmp_path / "group"
    assert lmlab("train", *GROUPS[task], "--data", data[task], "--out", out)[0] == 0
    (out / "notes.txt").write_text("mine")
    rc, _, err = lmlab("train", *GROUPS[task], "--data", data[task], "--out", out, "--seed", "3")
    assert rc == 0, err
    assert (out / "notes.txt").read_text() == "mine"
    assert user_entries(out) == ["notes.txt"]
    members = sorted(p.name for p in out.iterdir() if p.name.startswith(("fold-", "run-")))
    assert len(members) == 2


# ---- the reader: weights, tokenizers and configurations from anyone
WEIGHTS = {"tag-bilstm": "model.safetensors",
           "classify-bow": "model.safetensors", "graph-gcn": "model.safetensors", "image-mlp": "model.safetensors",
           "translate-seq2seq": "model.safetensors", "classify-nb": "model.safetensors", "lm-mlp": "model.safetensors",
           "word2vec-skipgram": "vectors.safetensors"}  # fmt: skip


@pytest.mark.parametrize("name", list(WEIGHTS))
def test_weights_with_gigabytes_appended_are_refused_unread(runs, tmp_path, name):
    run = _copy(runs[name], tmp_path)
    weights = run / WEIGHTS[name]
    os.truncate(weights, weights.stat().st_size + 20 * 2**30)  # sparse: 20 GB that take no disk
    rc, _, err = lmlab_child(*_use(name, run), timeout=600, memory_gb=3)
    one_line_error(rc, err, str(weights), "21,474,836,480 bytes after its last tensor")


HUGE = {"tag-bilstm": "d_hidden",
        "classify-bow": "d_embed", "graph-gcn": "hidden", "image-mlp": "hidden", "translate-seq2seq": "d_hidden",
        "lm-mlp": "d_hidden"}  # fmt: skip


@pytest.mark.parametrize("name", list(HUGE))
def test_a_huge_dimension_in_config_json_is_refused_without_allocating(runs, tmp_path, name):
    run = _copy(runs[name], tmp_path)
    field = HUGE[name]

    def change(cfg):
        value = cfg["model"][field]
        cfg["model"][field] = [1_000_000] * len(value) if isinstance(value, list) else 1_000_000

    _edit_config(run, change)
    rc, _, err = lmlab_child(*_use(name, run), timeout=600, memory_gb=3)
    one_line_error(rc, err)
    assert "shape" in err or "at most" in err, err


@pytest.mark.parametrize("where", ["../other/tokenizer.json", "/etc/passwd", "sub/tokenizer.json"])
def test_a_classification_tokenizer_outside_the_run_is_refused(runs, tmp_path, where):
    run = _copy(runs["classify-bow"], tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(run / "tokenizer.json", other / "tokenizer.json")
    _edit_config(run, lambda c: c["tokenizer"].update(file=where))
    with pytest.raises(LmlabError, match="field 'tokenizer.file' must be a plain file name inside the run"):
        _load(run)


@pytest.mark.parametrize("name", ["classify-bow", "lm-mlp", "translate-seq2seq"])
def test_a_reordered_tokenizer_is_refused(runs, tmp_path, name):
    run = _copy(runs[name], tmp_path)
    path = run / ("tokenizer-src.json" if name.startswith("translate") else "tokenizer.json")
    if not path.exists():
        path = run / "tokenizer.json"
    tok = json.loads(path.read_text())
    if "tokens" in tok:  # lmlab's word and character tokenizers: a list of tokens in id order
        tok["tokens"][3], tok["tokens"][4] = tok["tokens"][4], tok["tokens"][3]
    else:  # BPE: the same merges in another order
        tok["merges"][-1], tok["merges"][-2] = tok["merges"][-2], tok["merges"][-1]
    path.write_text(json.dumps(tok))
    with pytest.raises(LmlabError, match="does not match the weights of this run"):
        _load(run)


# ---- the recorder: data paths and hashes
@pytest.mark.parametrize(
    "name", ["classify-bow", "graph-gcn", "image-mlp", "lm-mlp", "translate-seq2seq", "word2vec-skipgram", "tag-bilstm"]
)
def test_runs_record_an_absolute_data_path_and_hashes(runs, name):
    cfg = json.loads((runs[name] / "config.json").read_text())
    spec = cfg["data"]["spec"]
    assert os.path.isabs(spec), spec
    assert any(key in cfg["data"] for key in ("sha256", "graph_sha256")), cfg["data"]


def test_classification_from_a_relative_path_evaluates_from_any_folder_and_warns_on_edits(data, tmp_path,
                                                                                         monkeypatch):  # fmt: skip
    copy = tmp_path / "sentiment"
    shutil.copytree(data["classify"], copy)
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    assert lmlab("train", *TRAININGS["classify-nb"], "--data", "sentiment", "--out", run)[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rc, out, err = lmlab("eval", run, "--split", "test", "--json")
    assert rc == 0 and json.loads(out)["examples"] == 40 and "warning" not in err, err
    lines = (copy / "test.tsv").read_text().splitlines()
    (copy / "test.tsv").write_text("\n".join(lines[:-1]) + "\n")
    rc, out, err = lmlab("eval", run, "--split", "test", "--json")
    assert rc == 0 and json.loads(out)["examples"] == 39
    assert "its test examples changed since training" in err


def test_naive_bayes_with_a_large_vocabulary_writes_a_run_it_can_read(tmp_path):
    """nb.json kept the n-gram vocabulary and outgrew its own reader's 16 MiB cap; the vocabulary is now an array
    in the weights file, so nb.json stays small whatever the data."""
    from lmlab.classify.models.nbsvm import META_FILE, NBClassifier, NBConfig

    texts = [f"w{i} x{i} y{i} z{i}" for i in range(60_000)]
    labels = ["a" if i % 2 else "b" for i in range(60_000)]
    model = NBClassifier(NBConfig(ngram=3)).fit(texts, labels)
    model.save(tmp_path)
    assert (tmp_path / META_FILE).stat().st_size < 4096
    assert NBClassifier.load(tmp_path).vocab == model.vocab


def test_a_lock_error_names_the_out_not_the_lock_file(data, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        if os.access(parent, os.W_OK):
            pytest.skip("running as a user who may write into a read-only folder (root)")
        rc, _, err = lmlab("train", *TRAININGS["lm-ngram"], "--data", data["lm"], "--out", parent / "run")
    finally:
        parent.chmod(0o755)
    one_line_error(rc, err, f"{parent / 'run'} cannot be written")
    assert ".run.lock" not in err


def test_a_link_in_place_of_the_lock_file_names_the_out(data, tmp_path):
    out = tmp_path / "run"
    (tmp_path / ".run.lock").symlink_to(tmp_path / "elsewhere")
    rc, _, err = lmlab("train", *TRAININGS["lm-ngram"], "--data", data["lm"], "--out", out)
    one_line_error(rc, err, f"{out} cannot be locked")
