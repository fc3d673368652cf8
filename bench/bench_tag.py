"""Sequence labelling: UPOS accuracy on UD English GUM's test split for every tag model (issue 27, part 1).

The most-frequent-tag baseline is computed here (``lmlab.tag.models.hmm.most_frequent_tags``); every model is trained
with ``lmlab train --task tag --model M --data ud-english-gum`` (default hyperparameters, seed 0, the neural ones
for ``--max-seconds`` each, the window network for its 20 default epochs) and scored with ``lmlab eval RUN --split
test --json``. One CPU thread (``OMP_NUM_THREADS=1``), as the figures of the README were measured.

    python bench/bench_tag.py                               # every model: about 20 minutes
    python bench/bench_tag.py --models hmm,bilstm --seconds 300

Figures are stored in bench/out/tag.json and written into the bench_tag section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import machine, today, update_section  # noqa: E402

STORE = ROOT / "bench" / "out" / "tag.json"
MODELS = ("hmm", "window", "bilstm", "bilstm-crf", "transformer")
TIMED = ("bilstm", "bilstm-crf", "transformer")  # trained for --max-seconds; window runs its default 20 epochs


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def lmlab(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "lmlab", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"lmlab {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def most_frequent_tag_accuracy() -> float:
    from lmlab.tag.data import load_tagging_data
    from lmlab.tag.models.hmm import most_frequent_tags

    data = load_tagging_data("ud-english-gum")
    guessed = most_frequent_tags(data.train, data.test.words)
    pairs = [(g, t) for gs, ts in zip(guessed, data.test.tags) for g, t in zip(gs, ts)]
    return 100.0 * sum(g == t for g, t in pairs) / len(pairs)


def run_model(model: str, seconds: float, tmp: Path) -> dict:
    run = tmp / model
    flags = ["--task", "tag", "--model", model, "--data", "ud-english-gum", "--out", str(run)]
    if model in TIMED:
        flags += ["--max-seconds", str(seconds)]
    before, t0 = load(), time.perf_counter()
    lmlab("train", *flags)
    wall = time.perf_counter() - t0
    result = json.loads(lmlab("eval", str(run), "--split", "test", "--json"))
    stats = json.loads((run / "config.json").read_text()).get("stats", {})
    return {
        "accuracy": 100.0 * result["accuracy"] if result["accuracy"] <= 1 else result["accuracy"],
        "oov_accuracy": result.get("oov_accuracy"),
        "epochs": stats.get("epochs"),
        "train_seconds": wall,
        "load": f"{before} -> {load()}",
    }


def write_section(store: dict) -> None:
    lines = [
        "## Sequence labelling: UPOS on UD English GUM (`bench/bench_tag.py`)",
        "",
        f"Machine: {store['machine']}. Date: {store['date']}. One CPU thread (`OMP_NUM_THREADS=1`); load averages "
        "at the start and end of each run. Test split: 28,397 words; default hyperparameters, seed 0, the weights "
        "of the best dev accuracy kept.",
        "",
        "| model | training | test accuracy | unknown words | target |",
        "|---|---|---|---|---|",
        f"| most frequent tag | counting | {store['mft']:.2f}% | - | 88.75% (the issue's figure) |",
    ]
    for model, r in store["models"].items():
        epochs = f", {r['epochs']:.1f} epochs" if isinstance(r.get("epochs"), (int, float)) else ""
        oov = r.get("oov_accuracy")
        oov_text = "-" if oov is None else f"{100 * oov if oov <= 1 else oov:.2f}%"
        target = ">= 94.5% within 10 minutes" if model == "bilstm" else "reported"
        lines.append(
            f"| `{model}` | {r['train_seconds']:.0f} s{epochs}, load {r['load']} | {r['accuracy']:.2f}% | {oov_text} "
            f"| {target} |"
        )
    update_section("bench_tag", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--seconds", type=float, default=300.0, help="--max-seconds of the neural models (300)")
    args = parser.parse_args()
    models = args.models.split(",")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise SystemExit(f"unknown models: {', '.join(unknown)}")
    store = {"machine": machine(), "date": today(), "mft": most_frequent_tag_accuracy(), "models": {}}
    print(f"most frequent tag: {store['mft']:.2f}%", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            store["models"][model] = run_model(model, args.seconds, Path(tmp))
            print(f"{model}: {store['models'][model]['accuracy']:.2f}%", flush=True)
    STORE.parent.mkdir(parents=True, exist_ok=True)
    STORE.write_text(json.dumps(store, indent=1))
    write_section(store)


if __name__ == "__main__":
    main()
