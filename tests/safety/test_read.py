"""Hostile or damaged run files, bad flags and OS errors: one line on stderr, exit status 2, no traceback, no hang.

Each test reproduces a defect of issue 10 (items 6, 9, 10, 11, 13, 18, 19). Cases that could hang or exhaust
memory on a faulty reader (a FIFO, /dev/zero, a huge dimension) run ``lmlab`` in a child process with a timeout
and a memory limit.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lmlab.cli.main import main

REPO = Path(__file__).resolve().parents[2]
LINES = [f"the {a} {v} on the {b}" for a in ("cat", "dog", "bird") for v in ("sat", "slept") for b in ("mat", "log")]
TINY_MLP = ["--context-len", "3", "--d-embed", "6", "--d-hidden", "16", "--batch-size", "16"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    (d / "train.txt").write_text("\n".join(LINES * 3) + "\n", encoding="utf-8")
    (d / "valid.txt").write_text("the cat sat on the log\nthe bird slept\n", encoding="utf-8")
    (d / "test.txt").write_text("the dog sat on the mat\nthe cow sat\n", encoding="utf-8")
    return d


def lmlab(*args) -> tuple[int, str, str]:
    """``lmlab ARGS`` in this process: (exit status, stdout, stderr)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


def lmlab_child(*args, timeout: float = 600, memory_gb: float = 3) -> tuple[int, str, str]:
    """``lmlab ARGS`` in a child process that is killed after ``timeout`` seconds and may not use more than
    ``memory_gb`` of address space, so a reader that hangs or reads forever fails the test instead of the machine.
    The timeout is generous: a busy machine may take a minute to start the child and import PyTorch, and the
    test is about a hang, not about speed (a child that answers at all answers within seconds)."""

    def limit() -> None:
        n = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (n, n))

    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    try:
        p = subprocess.run(
            [sys.executable, "-m", "lmlab.cli.main", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            preexec_fn=limit,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"lmlab {' '.join(map(str, args))} hung for {timeout} s")
    return p.returncode, p.stdout, p.stderr


def one_line_error(rc: int, err: str, *needles: str) -> None:
    """Exit status 2 and exactly one line on stderr, an lmlab error containing every needle."""
    assert rc == 2, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if not line.startswith("lmlab: warning:")]
    assert len(lines) == 1 and lines[0].startswith("lmlab: error: "), err
    for needle in needles:
        assert needle in lines[0], err


