"""``lmlab eval`` of an n-gram run with a model file on its lean path (lmlab/lm/ngram/lean.py: no NumPy, the
compiled encoder and scorer on the mapped file, the total added up in C): the same output as the general path, bit
for bit, KenLM's perplexity on KenLM's own models, the general path wherever the lean one cannot answer alike, and a
damaged file refused in one line."""

from __future__ import annotations

import dataclasses
import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lmlab.cli.main import main
from lmlab.errors import LmlabError
from lmlab.lm.ngram import fast, lean
from lmlab.lm.ngram import smoothing as sm
from lmlab.lm.ngram.arpa import read_arpa
from lmlab.lm.ngram.binary import layout
from lmlab.lm.ngram.model import IMPORTED, STREAMING_SMOOTHINGS, WEIGHTS_FILE, NgramConfig, NgramLM
from lmlab.lm.ngram.modelfile import HEADER_BYTES, ModelFile
from lmlab.lm.run import save_run
from lmlab.runconfig import RunInfo
from lmlab.tokenizers import BPETokenizer, CharTokenizer, WordTokenizer

from .helpers import LINES, fit, spy_on

pytestmark = pytest.mark.skipif(not fast.available(), reason=f"compiled scorer not built: {fast.BUILD_HINT}")

# unseen words, an empty line, a line longer than any in training
TEXT = ["the cat slept on the log", "", "a bird sat on the mat and the cat sat on the dog", "zebra", "Ünïcödé 😀 sat"]


def _save(model, run: Path, stats: dict | None = None) -> Path:
    save_run(model, run, RunInfo(data={}, command="test", stats=stats or {}))
    return run


def _fit(tokenizer, lines, **cfg) -> NgramLM:
    return NgramLM.fit(tokenizer.encode_lines(lines).ids, tokenizer, NgramConfig(**cfg))


@pytest.fixture
def spy(monkeypatch):
    """Records what the lean path returned each time ``lmlab eval`` asked it (None: handed over)."""
    return spy_on(monkeypatch, lean, "evaluate_run")


