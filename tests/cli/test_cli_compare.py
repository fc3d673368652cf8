"""lmlab compare end to end on a tiny corpus: the report's files agree with each other and open in a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lmlab.cli.main import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    import random

    rng = random.Random(0)
    words = ["the", "cat", "dog", "sat", "on", "mat", "log", "a", "and", "saw", "ran"]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 8))) for _ in range(400)]
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def report(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "cmp"
    argv = [
        "compare",
        "--data",
        str(corpus),
        "--models",
        "ngram,mlp,transformer",
        "--tokenizer",
        "word",
        "--steps",
        "4",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    return out, argv


def test_report_files_agree(report):
    out, _ = report
    results = json.loads((out / "results.json").read_text())
    rows = {r["family"]: r for r in results["rows"]}
    assert list(rows) == ["ngram", "mlp", "transformer"] and all(r["status"] == "done" for r in rows.values())
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for name, r in rows.items():
        ppl = r["metrics"]["test_perplexity"]
        assert f"{ppl:.2f}" in md and f"{ppl:.2f}" in html
        assert r["command"].startswith(f"lmlab train --model {name}") and r["command"] in md
        assert len(r["samples"]) == 3 and r["parameters"] > 0 and r["peak_memory_mb"] > 0
        assert len(r["load"]) == 2 and all(x >= 0 for x in r["load"])  # the load it trained under
        assert f"{name} {r['load'][0]:g}-{r['load'][1]:g}" in md
    for png in ("val_perplexity_vs_time.png", "perplexity_vs_parameters.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png in md and png in html


def test_rerun_keeps_finished_rows_and_refuses_another_comparison(report, capsys):
    out, argv = report
    before = (out / "results.json").read_text()
    assert main(argv) == 0
    assert "done earlier, kept" in capsys.readouterr().out
    assert json.loads((out / "results.json").read_text())["rows"] == json.loads(before)["rows"]
    other = [a if a != "ngram,mlp,transformer" else "ngram" for a in argv]
    assert main(other) == 2
    assert "different comparison" in capsys.readouterr().err


def test_bad_input(corpus, tmp_path, capsys):
    assert main(["compare", "--data", str(corpus), "--models", "ngram,hmm", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "'hmm'" in err and "transformer" in err
    assert (
        main(
            [
                "compare",
                "--data",
                str(corpus),
                "--models",
                "mlp,gru",
                "--budget-minutes",
                "0.1",
                "--out",
                str(tmp_path / "y"),
            ]
        )
        == 2
    )
    assert "at least 0.7 minutes" in capsys.readouterr().err
    z = str(tmp_path / "z")
    assert main(["compare", "--task", "graph", "--data", str(corpus), "--tokenizer", "char", "--out", z]) == 2
    assert "--task graph reads no text through a tokenizer; leave out --tokenizer" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists() and not (tmp_path / "z").exists()


def test_the_profile_says_whether_the_task_takes_a_tokenizer():
    from lmlab.compare import Comparison, profile_for, train_command
    from lmlab.tasks import TASKS

    takes = {name: profile_for(name).takes_tokenizer for name in TASKS}
    assert takes == {
        "lm": True, "classify": True, "translate": True, "word2vec": True, "graph": False, "image": False, "tag": False
    }  # fmt: skip
    for task, family, data in [("graph", "gcn", "cora"), ("lm", "ngram", "d")]:
        cmp = Comparison(
            data=data, models=[family], tokenizer=profile_for(task).default_tokenizer, vocab_size=None,
            budget_minutes=1.0, steps=None, device="cpu", seed=0, task=task,
        )  # fmt: skip
        assert ("--tokenizer" in train_command(cmp, family, Path("r"), None)) == takes[task]


def test_report_opens_in_headless_chromium(report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh --test installs it as root)")
    out, _ = report
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            (out / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert '<table id="results">' in dom and dom.count("<tr>") == 4
    loaded = re.findall(r'data-loaded="(\d+)"', dom)
    assert len(loaded) == 2 and all(int(w) > 100 for w in loaded)  # both plots decoded by the browser