@pytest.fixture(scope="module")
def ngram_run(corpus, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("ngram") / "run"
    rc, _, err = lmlab("train", "--model", "ngram", "--order", "3", "--data", corpus, "--out", run)
    assert rc == 0, err
    return run


@pytest.fixture(scope="module")
def mlp_run(corpus, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("mlp") / "run"
    rc, _, err = lmlab(
        "train", "--model", "mlp", *TINY_MLP, "--max-steps", "3", "--tokenizer", "char", "--data", corpus, "--out", run
    )
    assert rc == 0, err
    return run


def copy_run(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "run"))


def edit_json(path: Path, change) -> None:
    d = json.loads(path.read_text(encoding="utf-8"))
    change(d)
    path.write_text(json.dumps(d), encoding="utf-8")


# ---- item 10: tokenizer.file confined to the run; only regular files; a size limit
@pytest.mark.parametrize("name", ["../outside/tokenizer.json", "ABSOLUTE", "sub/tokenizer.json", ".."])
def test_tokenizer_file_outside_the_run_is_refused(ngram_run, tmp_path, name):
    run = copy_run(ngram_run, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(run / "tokenizer.json", outside / "tokenizer.json")  # a valid tokenizer: only its place is wrong
    (run / "sub").mkdir()
    shutil.copy(run / "tokenizer.json", run / "sub" / "tokenizer.json")
    value = str(outside / "tokenizer.json") if name == "ABSOLUTE" else name
    edit_json(run / "config.json", lambda c: c["tokenizer"].update(file=value))
    rc, _, err = lmlab("eval", run)
    one_line_error(rc, err, "config.json", "field 'tokenizer.file'", "plain file name")


def test_tokenizer_file_that_is_a_fifo_does_not_hang(ngram_run, tmp_path):
    run = copy_run(ngram_run, tmp_path)
    os.mkfifo(run / "pipe")
    edit_json(run / "config.json", lambda c: c["tokenizer"].update(file="pipe"))
    rc, _, err = lmlab_child("eval", run)
    one_line_error(rc, err, "pipe", "FIFO")


def test_tokenizer_file_linked_to_dev_zero_is_not_read(ngram_run, tmp_path):
    run = copy_run(ngram_run, tmp_path)
    (run / "tokenizer.json").unlink()
    os.symlink("/dev/zero", run / "tokenizer.json")
    rc, _, err = lmlab_child("eval", run, memory_gb=1)
    one_line_error(rc, err, "tokenizer.json", "device")


def test_config_json_that_is_a_fifo_does_not_hang(ngram_run, tmp_path):
    run = copy_run(ngram_run, tmp_path)
    (run / "config.json").unlink()
    os.mkfifo(run / "config.json")
    rc, _, err = lmlab_child("eval", run)
    one_line_error(rc, err, "config.json", "FIFO")


def test_tokenizer_file_that_is_a_directory(ngram_run, tmp_path):
    run = copy_run(ngram_run, tmp_path)
    (run / "tokenizer.json").unlink()
    (run / "tokenizer.json").mkdir()
    rc, _, err = lmlab("eval", run)
    one_line_error(rc, err, "tokenizer.json", "directory")


def test_oversized_config_json_is_refused(ngram_run, tmp_path):
    run = copy_run(ngram_run, tmp_path)
    edit_json(run / "config.json", lambda c: c.update(padding="x" * (17 * 2**20)))  # valid JSON, 17 MiB
    rc, _, err = lmlab("eval", run)
    one_line_error(rc, err, "config.json", "bytes allowed")


def test_reader_refuses_special_files_without_blocking(tmp_path):
    from lmlab.errors import LmlabError
    from lmlab.runfiles import read_json

    os.mkfifo(tmp_path / "fifo")  # opening it for reading would block until a writer came
    for path, kind in ((tmp_path / "fifo", "FIFO"), (Path("/dev/zero"), "device"), (tmp_path, "directory")):
        with pytest.raises(LmlabError, match=kind):
            read_json(path)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LmlabError, match="not a valid"):
        read_json(tmp_path / "deep.json")
    (tmp_path / "latin1.json").write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(LmlabError, match="not UTF-8"):
        read_json(tmp_path / "latin1.json")


# ---- item 9: wrong field types name the file and the field
@pytest.mark.parametrize(
    "change, field",
    [
        (lambda c: c["model"].update(d_embed="abc"), "field 'model.d_embed' must be an integer, got 'abc'"),
        (lambda c: c["model"].update(dropout=[0.1]), "field 'model.dropout' must be a number"),
        (lambda c: c.update(tokenizer="tokenizer.json"), "field 'tokenizer' must be an object"),
        (lambda c: c["tokenizer"].update(file=7), "field 'tokenizer.file' must be a string"),
        (lambda c: c.update(family=5), "field 'family' must be a string"),
        (lambda c: c.update(model=None), "field 'model' must be an object"),
        (lambda c: c["data"].update(spec=5), "field 'data.spec' must be a string or null"),
        (lambda c: c.pop("family"), "field 'family' is missing"),
    ],
)
def test_config_json_with_wrong_types(mlp_run, tmp_path, change, field):
    run = copy_run(mlp_run, tmp_path)
    edit_json(run / "config.json", change)
    rc, _, err = lmlab("eval", run)
    one_line_error(rc, err, f"{run / 'config.json'}: {field}")


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda s: s.update(step="abc"), "field 'step' must be an integer, got 'abc'"),
        (lambda s: s.update(val_history="x"), "field 'val_history' must be a list of [step, loss] pairs"),
        (lambda s: s.update(best=["a", 1]), "field 'best' must be a [step, loss] pair or null"),
        (lambda s: s["config"].update(d_embed="abc"), "field 'config.d_embed' must be an integer"),
        (lambda s: s.update(optimizer=[]), "field 'optimizer' must be an object"),
        (lambda s: s.update(elapsed_s=None), "field 'elapsed_s' must be a number"),
    ],
)
def test_state_json_with_wrong_types(mlp_run, tmp_path, change, field):
    run = copy_run(mlp_run, tmp_path)
    state = run / "checkpoints" / "last" / "state.json"
    edit_json(state, change)
    rc, _, err = lmlab("train", "--resume", run, "--max-steps", "6")
    one_line_error(rc, err, f"{state}: {field}")


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda r: r.update(comparison="x"), "field 'comparison' must be an object"),
        (lambda r: r.update(rows="x"), "field 'rows' must be a list of objects"),
        (lambda r: r["rows"][0].update(test_perplexity="abc"), "field 'rows[0].test_perplexity' must be a number"),
        (lambda r: r["rows"][0].pop("family"), "field 'rows[0].family' is missing"),
    ],
)
def test_results_json_with_wrong_types(corpus, tmp_path, change, field):
    out = tmp_path / "report"
    out.mkdir()
    results = {
        "format": "lmlab-compare",
        "version": 1,
        "comparison": {"data": str(corpus), "models": ["ngram"], "tokenizer": "char"},
        "rows": [{"family": "ngram", "command": "lmlab train", "run_dir": str(tmp_path), "status": "done"}],
    }
    change(results)
    (out / "results.json").write_text(json.dumps(results), encoding="utf-8")
    rc, _, err = lmlab("compare", "--data", corpus, "--models", "ngram", "--out", out)
    one_line_error(rc, err, f"{out / 'results.json'}: {field}")


