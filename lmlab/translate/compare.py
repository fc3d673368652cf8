"""What ``lmlab compare --task translate`` measures: test BLEU and chrF (sacreBLEU) of every family on one parallel
dataset, greedy decoding (fast, and what the Multi30k baselines report), with three sample translations."""

from __future__ import annotations

from pathlib import Path

from lmlab.compare import Column, CompareProfile, Comparison, Row, read_training_log


def compare_args(family: str, cmp: Comparison) -> list[str]:
    """Networks sized for minutes (a comparison gets minutes, not hours): the RNN families' defaults, and a
    Transformer of 2 + 2 layers of 128 with d_ff 256."""
    if family == "transformer":
        return [
            "--d-model",
            "128",
            "--d-ff",
            "256",
            "--n-head",
            "4",
            "--n-encoder-layer",
            "2",
            "--n-decoder-layer",
            "2",
        ]
    return []  # the RNNs' defaults: 128-d embeddings, one layer of 256


def load_data(cmp: Comparison):
    from lmlab.translate.data import load_parallel_data

    return load_parallel_data(cmp.data)


def measure(run_dir: Path, data, cmp: Comparison, row: Row) -> None:
    """Test BLEU, chrF and perplexity, parameters, speed, the validation-BLEU curve and three translations."""
    from lmlab.translate.task import evaluate_translator, load_translator

    translator, config = load_translator(run_dir)
    r = evaluate_translator(translator, data.test, translator.cfg.decode_config(beam=1))
    row.metrics = {
        "bleu": r["bleu"],
        "chrf": r["chrf"],
        "perplexity": r["perplexity"],
        "sentences": len(data.test),
    }
    row.parameters = translator.num_parameters()
    read_training_log(run_dir, row, "val_bleu", "tokens")
    row.samples = [f"{src}  ->  {hyp}" for src, hyp in zip(data.test.src[:3], r["translations"][:3])]


TRANSLATE_PROFILE = CompareProfile(
    task="translate",
    takes_tokenizer=True,
    default_tokenizer="bpe",
    columns=(
        Column("bleu", "test BLEU", ".2f"),
        Column("chrf", "chrF", ".2f"),
        Column("perplexity", "test perplexity", ".2f"),
    ),
    higher_is_better=True,
    unit="tokens",
    curve_key="val_bleu",
    curve_label="validation BLEU (greedy)",
    curve_log=False,
    load_data=load_data,
    measure=measure,
)
