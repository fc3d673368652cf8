"""lmlab compare --task classify: the table's columns are the task's metrics, the report has its plots."""

from __future__ import annotations

import json

from lmlab.cli.main import main
from lmlab.compare import _row_from_saved
from tests.classify.test_task import make_examples, write_tsv


def test_compare_classifiers(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    write_tsv(data / "train.tsv", make_examples(300, 0))
    write_tsv(data / "valid.tsv", make_examples(40, 1))
    write_tsv(data / "test.tsv", make_examples(60, 2))
    out = tmp_path / "cmp"
    argv = ["compare", "--task", "classify", "--data", str(data), "--models", "nb,bow,textcnn", "--steps", "3",
            "--device", "cpu", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["comparison"]["task"] == "classify" and results["comparison"]["tokenizer"] == "word"
    rows = {r["family"]: r for r in results["rows"]}
    assert list(rows) == ["nb", "bow", "textcnn"] and all(r["status"] == "done" for r in rows.values())
    assert rows["bow"]["command"].startswith("lmlab train --task classify --model bow")
    md = (out / "report.md").read_text()
    assert "| family | test accuracy | macro-F1 | parameters | train s | examples/s |" in md
    for r in rows.values():
        assert 0 <= r["metrics"]["accuracy"] <= 1 and r["metrics"]["test_examples"] == 60
        assert f"{r['metrics']['accuracy']:.2%}" in md
    assert rows["nb"]["metrics"]["accuracy"] > 0.9  # the words give the label away
    for png in ("val_accuracy_vs_time.png", "accuracy_vs_parameters.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG" and png in md
    assert "## Samples" not in md  # classifiers generate nothing


def test_results_written_before_tasks_are_read():
    row = _row_from_saved({"family": "lstm", "command": "c", "run_dir": "r", "status": "done",
                           "test_perplexity": 5.6, "bits_per_token": 2.5, "tokens_per_s": 100.0})  # fmt: skip
    assert row.metrics == {"test_perplexity": 5.6, "bits_per_token": 2.5} and row.speed == 100.0