# ---- item 6: weights tied to their tokenizer
@pytest.mark.parametrize("family_run", ["ngram_run", "mlp_run"])
def test_reordered_tokenizer_is_refused(family_run, tmp_path, request):
    run = copy_run(request.getfixturevalue(family_run), tmp_path)
    path = run / "tokenizer.json"
    before = json.loads(path.read_text(encoding="utf-8"))

    def swap(t):
        t["tokens"][3], t["tokens"][4] = t["tokens"][4], t["tokens"][3]

    edit_json(path, swap)  # the same tokens, so the same size: only two ids are exchanged
    assert sorted(json.loads(path.read_text(encoding="utf-8"))["tokens"]) == sorted(before["tokens"])
    rc, _, err = lmlab("eval", run)
    one_line_error(rc, err, "tokenizer.json does not match the weights of this run (sha256")


@pytest.mark.parametrize("family_run", ["ngram_run", "mlp_run"])
def test_a_tokenizer_file_is_recognised_by_its_bytes_else_by_its_content(family_run, tmp_path, request, monkeypatch):
    """A run records the sha256 of the tokenizer file training wrote: that file, unchanged, is taken without
    hashing its content; the same content written in another form is taken by its content's sha256."""
    import hashlib

    from lmlab import tokenizers
    from lmlab.runconfig import load_run_tokenizer, read_run_config

    run = copy_run(request.getfixturevalue(family_run), tmp_path)
    path = run / "tokenizer.json"
    cfg = read_run_config(run)
    assert cfg["tokenizer"]["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    hashed = []
    content_sha256 = tokenizers.tokenizer_sha256
    monkeypatch.setattr(tokenizers, "tokenizer_sha256", lambda tok: hashed.append(tok) or content_sha256(tok))
    tokens = load_run_tokenizer(run, cfg).tokens()
    assert hashed == []
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")  # one line
    assert load_run_tokenizer(run, cfg).tokens() == tokens and len(hashed) == 1
    rc, out, err = lmlab("eval", run)
    assert rc == 0 and "perplexity" in out, err


def test_run_records_its_tokenizer_hash_and_older_runs_still_load(mlp_run, tmp_path):
    from lmlab.tokenizers import load_tokenizer, tokenizer_sha256

    run = copy_run(mlp_run, tmp_path)
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    assert config["tokenizer"]["sha256"] == tokenizer_sha256(load_tokenizer(run / "tokenizer.json"))
    edit_json(run / "config.json", lambda c: c["tokenizer"].pop("sha256"))  # as written before the hash
    rc, out, err = lmlab("eval", run)
    assert rc == 0 and "perplexity" in out, err


# ---- item 11: shapes from the safetensors header before anything is allocated
@pytest.mark.parametrize(
    "size, message",
    [(2**20, "embed.weight has shape (20, 6), the configuration needs (20, 1048576)"), (10**9, "at most 1,048,576")],
)
def test_huge_dimension_is_refused_without_allocating(mlp_run, tmp_path, size, message):
    run = copy_run(mlp_run, tmp_path)
    edit_json(run / "config.json", lambda c: c["model"].update(d_embed=size, d_hidden=size))
    # a hidden layer of (size, 3 * size) floats: 12 TB for 2**20, which 3 GB of address space cannot hold
    rc, _, err = lmlab_child("eval", run, memory_gb=3)
    one_line_error(rc, err, message)


def test_header_that_claims_a_huge_tensor_is_refused(tmp_path):
    import struct

    from lmlab.errors import LmlabError
    from lmlab.nn.tensor_io import load_tensors, tensor_shapes

    header = json.dumps({"w": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}}).encode()
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    for read in (tensor_shapes, load_tensors):
        with pytest.raises(LmlabError, match="corrupted or truncated"):
            read(path)


