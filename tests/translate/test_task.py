"""Translation on the engine, through the command line: train, translate, eval, attention, resume, compare, and
the bad inputs each answered with one line, exit status 2 and nothing written."""

from __future__ import annotations

import functools
import json
import math
import signal
import sys

import pytest
import torch
import torch.nn.functional as F

from lmlab.nn import load_tensors
from lmlab.train.metrics import read_metrics
from lmlab.translate import task as translate_task
from lmlab.translate.task import token_loss
from tests.translate.conftest import write_corpus

TINY_TRANSFORMER = ["--d-model", "32", "--d-ff", "64", "--n-head", "2", "--n-encoder-layer", "1",
                    "--n-decoder-layer", "1", "--max-len", "48"]  # fmt: skip
TINY_RNN = ["--d-embed", "16", "--d-hidden", "16", "--n-layer", "1", "--dropout", "0.1"]


def _train(cli, data, out, model="transformer", *extra):
    flags = TINY_TRANSFORMER if model == "transformer" else TINY_RNN
    return cli("train", "--task", "translate", "--model", model, "--data", data, "--src", "de", "--tgt", "en",
               "--out", out, "--vocab-size", "300", "--seed", "1", "--device", "cpu", *flags, *extra)  # fmt: skip


@pytest.fixture(scope="module")
def run(toy_dir, tmp_path_factory):
    """A tiny Transformer trained on the toy pairs until it translates them (about ten seconds)."""
    from lmlab.cli.main import main

    out = tmp_path_factory.mktemp("runs") / "transformer"
    argv = ["train", "--task", "translate", "--model", "transformer", "--data", str(toy_dir), "--src", "de", "--tgt",
            "en", "--out", str(out), "--vocab-size", "300", "--seed", "1", "--device", "cpu", *TINY_TRANSFORMER,
            "--epochs", "12", "--lr", "3e-3", "--batch-size", "32", "--label-smoothing", "0.1"]  # fmt: skip
    assert main(argv) == 0
    return out


def test_the_run_records_its_task_languages_and_curves(run):
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["task"] == "translate" and cfg["family"] == "transformer"
    assert cfg["languages"] == {"src": "de", "tgt": "en"}
    assert cfg["tokenizer"]["src"]["file"] == "tokenizer-src.json" and not cfg["tokenizer"]["joint"]
    assert cfg["model"]["label_smoothing"] == 0.1 and cfg["data"]["src"] == "de"
    rows = read_metrics(run / "metrics.jsonl")
    val = [r for r in rows if "val_bleu" in r]
    assert len(val) == 12 and all({"val_loss", "val_perplexity", "val_chrf"} <= r.keys() for r in val)
    assert any("tokens_per_s" in r for r in rows)
    assert val[-1]["val_bleu"] > val[0]["val_bleu"] and cfg["stats"]["best_val_bleu"] == max(r["val_bleu"] for r in val)


def test_translate_streams_in_input_order(run, cli, tmp_path, monkeypatch):
    lines = ["ein hund läuft .", "frau sieht katze .", "", "ein mann schläft ."]
    src = tmp_path / "in.de"
    src.write_text("\n".join(lines) + "\n")
    rc, out, err = cli("translate", run, "--input", src)
    assert rc == 0, err
    got = out.splitlines()
    assert len(got) == 4 and got[0] == "a dog runs ."
    for line, translation in zip(lines, got):  # each line translated alone gives the same: input order is kept
        alone = tmp_path / "one.de"
        alone.write_text(line + "\n")
        assert cli("translate", run, "--input", alone)[1] == translation + "\n"
    rc, greedy, _ = cli("translate", run, "--input", src, "--beam", "1")
    assert rc == 0 and greedy.splitlines()[0] == "a dog runs ."
    with open(src, encoding="utf-8") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        rc, piped, _ = cli("translate", run)
    assert rc == 0 and piped == out
    rc, nbest, _ = cli("translate", run, "--input", src, "--n-best", "3")
    rows = [r.split("\t") for r in nbest.splitlines()]
    assert rc == 0 and [r[0] for r in rows] == ["1"] * 3 + ["2"] * 3 + ["3"] * 3 + ["4"] * 3
    assert rows[0][2] == got[0] and float(rows[0][1]) >= float(rows[1][1]) >= float(rows[2][1])
    rc, sampled, _ = cli("translate", run, "--input", src, "--sample", "--seed", "3", "--top-k", "5")
    assert rc == 0 and len(sampled.splitlines()) == 4
    assert cli("translate", run, "--input", src, "--sample", "--seed", "3", "--top-k", "5")[1] == sampled


