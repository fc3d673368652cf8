"""Time budgets and cheap validation: a schedule planned in steps runs over the budget of --max-seconds, training
validates on a fixed subset of the validation split and the kept weights on all of it once, and the run says where
its time went."""

from __future__ import annotations

import json

import pytest

from lmlab.train.metrics import read_metrics
from tests.train.conftest import TINY_RNN


def test_a_budgeted_cosine_schedule_ends_at_its_final_rate(cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    rc, _, err = cli("train", "--model", "gru", *TINY_RNN, "--data", corpus_dir, "--out", run, "--device", "cpu",
                     "--max-seconds", "3", "--max-steps", "1000000", "--epochs", "100000", "--schedule", "cosine",
                     "--lr", "0.01", "--min-lr", "0.001", "--warmup-steps", "50000", "--log-every", "1",
                     "--eval-seconds", "1")  # fmt: skip
    assert rc == 0, err
    rows = [r for r in read_metrics(run / "metrics.jsonl") if "lr" in r]
    stats = json.loads((run / "config.json").read_text())["stats"]
    assert stats["status"] == "stopped at --max-seconds" and stats["steps"] < 1_000_000
    # a million planned steps with a 5% warm-up: by steps, every update would still be warming up at ~1e-7;
    # over the budget, the warm-up takes its first 5% and the cosine the rest, ending at the final rate
    # (bounds loose enough for a busy machine, whose few slow steps may miss the exact peak and end: by steps, the
    # largest rate would be about 1e-7)
    assert max(r["lr"] for r in rows) > 0.005
    assert rows[-1]["lr"] < 0.4 * max(r["lr"] for r in rows) and rows[-1]["lr"] >= 0.001 - 1e-9
    assert [r["lr"] for r in rows].index(max(r["lr"] for r in rows)) < len(rows) // 2  # up first, then down
    share = stats["loop_share"]
    assert set(share) == {"validation", "training_steps"} and share["training_steps"] > 0.5
    assert share["training_steps"] + share["validation"] == pytest.approx(1.0, abs=1e-3)


def test_step_based_schedules_do_not_depend_on_time(cli, corpus_dir, tmp_path):
    lrs = []
    for name in ("a", "b"):
        rc, _, err = cli("train", "--model", "gru", *TINY_RNN, "--data", corpus_dir, "--out", tmp_path / name,
                         "--device", "cpu", "--max-steps", "12", "--schedule", "cosine", "--warmup-steps", "3",
                         "--log-every", "1")  # fmt: skip
        assert rc == 0, err
        lrs.append([r["lr"] for r in read_metrics(tmp_path / name / "metrics.jsonl") if "lr" in r])
    assert lrs[0] == lrs[1] and len(lrs[0]) == 12 and lrs[0][-1] < lrs[0][3]


def test_training_validates_on_a_subset_and_the_kept_weights_on_the_whole_split(cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    rc, _, err = cli("train", "--model", "gru", *TINY_RNN, "--data", corpus_dir, "--out", run, "--device", "cpu",
                     "--max-steps", "20", "--eval-every", "5", "--val-subset", "40")  # fmt: skip
    assert rc == 0, err
    rows = read_metrics(run / "metrics.jsonl")
    final = [r for r in rows if "final_val_perplexity" in r]
    assert len([r for r in rows if "val_perplexity" in r]) == 4 and len(final) == 1
    stats = json.loads((run / "config.json").read_text())["stats"]
    assert final[0]["step"] == stats["best_step"]
    rc, out, err = cli("eval", run, "--split", "valid", "--json")
    assert rc == 0, err
    whole = json.loads(out)
    # the final figure is the whole split's (what eval reports), not the subset's
    assert stats["final_val_perplexity"] == pytest.approx(whole["perplexity"], rel=1e-9)
    assert stats["best_val_perplexity"] != pytest.approx(whole["perplexity"], rel=1e-6)
    assert {"setup", "compile", "validation", "final_validation", "training_steps"} <= set(stats["time_s"])


def test_compare_asks_each_family_for_its_flags_and_whether_it_takes_a_share():
    from pathlib import Path

    from lmlab.compare import Comparison, train_command

    cmp = Comparison(data="tinyshakespeare", models=["ngram", "transformer"], tokenizer="char", budget_minutes=1)
    ngram = train_command(cmp, "ngram", Path("r/ngram"), 30.0)
    tf = train_command(cmp, "transformer", Path("r/tf"), 30.0)
    assert "--max-seconds" not in ngram and ngram[ngram.index("--order") + 1] == "6"
    assert tf[tf.index("--preset") + 1] == "compare-char" and tf[tf.index("--max-seconds") + 1] == "30"
    assert "--eval-seconds" in tf and "--epochs" not in tf  # the preset plans the schedule; the budget ends it
    word = Comparison(data="ptb", models=["lstm"], tokenizer="word", steps=5)
    lstm = train_command(word, "lstm", Path("r/lstm"), None)
    assert lstm[lstm.index("--preset") + 1] == "compare-word" and lstm[lstm.index("--max-steps") + 1] == "5"


def test_every_neural_family_has_comparison_presets():
    from lmlab.lm.models import FAMILIES
    from lmlab.lm.presets import COMPARE_PRESETS, get_preset

    for name, family in FAMILIES.items():
        if family.timed:
            for kind in ("char", "word"):
                assert (name, kind) in COMPARE_PRESETS
    for name, kind in COMPARE_PRESETS:  # the long recipes too: the values are valid
        cfg = FAMILIES[name].config_class()(**get_preset(f"compare-{kind}", name))
        assert cfg.schedule == "cosine" and not cfg.compile


def test_a_long_share_gives_the_families_that_have_one_their_long_recipe():
    from pathlib import Path

    from lmlab.compare import Comparison, share_seconds, train_command
    from lmlab.errors import LmlabError
    from lmlab.lm.presets import LONG_SHARE_SECONDS, get_preset

    families = ["ngram", "mlp", "rnn", "lstm", "gru", "cnn", "transformer"]
    ten, three = (
        Comparison(data="tinyshakespeare", models=families, tokenizer="char", budget_minutes=m) for m in (10, 3)
    )
    assert share_seconds(ten) == 100.0 >= LONG_SHARE_SECONDS > share_seconds(three) == 30.0  # the n-gram takes none

    def preset(cmp, family):
        argv = train_command(cmp, family, Path("r"), share_seconds(cmp))
        return argv[argv.index("--preset") + 1]

    assert preset(ten, "lstm") == "compare-char-long" and preset(three, "lstm") == "compare-char"
    assert preset(ten, "cnn") == "compare-char-long" and preset(three, "cnn") == "compare-char"
    # the comparison presets keep the recipes they were measured with when a family's default changes (the CNN's
    # dropout 0.1 is for runs of many epochs)
    assert all(
        get_preset(name, "cnn")["dropout"] == 0.0 for name in ("compare-char", "compare-char-long", "compare-word")
    )
    assert preset(ten, "mlp") == "compare-char"  # no long recipe of its own
    words = Comparison(data="ptb", models=["lstm"], tokenizer="word", budget_minutes=10)
    by_steps = Comparison(data="tinyshakespeare", models=["lstm"], tokenizer="char", steps=5)
    assert preset(words, "lstm") == "compare-word" and preset(by_steps, "lstm") == "compare-char"
    assert get_preset("compare-char-long", "lstm")["d_hidden"] > get_preset("compare-char", "lstm")["d_hidden"]
    with pytest.raises(LmlabError, match="unknown preset 'compare-char-long'; presets: .*compare-char, compare-word$"):
        get_preset("compare-char-long", "mlp")


def test_checkpoints_every_few_evaluations_and_always_at_the_end(cli, corpus_dir, tmp_path):
    from lmlab.train.checkpoint import read_checkpoint_info

    run = tmp_path / "run"
    rc, _, err = cli("train", "--model", "gru", *TINY_RNN, "--data", corpus_dir, "--out", run, "--device", "cpu",
                     "--max-steps", "14", "--eval-every", "2", "--checkpoint-every", "3")  # fmt: skip
    assert rc == 0, err
    assert len([r for r in read_metrics(run / "metrics.jsonl") if "val_loss" in r]) == 7
    assert read_checkpoint_info(run)["step"] == 14  # the last evaluation always checkpoints