def test_derived_tables_and_layers_are_bounded(tmp_path, corpus):
    """A Transformer's sinusoidal table is not saved, so the header cannot bound its block_size: the bytes it
    would take are bounded instead; and a million layers are refused before any is built."""
    run = tmp_path / "tf"
    flags = ["--n-layer", "1", "--n-head", "2", "--d-model", "512", "--block-size", "8", "--seq-len", "8"]
    rc, _, err = lmlab(
        "train", "--model", "transformer", *flags, "--positions", "sinusoidal", "--max-steps", "1",
        "--warmup-steps", "0", "--tokenizer", "char", "--data", corpus, "--out", run,
    )  # fmt: skip
    assert rc == 0, err
    edit_json(run / "config.json", lambda c: c["model"].update(block_size=2**20))  # a 2 GiB table of 2**20 x 512
    rc, _, err = lmlab_child("eval", run, memory_gb=3)
    one_line_error(rc, err, "model.safetensors: the configuration asks for 2.0 GiB of tables")
    edit_json(run / "config.json", lambda c: c["model"].update(block_size=8, n_layer=10**6))
    rc, _, err = lmlab_child("eval", run, memory_gb=3)
    one_line_error(rc, err, "config.json: field 'model.n_layer' must be at most 1,024")


# ---- item 13: OS errors are one line
def test_text_or_config_that_is_a_directory_or_missing(ngram_run, corpus, tmp_path):
    rc, _, err = lmlab("eval", ngram_run, "--text", corpus)
    one_line_error(rc, err, "--text", "directory")
    rc, _, err = lmlab("eval", ngram_run, "--text", tmp_path / "missing.txt")
    one_line_error(rc, err, "missing.txt")
    rc, _, err = lmlab("train", "--model", "ngram", "--config", corpus, "--data", corpus, "--out", tmp_path / "r")
    one_line_error(rc, err, str(corpus), "directory")


