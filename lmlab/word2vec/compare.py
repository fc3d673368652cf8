"""What ``lmlab compare --task word2vec`` measures: analogy accuracy of skip-gram and CBOW trained on one corpus.

Both families train with gensim's defaults (the comparison's ``--seed``; no time budget: word2vec trains its
epochs in seconds to minutes) and are scored on Mikolov's questions-words (the ``analogy`` dataset, restricted to
the 30,000 most frequent words). The curve is the training loss per epoch; the samples are nearest neighbours
of a few frequent words.
"""

from __future__ import annotations

from pathlib import Path

from lmlab.compare import Column, CompareProfile, Comparison, Row
from lmlab.errors import LmlabError

PROBES = 5  # words whose neighbours are shown as samples: the most frequent words of at least 4 letters


def compare_args(family: str, cmp: Comparison) -> list[str]:
    """word2vec in ``lmlab compare``: gensim's defaults, the comparison's seed (it trains for its epochs, not for
    a share of the time budget)."""
    return ["--seed", str(cmp.seed)]


def load_data(cmp: Comparison) -> Path:
    """The analogy questions (the corpus itself is streamed by each training)."""
    from lmlab.data.download import fetch
    from lmlab.word2vec.corpus import resolve_corpus

    resolve_corpus(cmp.data)  # an unknown corpus is reported before anything is written
    return fetch("analogy") / "questions-words.txt"


def measure(run_dir: Path, questions: Path, cmp: Comparison, row: Row) -> None:
    from lmlab.train.metrics import read_metrics
    from lmlab.word2vec.runs import load_run

    run = load_run(run_dir)
    wv = run.vectors
    try:
        r = wv.evaluate_analogies(questions)
    except LmlabError:  # a small corpus: no question has all four words in the vocabulary
        row.metrics = {"analogy_accuracy": None, "semantic": None, "syntactic": None, "questions": 0}
    else:
        semantic = [s for s in r["sections"] if not s["section"].startswith("gram") and s["total"]]
        syntactic = [s for s in r["sections"] if s["section"].startswith("gram") and s["total"]]
        row.metrics = {
            "analogy_accuracy": r["accuracy"],
            "semantic": _share(semantic),
            "syntactic": _share(syntactic),
            "questions": r["total"],
        }
    row.parameters = run.num_parameters()
    row.speed = run.stats.get("words_per_s")
    metrics = run_dir / "metrics.jsonl"
    if metrics.exists():
        row.curve = [[m["elapsed_s"], m["train_loss"]] for m in read_metrics(metrics) if "train_loss" in m]
    probes = [w for w in wv.words if len(w) >= 4 and w.isalpha()][:PROBES]
    row.samples = [f"{w}: " + ", ".join(x for x, _ in wv.most_similar(w, topn=8)) for w in probes]


def _share(sections: list[dict]) -> float | None:
    total = sum(s["total"] for s in sections)
    return sum(s["correct"] for s in sections) / total if total else None


WORD2VEC_PROFILE = CompareProfile(
    task="word2vec",
    takes_tokenizer=True,
    default_tokenizer="word",
    columns=(
        Column("analogy_accuracy", "analogy accuracy", ".2%"),
        Column("semantic", "semantic", ".2%"),
        Column("syntactic", "syntactic", ".2%"),
    ),
    higher_is_better=True,
    unit="words",
    curve_key="train_loss",
    curve_label="training loss per prediction",
    curve_log=False,
    load_data=load_data,
    measure=measure,
)
