"""What ``lmlab compare --task tag`` measures: test accuracy per word (and span F1 for BIO tags) of every tagger on
one dataset."""

from __future__ import annotations

from pathlib import Path

from lmlab.compare import Column, CompareProfile, Comparison, Row, read_training_log


def load_data(cmp: Comparison):
    from lmlab.tag.data import load_tagging_data

    return load_tagging_data(cmp.data, seed=cmp.seed)


def measure(run_dir: Path, data, cmp: Comparison, row: Row) -> None:
    """Test accuracy, accuracy on unknown words, span F1, parameters, speed and the validation-accuracy curve."""
    from lmlab.tag.task import evaluate_tagger, load_tagger

    tagger, config = load_tagger(run_dir)
    r = evaluate_tagger(tagger, data.test, config["scheme"])
    row.metrics = {
        "accuracy": r["accuracy"],
        "oov_accuracy": r["oov_accuracy"],
        "f1": r.get("f1"),
        "test_words": r["words"],
    }
    row.parameters = tagger.num_parameters()
    stats = config.get("stats", {})
    if not read_training_log(run_dir, row, "val_accuracy", "tokens"):  # hmm counts: no training log
        row.speed = stats.get("tokens_per_s")
        valid = evaluate_tagger(tagger, data.valid, config["scheme"])
        row.curve = [[stats.get("train_seconds", row.train_seconds or 0.0), valid["accuracy"]]]


TAG_PROFILE = CompareProfile(
    task="tag",
    takes_tokenizer=False,
    default_tokenizer="none",
    columns=(
        Column("accuracy", "test accuracy", ".2%"),
        Column("oov_accuracy", "unknown words", ".2%"),
        Column("f1", "span F1", ".4f"),
    ),
    higher_is_better=True,
    unit="tokens",
    curve_key="val_accuracy",
    curve_label="validation accuracy",
    curve_log=False,
    load_data=load_data,
    measure=measure,
)