def test_out_below_a_file(corpus, tmp_path):
    rc, _, err = lmlab("train", "--model", "ngram", "--data", corpus, "--out", corpus / "train.txt" / "run")
    one_line_error(rc, err, "train.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder(corpus, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        rc, _, err = lmlab("train", "--model", "ngram", "--data", corpus, "--out", folder / "run")
    finally:
        folder.chmod(0o700)
    one_line_error(rc, err, "Permission denied")


@pytest.mark.parametrize(
    "code, filename, message",
    [
        (errno.ENOSPC, None, "No space left on device"),
        (errno.ENOSPC, "run/tokenizer.json", "run/tokenizer.json: No space left on device"),
        (errno.EROFS, "run", "run: Read-only file system"),
    ],
)
def test_disk_full_or_read_only_is_one_line(corpus, tmp_path, monkeypatch, code, filename, message):
    from lmlab import io as lmlab_io

    atomic_open = lmlab_io.atomic_open

    def fail(path, *args, **kwargs):
        if Path(path).name != "tokenizer.json":
            return atomic_open(path, *args, **kwargs)
        raise OSError(code, os.strerror(code), filename)

    monkeypatch.setattr("lmlab.io.atomic_open", fail)  # the tokenizer's file (its save imports atomic_open late)
    rc, _, err = lmlab("train", "--model", "ngram", "--data", corpus, "--out", tmp_path / "run")
    one_line_error(rc, err, message)


def test_export_onto_a_directory_and_compare_onto_a_file(ngram_run, corpus, tmp_path):
    rc, _, err = lmlab("export", ngram_run, "--format", "arpa", "--out", tmp_path)
    one_line_error(rc, err, "--out", "directory")
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    rc, _, err = lmlab("compare", "--data", corpus, "--models", "ngram", "--out", target)
    one_line_error(rc, err, "--out", "is a file")
    assert target.read_text() == "mine\n"


# ---- item 18: a failed optional report does not fail a successful training
def test_mle_training_with_unseen_validation_tokens_succeeds(corpus, tmp_path):
    run = tmp_path / "mle"
    rc, out, err = lmlab("train", "--model", "ngram", "--smoothing", "mle", "--data", corpus, "--out", run)
    assert rc == 0, err
    assert "trained ngram" in out and "lmlab: warning: no validation perplexity" in err
    assert (run / "config.json").is_file()


# ---- item 19: messages that say what happened and what is allowed
@pytest.mark.parametrize("command", ["generate", "train"])
def test_negative_seed(command, ngram_run, corpus, tmp_path):
    args = [ngram_run] if command == "generate" else ["--model", "ngram", "--data", corpus, "--out", tmp_path / "r"]
    rc, _, err = lmlab(command, *args, "--seed", "-1")
    one_line_error(rc, err, "--seed must be an integer from 0 to 2**63 - 1, got -1")


@pytest.mark.parametrize("status, words", [("training", "still training"), ("interrupted", "was interrupted")])
def test_eval_of_an_unfinished_run_says_so(mlp_run, tmp_path, status, words):
    run = copy_run(mlp_run, tmp_path)
    edit_json(run / "config.json", lambda c: c["stats"].update(status=status))
    rc, out, err = lmlab("eval", run)
    assert rc == 0 and "perplexity" in out, err
    assert err.startswith("lmlab: warning: ") and words in err and "step 3 of 3" in err


def test_resume_of_a_finished_run_trains_nothing_and_says_so(mlp_run, tmp_path):
    run = copy_run(mlp_run, tmp_path)
    rc, out, err = lmlab("train", "--resume", run)
    assert rc == 0, err
    assert "nothing to train" in out and "trained" not in out.replace("nothing to train", "")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--model", "ngram", "--order", "3.5"], "n-gram order must be an integer from 1 to 10, got 3.5"),
        (["--model", "ngram", "--order", "abc"], "--order must be an integer, got 'abc'"),
        (["--model", "mlp", "--d-embed", "2.5"], "--d-embed must be an integer >= 1, got 2.5"),
        (["--model", "mlp", "--lr", "fast"], "--lr must be a number, got 'fast'"),
    ],
)
def test_flag_of_the_wrong_type_says_what_is_allowed(corpus, tmp_path, flags, message):
    rc, _, err = lmlab("train", *flags, "--data", corpus, "--out", tmp_path / "r")
    one_line_error(rc, err, message)
    assert "invalid parse value" not in err


def test_bad_value_in_a_file_is_blamed_on_the_file(mlp_run, corpus, tmp_path):
    run = copy_run(mlp_run, tmp_path)
    edit_json(run / "config.json", lambda c: c["model"].update(d_embed=0))
    rc, _, err = lmlab("eval", run)
    one_line_error(rc, err, f"{run / 'config.json'}: field 'model.d_embed' must be an integer >= 1, got 0")
    assert "--d-embed" not in err
    toml = tmp_path / "c.toml"
    toml.write_text("d_embed = 0\n")
    rc, _, err = lmlab("train", "--model", "mlp", "--config", toml, "--data", corpus, "--out", tmp_path / "x")
    one_line_error(rc, err, f"{toml}: field 'd_embed' must be an integer >= 1, got 0")
    rc, _, err = lmlab(
        "train", "--model", "mlp", "--config", toml, "--d-embed", "0", "--data", corpus, "--out", tmp_path / "x"
    )
    one_line_error(rc, err, "--d-embed must be an integer >= 1, got 0")  # the flag overrides the file: blame it
