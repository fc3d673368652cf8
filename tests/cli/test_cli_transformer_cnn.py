"""The Transformer and CNN families through the same CLI as every family: train, eval, generate, attention."""

from __future__ import annotations

import json

import pytest

from lmlab.cli.main import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shakes")
    text = "\n".join(f"line {i}: to be or not to be, that is the question" for i in range(60))
    for split in ("train", "valid", "test"):
        (folder / f"{split}.txt").write_text(text + "\n")
    return folder


@pytest.mark.parametrize(
    ("family", "extra"),
    [
        (
            "transformer",
            ["--n-layer", "2", "--n-head", "2", "--d-model", "16", "--block-size", "32", "--seq-len", "32"],
        ),
        ("transformer", ["--preset", "nanogpt-cpu", "--n-layer", "1", "--positions", "rotary"]),
        ("cnn", ["--n-layer", "3", "--channels", "16"]),
    ],
)
def test_train_eval_generate(tmp_path, corpus, capsys, family, extra):
    run = tmp_path / "run"
    argv = [
        "train",
        "--model",
        family,
        "--data",
        str(corpus),
        "--tokenizer",
        "char",
        "--out",
        str(run),
        "--max-steps",
        "3",
        "--batch-size",
        "4",
        "--seed",
        "1",
        "--device",
        "cpu",
        *extra,
    ]
    assert main(argv) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("val_perplexity" in r for r in rows) and any("tokens_per_s" in r for r in rows)
    capsys.readouterr()
    assert main(["eval", str(run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["family"] == family and result["perplexity"] > 1
    assert main(["generate", str(run), "--num-samples", "2", "--seed", "3", "--max-tokens", "20"]) == 0
    first = capsys.readouterr().out
    assert main(["generate", str(run), "--num-samples", "2", "--seed", "3", "--max-tokens", "20"]) == 0
    assert capsys.readouterr().out == first


def train_tiny_gpt(run, corpus, block: int, steps: int, width: int, heads: int, layers: int) -> None:
    argv = ["train", "--model", "transformer", "--data", str(corpus), "--tokenizer", "char", "--out", str(run),
            "--max-steps", str(steps), "--n-layer", str(layers), "--n-head", str(heads), "--d-model", str(width),
            "--block-size", str(block), "--seq-len", str(block), "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0


def test_attention_heatmaps_and_refusal(tmp_path, corpus, capsys):
    run = tmp_path / "gpt"
    train_tiny_gpt(run, corpus, block=16, steps=2, width=16, heads=2, layers=2)
    png = tmp_path / "attn.png"
    assert main(["attention", str(run), "--text", "to be", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG" and "2 layers x 2 heads" in capsys.readouterr().out
    ngram = tmp_path / "ng"
    assert main(["train", "--model", "ngram", "--data", str(corpus), "--out", str(ngram)]) == 0
    capsys.readouterr()
    assert main(["attention", str(ngram), "--text", "to be", "--out", str(tmp_path / "x.png")]) == 2
    assert "no attention weights" in capsys.readouterr().err


def test_prompt_longer_than_the_context_and_unknown_symbols(tmp_path, corpus, capsys):
    run = tmp_path / "gpt"
    train_tiny_gpt(run, corpus, block=8, steps=1, width=8, heads=1, layers=1)
    capsys.readouterr()
    assert main(["generate", str(run), "--prompt", "to be or not to be Z", "--max-tokens", "3", "--seed", "0"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("to be or not to be")
    assert "not in the vocabulary" in err and "longer than the model's context" in err
