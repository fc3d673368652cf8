"""The language-model task's part of ``lmlab compare``: how a trained language model is measured (test perplexity,
bits per token, parameters, speed, the validation curve, samples) and how its corpus is loaded."""

from __future__ import annotations

from pathlib import Path

from lmlab.compare import Column, CompareProfile, Comparison, Row, read_training_log


def measure_lm_run(run_dir: Path, corpus, cmp: Comparison, row: Row) -> None:
    """Language models: test perplexity, parameters, speed, the validation curve and samples of a trained run."""
    from lmlab.lm.evaluate import evaluate
    from lmlab.lm.generate import SamplingConfig, generate
    from lmlab.lm.run import load_model

    model, config = load_model(run_dir)
    stats = config.get("stats", {})
    row.parameters = model.num_parameters()
    if model.normalized:
        r = evaluate(model, corpus.test)
        row.metrics = {
            "test_perplexity": r.perplexity,
            "bits_per_token": r.bits_per_token,
            "cross_entropy": r.cross_entropy,
            "test_tokens": r.tokens,
        }
    if not read_training_log(run_dir, row, "val_perplexity", "tokens") and row.train_seconds:
        row.speed = stats.get("train_tokens", 0) / max(stats.get("train_seconds", row.train_seconds), 1e-9)
        if model.normalized:
            row.curve = [[row.train_seconds, evaluate(model, corpus.valid).perplexity]]
    length = 200 if cmp.tokenizer == "char" else 40
    row.samples = generate(model, "", SamplingConfig(max_tokens=length), num_samples=3, seed=cmp.seed)


def _load_lm_corpus(cmp: Comparison):
    from lmlab.data import load_corpus

    return load_corpus(cmp.data)


LM_PROFILE = CompareProfile(
    task="lm",
    takes_tokenizer=True,
    default_tokenizer="char",
    columns=(Column("test_perplexity", "test perplexity", ".2f"), Column("bits_per_token", "bits/token", ".3f")),
    higher_is_better=False,
    unit="tokens",
    curve_key="val_perplexity",
    curve_label="validation perplexity",
    curve_log=True,
    load_data=_load_lm_corpus,
    measure=measure_lm_run,
)


__all__ = ["LM_PROFILE", "measure_lm_run"]
