"""``lmlab export RUN --format arpa`` of an n-gram run with a model file on its lean path (lmlab/lm/ngram/lean.py:
the mapped file written as text, no NumPy): the same bytes and the same messages as the general path
(:func:`lmlab.lm.ngram.arpa.write_arpa` on the loaded model), and the general path wherever the lean one cannot
answer alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lmlab.cli.main import main
from lmlab.lm.ngram import lean
from lmlab.lm.ngram.arpa import read_arpa
from lmlab.lm.run import load_model

from .helpers import LINES, fit, spy_on
from .test_lean_eval import MODELS, _save


@pytest.fixture
def spy(monkeypatch):
    """Records what the lean path returned each time ``lmlab export`` asked it (None: handed over)."""
    return spy_on(monkeypatch, lean, "export_run")


def _export(run: Path, out: Path, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["export", str(run), "--format", "arpa", "--out", str(out)])
    printed, err = capsys.readouterr()
    return code, printed, err


@pytest.mark.parametrize("name", [m for m in MODELS if not m.startswith("char")])
def test_lean_export_writes_the_bytes_and_messages_of_the_general_path(name, tmp_path, capsys, spy, monkeypatch):
    run = _save(MODELS[name](), tmp_path / "run")
    lean_result = _export(run, tmp_path / "lean.arpa", capsys)
    assert spy == [0], "the lean path did not answer"
    monkeypatch.setattr(lean, "export_run", lambda *a: None)
    general = _export(run, tmp_path / "general.arpa", capsys)
    assert lean_result[0] == general[0] == 0
    assert lean_result[1].replace("lean.arpa", "X") == general[1].replace("general.arpa", "X")
    assert lean_result[2] == general[2]  # the lower-order warning of a model with empty upper orders included
    data = (tmp_path / "lean.arpa").read_bytes()
    assert data == (tmp_path / "general.arpa").read_bytes() and data.startswith(b"\\data\\\n")
    model, _ = load_model(run)
    again = read_arpa(tmp_path / "lean.arpa")  # and it reads back as the model (7 significant digits)
    assert [k.size for k in again.keys[1:]] == [k.size for k in model.keys[1:]]


def test_a_vocabulary_with_spaces_is_the_general_paths_error(tmp_path, capsys, spy, monkeypatch):
    run = _save(MODELS["char mkn5"](), tmp_path / "run")  # a char vocabulary holds " "
    lean_result = _export(run, tmp_path / "lean.arpa", capsys)
    monkeypatch.setattr(lean, "export_run", lambda *a: None)
    general = _export(run, tmp_path / "general.arpa", capsys)
    assert lean_result == general and lean_result[0] == 2 and "ARPA export needs a word-level model" in general[2]
    assert not (tmp_path / "lean.arpa").exists()


@pytest.mark.parametrize("case", ["stupid-backoff", "word2vec format", "no model file"])
def test_what_the_lean_path_cannot_answer_alike_goes_to_the_general_path(case, tmp_path, capsys, spy):
    model = fit(LINES, order=3, smoothing="stupid-backoff" if case == "stupid-backoff" else "modified-kneser-ney")
    run = _save(model, tmp_path / "run")
    if case == "no model file":
        (run / "model.ngram").unlink()
    capsys.readouterr()
    fmt = "word2vec" if case == "word2vec format" else "arpa"
    code = main(["export", str(run), "--format", fmt, "--out", str(tmp_path / "out.txt")])
    assert spy == [None]
    assert code == (0 if case == "stupid-backoff" else 2)


def test_ngram_export_of_a_model_file_imports_no_numpy(tmp_path):
    (tmp_path / "c.txt").write_text("\n".join(LINES * 20) + "\n")
    train = [sys.executable, "-m", "lmlab", "train", "--model", "ngram", "--order", "3", "--data", "c.txt"]
    assert subprocess.run([*train, "--out", "run"], capture_output=True, cwd=tmp_path).returncode == 0
    code = """
import sys
from lmlab.cli.main import main
assert main(["export", "run", "--format", "arpa", "--out", "r.arpa"]) == 0
print("imported:", sorted({m.split(".")[0] for m in sys.modules} & {"numpy", "torch"}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "imported: []" in r.stdout.splitlines()
    assert (tmp_path / "r.arpa").read_text().startswith("\\data\\\n")
