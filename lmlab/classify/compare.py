"""What ``lmlab compare --task classify`` measures: test accuracy and macro-F1 of every classifier on one dataset."""

from __future__ import annotations

from pathlib import Path

from lmlab.compare import Column, CompareProfile, Comparison, Row, read_training_log


def load_data(cmp: Comparison):
    from lmlab.classify.data import load_classification_data

    return load_classification_data(cmp.data, seed=cmp.seed)


def measure(run_dir: Path, data, cmp: Comparison, row: Row) -> None:
    """Test accuracy, macro-F1, parameters, speed and the validation-accuracy curve of a trained classifier."""
    from lmlab.classify.task import evaluate_classifier_run, load_classifier

    classifier, config = load_classifier(run_dir)
    r = evaluate_classifier_run(run_dir, data.test, classifier=classifier)
    row.metrics = {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "test_examples": r["examples"]}
    row.parameters = classifier.num_parameters()
    stats = config.get("stats", {})
    if not read_training_log(run_dir, row, "val_accuracy", "examples"):  # nb counts: no training log
        row.speed = stats.get("examples_per_s")
        if len(data.valid.texts):
            valid = evaluate_classifier_run(run_dir, data.valid, classifier=classifier)
            row.curve = [[stats.get("train_seconds", row.train_seconds or 0.0), valid["accuracy"]]]


CLASSIFY_PROFILE = CompareProfile(
    task="classify",
    takes_tokenizer=True,
    default_tokenizer="word",
    columns=(Column("accuracy", "test accuracy", ".2%"), Column("macro_f1", "macro-F1", ".4f")),
    higher_is_better=True,
    unit="examples",
    curve_key="val_accuracy",
    curve_label="validation accuracy",
    curve_log=False,
    load_data=load_data,
    measure=measure,
)