def _eval(argv, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["eval", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _both_paths(argv, capsys, monkeypatch) -> tuple[tuple, tuple]:
    """(lean, general): ``lmlab eval ARGV`` through the lean path (which must answer) and the general path."""
    calls: list[int | str | None] = []
    real = lean.evaluate_run

    def evaluate_run(*args):
        try:
            calls.append(real(*args))
        except LmlabError:  # the lean path's own one-line error
            calls.append("error")
            raise
        return calls[-1]

    monkeypatch.setattr(lean, "evaluate_run", evaluate_run)
    lean_result = _eval(argv, capsys)
    assert calls in ([0], ["error"]), "the lean path did not answer"
    monkeypatch.setattr(lean, "evaluate_run", lambda *a: None)
    general = _eval(argv, capsys)
    monkeypatch.setattr(lean, "evaluate_run", real)
    return lean_result, general


MODELS = {
    "word mkn5": lambda: fit(LINES * 3, order=5),
    "word kn3 lowercase": lambda: _fit(WordTokenizer.train(LINES, lowercase=True), LINES, order=3,
                                       smoothing="kneser-ney"),
    "word witten-bell": lambda: fit(LINES, order=3, smoothing="witten-bell"),
    "word katz": lambda: fit(LINES * 2, order=3, smoothing="katz"),
    "word add-k": lambda: fit(LINES, order=2, smoothing="add-k"),
    "word unigram": lambda: fit(LINES, order=1),
    "word effective order": lambda: fit(["a b", "b a"], order=6),
    "word pruned": lambda: fit(LINES * 3, order=4, prune=[0, 0, 1]),
    "char mkn5": lambda: _fit(CharTokenizer.train(LINES), LINES * 2, order=5),
    "char absolute-discount": lambda: _fit(CharTokenizer.train(LINES), LINES, order=3, smoothing="absolute-discount"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_lean_path_prints_what_the_general_path_prints(name, json_flag, tmp_path, capsys, monkeypatch):
    run = _save(MODELS[name](), tmp_path / "run")
    (tmp_path / "t.txt").write_text("\n".join(TEXT) + "\n", encoding="utf-8")
    fast_result, general = _both_paths([run, "--text", tmp_path / "t.txt", *json_flag], capsys, monkeypatch)
    assert fast_result == general
    assert fast_result[0] == 0 and fast_result[1].count("\n") == 1
    if json_flag:
        r = json.loads(fast_result[1])
        assert r["family"] == "ngram" and r["tokens"] > 0 and r["lines"] == len(TEXT)


def test_lean_path_equals_the_numpy_path_and_kenlm_on_kenlms_models(tmp_path, kenlm_fixtures, capsys, spy):
    """KenLM's own models (lmplz's ARPA files, read and saved as runs): the lean path's log10 probabilities equal the
    numpy path's bit for bit and KenLM's (the kenlm module, on the same ARPA file) to its float32 precision."""
    kenlm = pytest.importorskip("kenlm")
    cases = [
        ("tiny.3gram.fallback.arpa", (kenlm_fixtures / "tiny.txt").read_text().splitlines() + ["unseen words", "a"]),
        ("names.char5.arpa", (kenlm_fixtures / "names.chars.txt").read_text().splitlines()[:3000]),
    ]
    for arpa, lines in cases:
        model = read_arpa(kenlm_fixtures / arpa)
        run = _save(model, tmp_path / arpa)
        mapped = ModelFile(run / WEIGHTS_FILE)
        encode = model.tokenizer.compiled_encoder()
        ids, _ = encode(lines)
        tok = model.tokenizer
        got = np.frombuffer(fast.log10_stream_file(mapped, ids, tok.bos_id, tok.eos_id), dtype=np.float64)
        np.testing.assert_array_equal(got, model.log10_stream_numpy(np.frombuffer(ids, dtype=np.int32)))

        reference = kenlm.Model(str(kenlm_fixtures / arpa))
        expected = [lp for line in lines for lp, _, _ in reference.full_scores(line, bos=True, eos=True)]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)

        (tmp_path / "t.txt").write_text("\n".join(lines) + "\n")
        code, out, _ = _eval([run, "--text", tmp_path / "t.txt", "--json"], capsys)
        r = json.loads(out)
        kenlm_perplexity = 10 ** (-sum(expected) / len(expected))
        assert code == 0 and r["tokens"] == len(expected)
        assert r["perplexity"] == pytest.approx(kenlm_perplexity, rel=1e-6)
    assert spy == [0, 0]


def test_ptb_5gram_as_the_benchmark_runs_it_equals_kenlm_and_the_general_path(
    shared_data, tmp_path, capsys, monkeypatch
):
    """The benchmark's case: PTB 5-gram, the test text, perplexity 141.19 as KenLM's query reports it."""
    read = lambda split: (shared_data / "ptb" / f"ptb.{split}.txt").read_text().split("\n")[:-1]  # noqa: E731
    run = _save(fit(read("train"), order=5), tmp_path / "ptb5")
    fast_result, general = _both_paths(
        [run, "--text", shared_data / "ptb" / "ptb.test.txt", "--json"], capsys, monkeypatch
    )
    assert fast_result == general
    r = json.loads(fast_result[1])
    assert r["tokens"] == 82430 and r["perplexity"] == pytest.approx(141.19, abs=0.01)


def test_corpus_splits_and_warnings_as_the_general_path(tmp_path, capsys, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(LINES * 30) + "\n")
    # order 9: no line is that long (6 words, <s> and </s>), so the model warns that it scores as order 8
    assert (
        main(["train", "--model", "ngram", "--order", "9", "--data", str(corpus), "--out", str(tmp_path / "run")]) == 0
    )
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    cfg["stats"]["status"] = "interrupted"  # a warning of the run's state
    (tmp_path / "run" / "config.json").write_text(json.dumps(cfg))
    corpus.write_text(corpus.read_text() + "one more line\n")  # and of the corpus, changed since training
    for argv in ([tmp_path / "run"], [tmp_path / "run", "--split", "valid", "--json"]):
        fast_result, general = _both_paths(argv, capsys, monkeypatch)
        assert fast_result == general
        err = fast_result[2]
        assert err.count("was interrupted") == err.count("its contents changed") == 1
        assert err.count("it scores as an order-8 model") == 1 and err.count("\n") == 3


@pytest.mark.parametrize("case", ["bpe", "tsv", "labelled corpus", "stupid-backoff", "legacy", "config"])
def test_runs_the_lean_path_cannot_answer_alike_go_to_the_general_path(case, tmp_path, capsys, spy):
    text = tmp_path / "t.txt"
    text.write_text("\n".join(TEXT) + "\n")
    argv = [tmp_path / "run", "--text", text]
    if case == "bpe":
        tok = BPETokenizer.train(LINES * 3, vocab_size=40)
        _save(_fit(tok, LINES * 3, order=3), tmp_path / "run")
    elif case == "tsv":
        _save(fit(LINES, order=3), tmp_path / "run")
        (tmp_path / "t.tsv").write_text("x\tthe cat sat\ny\ta dog\n")
        argv[-1] = tmp_path / "t.tsv"
    elif case == "labelled corpus":
        _save(fit(LINES, order=3), tmp_path / "run")
        (tmp_path / "c.tsv").write_text("".join(f"{'xy'[i % 2]}\t{line or 'a'}\n" for i, line in enumerate(LINES * 20)))
        argv = [tmp_path / "run", "--data", tmp_path / "c.tsv"]
    elif case == "stupid-backoff":
        _save(fit(LINES, order=3, smoothing="stupid-backoff"), tmp_path / "run")
    elif case == "legacy":
        from safetensors.numpy import save_file

        model = fit(LINES, order=3)
        _save(model, tmp_path / "run")
        tensors = {}
        for k in range(1, 4):
            tensors |= {f"keys.{k}": model.keys[k - 1], f"logp.{k}": model.logp[k - 1], f"bow.{k}": model.bow[k - 1]}
        save_file(tensors, str(tmp_path / "run" / "model.safetensors"))
        (tmp_path / "run" / WEIGHTS_FILE).unlink()
    else:  # a field of a type lmlab never writes: the general path names it
        _save(fit(LINES, order=3), tmp_path / "run")
        cfg = json.loads((tmp_path / "run" / "config.json").read_text())
        cfg["model"]["interpolate_unigrams"] = "yes"
        (tmp_path / "run" / "config.json").write_text(json.dumps(cfg))
    code, out, err = _eval(argv, capsys)
    assert spy == [None]
    expected = {"stupid-backoff": "gives scores, not probabilities", "config": "interpolate_unigrams"}
    if case in expected:
        assert code == 2 and expected[case] in err and err.count("\n") == 1
    else:
        assert code == 0 and "perplexity" in out and err.count("lmlab: warning") == 0


def test_a_text_the_model_gives_probability_zero_is_the_general_paths_error(tmp_path, capsys, monkeypatch):
    run = _save(fit(LINES, order=2, smoothing="mle"), tmp_path / "run")
    (tmp_path / "t.txt").write_text("the cat sat on the log\nthe zebra\n")  # an unseen word: p(<unk>) = 0
    (code, out, err), general = _both_paths([run, "--text", tmp_path / "t.txt"], capsys, monkeypatch)
    assert (code, out, err) == general
    assert code == 2 and out == "" and "probability 0 to" in err and err.count("\n") == 1


def test_ln_total_adds_up_as_numpy_sums():
    """The C total is np.sum(ln10 * values) bit for bit: pairwise blocks of 8 and 128, halves above."""
    rng = np.random.default_rng(0)
    ln10 = math.log(10.0)
    for n in [*range(0, 300), 1023, 8191, 8192, 8193, 82430, 300_001]:
        values = np.log10(rng.random(n)) * rng.random(n) * 5
        total, bad, first = fast.ln_total(values.tobytes(), ln10)
        assert total == float(np.sum(values * ln10, dtype=np.float64)), n
        assert (bad, first) == (0, -1)
    values = np.array([-1.0, -np.inf, -2.0, np.nan, -np.inf])
    assert fast.ln_total(values.tobytes(), ln10)[1:] == (3, 1)


def test_char_compiled_encoder_equals_the_readable_path():
    rng = np.random.default_rng(1)
    alphabet = list("abc \t\u00a0é😀\u2028") + ["\U0010ffff"]
    lines = ["".join(rng.choice(alphabet, size=rng.integers(0, 12))) for _ in range(300)] + ["", "x\ny"]
    tok = CharTokenizer.train(lines[:100])
    ids, oov = tok.compiled_encoder()(lines)
    expected = tok.encode_lines(lines)
    np.testing.assert_array_equal(np.frombuffer(ids, dtype=np.int32), expected.ids)
    assert oov == expected.n_oov > 0


def test_plain_config_knows_what_ngram_config_saves():
    """The lean path's list of fields and smoothings is NgramConfig's: a field or smoothing added there must be
    added here, or its runs would be refused (never wrongly accepted: an unknown field hands over)."""
    saved = {f.name for f in dataclasses.fields(NgramConfig)} - {"memory", "limit_vocab_file"}
    assert set(lean._FIELD_TYPES) == saved | {"missing_context_bow", "discounts"}
    assert set(lean._NOT_SAVED) == {f.name for f in dataclasses.fields(NgramConfig)} - saved
    assert set(lean.NORMALIZED_SMOOTHINGS) == (set(sm.SMOOTHINGS) - {"stupid-backoff"}) | {IMPORTED}
    assert set(lean.PRUNING_SMOOTHINGS) == set(STREAMING_SMOOTHINGS)
    for smoothing in set(lean.NORMALIZED_SMOOTHINGS) - {IMPORTED}:
        assert lean.plain_config(fit(LINES * 2, order=2, smoothing=smoothing).config_dict()), smoothing


@pytest.mark.parametrize(
    "change, status",
    [
        ({"order": 0}, 2),
        ({"order": True}, 2),
        ({"smoothing": "nonsense"}, 2),
        ({"prune": [0, 2, 1]}, 2),
        ({"prune": [0, 0, 0, 1]}, 2),  # more thresholds than orders
        ({"prune": [-1]}, 2),
        ({"prune": [0, 1], "smoothing": "witten-bell"}, 2),  # pruning is for Kneser-Ney
        ({"discounts": [[0.5, "x"]]}, 2),
        ({"k": "1"}, 2),
        ({"memory": "1G"}, 0),  # never saved: handed over, and the general path accepts it
    ],
)
def test_configurations_lmlab_does_not_write_go_to_the_general_path(change, status, tmp_path, capsys, spy):
    run = _save(fit(LINES, order=3), tmp_path / "run")
    cfg = json.loads((run / "config.json").read_text())
    cfg["model"] |= change
    assert not lean.plain_config(cfg["model"])
    (run / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "t.txt").write_text("the cat sat\n")
    code, _, err = _eval([run, "--text", tmp_path / "t.txt"], capsys)
    assert spy == [None] and code == status
    assert status == 0 or ("config.json" in err and err.count("\n") == 1)


def _lmlab(*args, cwd):
    return subprocess.run([sys.executable, "-m", "lmlab", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_damaged_model_files_are_one_line_and_status_2_on_the_lean_path(tmp_path):
    """Truncated at every array boundary, a header damaged, a hash table damaged, <s> given a probability."""
    run = _save(fit(LINES * 3, order=3), tmp_path / "run")
    (tmp_path / "t.txt").write_text("the cat sat\n")
    path = run / WEIGHTS_FILE
    whole = path.read_bytes()
    sizes = list(struct.unpack_from("<3Q", whole, 32))
    arrays, length = layout(sizes)
    damaged = {f"cut at {cut}": whole[:cut] for cut in sorted({0, 100, HEADER_BYTES, *(o for _, o, _, _ in arrays)})}
    damaged["header byte"] = whole[:40] + bytes([whole[40] ^ 1]) + whole[41:]
    offset, count = next((o, c) for name, o, c, _ in arrays if name == "slots.2")
    table = np.frombuffer(whole, dtype=np.int64, count=count, offset=offset).reshape(-1, 4).copy()
    table[:, 0] = 10**15  # every slot full of a key no query asks for
    damaged["hash table"] = whole[:offset] + table.tobytes() + whole[offset + table.nbytes :]
    bos = next(o for name, o, _, _ in arrays if name == "logp.1") + 8 * 1  # <s> is id 1
    damaged["<s> unigram"] = whole[:bos] + struct.pack("<d", -1.5) + whole[bos + 8 :]
    for what, data in damaged.items():
        path.write_bytes(data)
        r = _lmlab("eval", run, "--text", tmp_path / "t.txt", cwd=tmp_path)
        assert r.returncode == 2, (what, r.stderr)
        assert r.stderr.count("\n") == 1 and "model.ngram" in r.stderr and "Traceback" not in r.stderr, what
        assert r.stdout == "", what


def test_ngram_eval_of_a_model_file_imports_neither_numpy_nor_torch(tmp_path):
    """The lean path is the one lmlab eval takes, on a run's own corpus and on a text file, word and char alike.
    On a text file (the benchmark's case, issue 25) it imports neither logging, dataclasses, argparse, typing,
    pathlib, json, re, enum, functools, contextlib, signal nor importlib either (each a fiftieth to a tenth of its
    whole process), nor another task's package."""
    (tmp_path / "c.txt").write_text("\n".join(LINES * 20) + "\n")
    for tokenizer in ("word", "char"):
        args = ["--order", "3", "--tokenizer", tokenizer, "--data", "c.txt", "--out", tokenizer]
        assert _lmlab("train", "--model", "ngram", *args, cwd=tmp_path).returncode == 0
    code = """
import sys
from lmlab.cli.main import main
for run in ("word", "char"):
    assert main(["eval", run, "--text", "c.txt", "--json"]) == 0
light = {"numpy", "torch", "logging", "dataclasses", "argparse", "typing", "pathlib", "json", "re", "enum"}
light |= {"functools", "contextlib", "signal", "importlib"}
others = {"classify", "graph", "translate", "vision", "tag", "word2vec"}
print("text file:", sorted({m.split(".")[0] for m in sys.modules} & light), sorted(
    m for m in sys.modules if m.startswith("lmlab.") and m.split(".")[1] in others))
for run in ("word", "char"):
    assert main(["eval", run]) == 0
print("and corpus:", sorted({m.split(".")[0] for m in sys.modules} & {"numpy", "torch"}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    found = [line for line in r.stdout.splitlines() if line.startswith(("text file:", "and corpus:"))]
    assert found == ["text file: [] []", "and corpus: []"]


def test_the_installed_lmlab_command_imports_no_re(tmp_path):
    """The lmlab command pip installs (bin/lmlab) starts the lean path without re, which pip's generated wrapper
    for an entry point would import first."""
    script = Path(sys.executable).parent / "lmlab"
    if not script.is_file():
        pytest.skip("lmlab is not installed beside this interpreter")
    (tmp_path / "c.txt").write_text("\n".join(LINES * 20) + "\n")
    assert (
        _lmlab("train", "--model", "ngram", "--order", "3", "--data", "c.txt", "--out", "run", cwd=tmp_path).returncode
        == 0
    )
    r = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), "eval", "run", "--text", "c.txt"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0 and "perplexity" in r.stdout, r.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "lmlab.lm.ngram.lean" in imported and not imported & {"re", "json", "enum", "argparse", "numpy"}


@pytest.mark.parametrize(
    "tokens", [["<unk>", "<s>", "</s>", "the", 3], "the cat", ["<unk>", "<s>", "</s>", None], {"the": 3}]
)
def test_a_tokenizer_file_whose_tokens_are_not_strings_is_one_line(tokens, tmp_path):
    """The vocabulary read at every eval is checked token by token (in C): anything but a list of strings is one
    line naming the file and the field, status 2, on the lean path as on the general one."""
    run = _save(fit(LINES * 3, order=3), tmp_path / "run")
    (tmp_path / "t.txt").write_text("the cat sat\n")
    d = json.loads((run / "tokenizer.json").read_text())
    d["tokens"] = tokens
    (run / "tokenizer.json").write_text(json.dumps(d))
    r = _lmlab("eval", run, "--text", tmp_path / "t.txt", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "tokenizer.json: field 'tokens' must be a list of strings" in r.stderr


def test_lmlab_eval_reads_a_runs_config_once(tmp_path, capsys, monkeypatch, spy):
    """The task's dispatch and the lean path share the config.json lmlab eval read; an ARPA file still goes to the
    general path, and a folder without config.json is the one line it was."""
    import lmlab.runconfig

    run = _save(fit(LINES * 3, order=3), tmp_path / "run")
    (tmp_path / "t.txt").write_text("the cat sat\n")
    reads = []
    real = lmlab.runconfig.read_run_config
    monkeypatch.setattr(lmlab.runconfig, "read_run_config", lambda path: reads.append(path) or real(path))
    assert _eval([run, "--text", tmp_path / "t.txt"], capsys)[0] == 0
    assert spy == [0] and len(reads) == 1
    code, out, _ = _eval([run, "--text", tmp_path / "t.txt", "--json"], capsys)
    assert code == 0 and json.loads(out)["tokens"] == 4 and len(reads) == 2
    fit(LINES * 3, order=3).write_arpa(tmp_path / "m.arpa")
    code, out, _ = _eval([tmp_path / "m.arpa", "--text", tmp_path / "t.txt"], capsys)
    assert code == 0 and "perplexity" in out and spy == [0, 0] and len(reads) == 2  # no config.json, no lean path
    (tmp_path / "empty").mkdir()
    code, out, err = _eval([tmp_path / "empty", "--text", tmp_path / "t.txt"], capsys)
    assert code == 2 and out == "" and "is not a run directory (no config.json) nor an ARPA file" in err
