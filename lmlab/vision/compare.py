"""What ``lmlab compare --task image`` measures: test accuracy and macro-F1 of every image model on one dataset."""

from __future__ import annotations

from pathlib import Path

from lmlab.compare import Column, CompareProfile, Comparison, Row, read_training_log


def compare_args(family: str, cmp: Comparison) -> list[str]:
    """Each family with its recipe (:data:`lmlab.vision.task.RECIPES`); early stopping on the validation accuracy
    keeps a short budget from ending on a worse epoch."""
    return ["--early-stop", "5"]


def load_data(cmp: Comparison):
    from lmlab.vision.data import load_image_data

    return load_image_data(cmp.data)  # the runs' own split (--split-seed 0)


def measure(run_dir: Path, data, cmp: Comparison, row: Row) -> None:
    """Test accuracy, macro-F1, parameters, speed and the validation-accuracy curve of a trained image model."""
    from lmlab.vision.task import evaluate_image_run, load_image_classifier

    classifier, _ = load_image_classifier(run_dir)
    r = evaluate_image_run(classifier, data.test, data.classes)
    row.metrics = {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "test_examples": r["examples"]}
    row.parameters = classifier.num_parameters()
    read_training_log(run_dir, row, "val_accuracy", "images")


IMAGE_PROFILE = CompareProfile(
    task="image",
    takes_tokenizer=False,
    default_tokenizer="none",
    columns=(Column("accuracy", "test accuracy", ".2%"), Column("macro_f1", "macro-F1", ".4f")),
    higher_is_better=True,
    unit="images",
    curve_key="val_accuracy",
    curve_label="validation accuracy",
    curve_log=False,
    load_data=load_data,
    measure=measure,
)