def test_a_byte_order_mark_does_not_change_the_first_translation(run, cli, tmp_path, monkeypatch):
    lines = ["ein hund läuft .", "frau sieht katze ."]
    plain, marked = tmp_path / "plain.de", tmp_path / "marked.de"
    plain.write_text("\n".join(lines) + "\n", encoding="utf-8")
    marked.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")  # as Windows Notepad saves it
    rc, expected, err = cli("translate", run, "--input", plain)
    assert rc == 0 and expected.splitlines()[0] == "a dog runs .", err
    assert cli("translate", run, "--input", marked) == (0, expected, "")
    with open(marked, encoding="utf-8") as stdin:  # standard input too
        monkeypatch.setattr(sys, "stdin", stdin)
        assert cli("translate", run, "--input", "-") == (0, expected, "")


def test_eval_reports_sacrebleu_with_its_signature_and_perplexity(run, cli):
    rc, out, err = cli("eval", run, "--split", "test", "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert {"bleu", "chrf", "sacrebleu_signature", "perplexity", "sentences"} <= r.keys()
    assert r["sentences"] == 40 and r["beam"] == 5 and r["bleu"] > 60  # the toy task is word for word
    assert r["sacrebleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert 1 < r["perplexity"] < 3 and math.isclose(r["perplexity"], math.exp(r["cross_entropy"]))
    rc, text, _ = cli("eval", run, "--split", "valid")
    assert rc == 0 and "BLEU" in text and "nrefs:1" in text


def test_perplexity_is_the_teacher_forced_token_weighted_one(run):
    translator, _ = translate_task.load_translator(run)
    pairs = [("ein hund .", "a dog ."), ("katze schläft rot .", "cat sleeps red .")]
    srcs, _ = translator.encode_sources([p[0] for p in pairs])
    from lmlab.translate.vocab import encode_sentences

    tgts = encode_sentences(translator.vocabs.tgt, [p[1] for p in pairs])
    nll, tokens = translator.nll(srcs, tgts)
    by_hand = 0.0
    for s, t in zip(srcs, tgts):  # one sentence at a time, every target token and </s>, no padding anywhere
        x = torch.from_numpy(s).unsqueeze(0)
        y_in = torch.cat([torch.tensor([translator.cfg.bos_id]), torch.from_numpy(t[:-1])]).unsqueeze(0)
        with torch.no_grad():
            logits = translator.net(x, x != 0, y_in).logits[0]
        by_hand -= float(torch.log_softmax(logits, -1)[torch.arange(t.size), torch.from_numpy(t)].sum())
    assert tokens == sum(t.size for t in tgts) and nll == pytest.approx(by_hand, rel=1e-5)


def test_attention_draws_every_layer_and_head_and_their_mean(run, cli, tmp_path):
    out = tmp_path / "align.png"
    rc, text, err = cli("attention", run, "--text", "ein mann sieht ein hund .", "--out", out)
    assert rc == 0, err
    assert out.read_bytes()[:4] == b"\x89PNG" and "1 layers x 2 heads and their mean" in text
    translator, _ = translate_task.load_translator(run)
    src, tgt, weights, translation = translator.alignment("ein mann sieht ein hund .")
    assert weights.shape == (1, 2, len(tgt), len(src)) and tgt[-1] == "</s>" and src[-1] == "</s>"
    assert abs(weights.sum(-1) - 1).max() < 1e-6 and translation == "a man sees a dog ."


def test_label_smoothing_and_padding_in_the_loss():
    torch.manual_seed(0)
    logits, targets = torch.randn(2, 3, 7), torch.tensor([[3, 4, 0], [5, 0, 0]])
    real = targets != 0
    z, y = logits[real], targets[real]
    assert torch.allclose(token_loss(logits, targets), F.cross_entropy(z, y))
    eps = 0.1
    logp = torch.log_softmax(z, -1)
    by_hand = -((1 - eps) * logp[torch.arange(3), y] + eps * logp.mean(-1)).mean()  # eps spread over all V ids
    assert torch.allclose(token_loss(logits, targets, eps), by_hand)


def _timeless(rows):
    return [{k: v for k, v in r.items() if k not in ("elapsed_s", "tokens_per_s")} for r in rows]


def test_ctrl_c_then_resume_equals_uninterrupted(cli, toy_dir, tmp_path, monkeypatch):
    # scheduled sampling (its draws fixed by seed and step) and the inverse-square-root schedule, both resumed
    args = ["--epochs", "2", "--eval-every", "8", "--log-every", "2", "--batch-size", "48", "--teacher-forcing",
            "0.5", "--schedule", "inverse-sqrt", "--warmup-steps", "5", "--lr", "0.01"]  # fmt: skip
    rc, _, err = _train(cli, toy_dir, tmp_path / "whole", "seq2seq", *args)
    assert rc == 0, err

    def ctrl_c(step, trainer):
        if step == 11:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(
        translate_task, "train_translator", functools.partial(translate_task.train_translator, callbacks=[ctrl_c])
    )
    stopped = tmp_path / "stopped"
    rc, _, err = _train(cli, toy_dir, stopped, "seq2seq", *args)
    assert rc == 130 and "--resume" in err
    monkeypatch.undo()
    rc, _, err = cli("train", "--resume", stopped)
    assert rc == 0, err
    a, b = read_metrics(tmp_path / "whole" / "metrics.jsonl"), read_metrics(stopped / "metrics.jsonl")
    assert _timeless(a) == _timeless(b)
    lrs = [r["lr"] for r in a if "lr" in r]
    assert lrs[:3] == pytest.approx([0.01 * 2 / 5, 0.01 * 4 / 5, 0.01 * math.sqrt(5 / 6)])  # steps 1, 3, 5
    wa, wb = load_tensors(tmp_path / "whole" / "model.safetensors"), load_tensors(stopped / "model.safetensors")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=1e-6)


def test_other_families_train_and_translate_through_the_cli(cli, toy_dir, tmp_path):
    for model, extra in (("bahdanau", ["--d-attention", "8"]), ("luong", ["--score", "concat"])):
        flags = [f for f in TINY_RNN if model != "bahdanau" or f not in ("--n-layer", "1")]
        out = tmp_path / model
        rc, text, err = cli("train", "--task", "translate", "--model", model, "--data", toy_dir, "--out", out,
                            "--src", "de", "--tgt", "en", "--vocab-size", "300", "--epochs", "1", "--device", "cpu",
                            "--joint-vocab", *flags, *extra)  # fmt: skip
        assert rc == 0, err
        assert f"trained {model} de->en" in text and "(joint)" in text and (out / "tokenizer.json").is_file()
        rc, _, err = cli("attention", out, "--text", "ein hund .", "--out", tmp_path / f"{model}.png")
        assert rc == 0, err
        rc, out_text, err = cli("translate", out, "--beam", "3", "--input", toy_dir / "test.de")
        assert rc == 0 and len(out_text.splitlines()) == 40


def test_the_comparison_profile_measures_a_run(run, toy_dir):
    # lmlab compare --task translate trains each family by `lmlab train` and measures it with this profile
    from lmlab.compare import Comparison, Row
    from lmlab.translate.compare import TRANSLATE_PROFILE as profile
    from lmlab.translate.data import load_parallel_data

    cmp = Comparison(data="multi30k", models=["transformer"], tokenizer="bpe", task="translate")
    from lmlab.translate.models import TRANSLATORS

    assert TRANSLATORS["transformer"].compare_args(cmp)[:2] == ["--d-model", "128"]
    row = Row("transformer", "lmlab train ...", str(run))
    profile.measure(run, load_parallel_data(toy_dir, "de", "en"), cmp, row)
    assert row.metrics["bleu"] > 60 and row.metrics["sentences"] == 40 and row.parameters > 0
    assert len(row.curve) == 12 and row.speed > 0 and len(row.samples) == 3 and " -> " in row.samples[0]


@pytest.mark.parametrize(
    "case, expect",
    [
        ("misaligned", "has 600 lines but"),
        ("empty_side", "is empty"),
        ("unknown_src", "--src fr: multi30k has no fr side"),
        ("share_without_joint", "--share-embeddings needs one vocabulary"),
        ("bad_smoothing", "--label-smoothing must be in [0, 1)"),
        ("bad_main_metric", "--main-metric must be one of bleu, loss"),
    ],
)
def test_bad_training_input_one_line_exit_2_nothing_written(case, expect, cli, tmp_path):
    d = write_corpus(tmp_path / "data", sizes=(("train", 600), ("valid", 10), ("test", 10)))
    data, extra = d, []
    if case == "misaligned":
        (d / "train.en").write_text("".join((d / "train.en").read_text().splitlines(keepends=True)[:-2]))
    elif case == "empty_side":
        (d / "test.de").write_text("")
    elif case == "unknown_src":
        data = "multi30k"
    elif case == "share_without_joint":
        extra = ["--share-embeddings"]
    elif case == "bad_smoothing":
        extra = ["--label-smoothing", "1.5"]
    elif case == "bad_main_metric":
        extra = ["--main-metric", "accuracy"]
    out = tmp_path / "run"
    argv = ["train", "--task", "translate", "--model", "transformer", "--data", data, "--out", out, "--device", "cpu",
            "--src", "fr" if case == "unknown_src" else "de", "--tgt", "en", *TINY_TRANSFORMER, *extra]  # fmt: skip
    rc, _, err = cli(*argv)
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and expect in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    "case, expect",
    [
        ("beam_0", "--beam must be an integer from 1 to 100, got 0"),
        ("beam_huge", "--beam must be an integer from 1 to 100, got 1000000"),
        ("n_best", "--n-best (9) cannot be more than --beam (5)"),
        ("samples_huge", "--n-best must be an integer from 1 to 100, got 100000"),
        ("max_len_a", "--max-len-a must be a number from 0 to 100, got 1e+308"),
        ("length_penalty", "--length-penalty must be a number from 0 to 10, got 1000000.0"),
        ("classify_run", "is a classification run, not a translation model"),
        ("lm_run", "is a language-model run, not a translation model"),
        ("no_input", "--input"),
        ("attention_html", "--out must end in .png"),
        ("eval_text", "evaluated on a split of a parallel dataset"),
    ],
)
def test_bad_use_of_a_run_is_one_line(case, expect, run, cli, tmp_path):
    target, args = run, []
    if case == "beam_0":
        args = ["translate", run, "--beam", "0"]
    elif case == "beam_huge":  # once a traceback after gigabytes
        args = ["translate", run, "--beam", "1000000"]
    elif case == "samples_huge":
        args = ["translate", run, "--sample", "--n-best", "100000"]
    elif case == "max_len_a":  # a * |X| overflowed to inf
        args = ["translate", run, "--max-len-a", "1e308"]
    elif case == "length_penalty":  # lp(Y) ** alpha overflowed
        args = ["translate", run, "--length-penalty", "1e6"]
    elif case == "n_best":
        args = ["translate", run, "--n-best", "9"]
    elif case in ("classify_run", "lm_run"):
        target = tmp_path / "other"
        target.mkdir()
        config = {"format": "lmlab-run", "version": 1, "family": "bow", "model": {}}
        if case == "classify_run":
            config["task"] = "classify"
        (target / "config.json").write_text(json.dumps(config))
        args = ["translate", target, "--input", run / "config.json"]
    elif case == "no_input":
        args = ["translate", run, "--input", tmp_path / "missing.txt"]
    elif case == "attention_html":
        args = ["attention", run, "--text", "ein hund .", "--out", tmp_path / "a.html"]
    elif case == "eval_text":
        args = ["eval", run, "--text", run / "config.json"]
    rc, out, err = cli(*args)
    assert rc == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and expect in err and "Traceback" not in err
    assert not (tmp_path / "a.html").exists()


def test_a_source_longer_than_the_model_is_cut_with_a_warning(run, cli, tmp_path):
    long_line = " ".join(["ein hund läuft ."] * 20)
    src = tmp_path / "long.de"
    src.write_text(f"ein hund .\n{long_line}\n")
    rc, out, err = cli("translate", run, "--input", src)
    assert rc == 0 and len(out.splitlines()) == 2
    assert "line 2:" in err and "more than the model's limit of 48; cut to it" in err and len(err.splitlines()) == 1


def test_attention_on_a_model_without_attention(cli, toy_dir, tmp_path):
    out = tmp_path / "s2s"
    assert _train(cli, toy_dir, out, "seq2seq", "--epochs", "1", "--no-val-bleu", "--main-metric", "loss")[0] == 0
    rc, _, err = cli("attention", out, "--text", "ein hund .", "--out", tmp_path / "a.png")
    assert rc == 2 and "a seq2seq model has no attention to draw" in err
