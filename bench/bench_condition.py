"""Conditional generation: per-language perplexity on names-by-language with the label, without it, and shuffled.

For each family, two runs with the same recipe and the same number of updates, one name per example
(``--examples lines``):

* conditioned on the language (``lmlab train --data names-by-language``: the label's vector added to every input
  token's embedding);
* the unconditioned baseline (``--ignore-labels``: the same names, no label).

Both are scored on the test split with ``lmlab eval --json``: the conditioned run given each name's own language and
given the languages shuffled among the names (seed 0); the baseline on the names alone. Each run also samples a few
names for three languages.

    python bench/bench_condition.py                               # the GRU, 3,000 updates per run
    python bench/bench_condition.py --families gru,mlp,transformer --steps 3000

Figures are stored in bench/out/condition.json and written into the bench_condition section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import machine, today, update_section  # noqa: E402

STORE = ROOT / "bench" / "out" / "condition.json"
RECIPE = ["--tokenizer", "char", "--examples", "lines", "--seq-len", "20", "--batch-size", "64", "--epochs", "200"]
RECIPE += ["--optimizer", "adamw", "--lr", "3e-3", "--schedule", "constant", "--clip", "1.0", "--log-every", "100000"]
FAMILIES = {
    "gru": ["--d-embed", "32", "--d-hidden", "128", "--n-layer", "1", "--dropout", "0.1"],
    "lstm": ["--d-embed", "32", "--d-hidden", "128", "--n-layer", "1", "--dropout", "0.1"],
    "mlp": ["--context-len", "6", "--d-embed", "24", "--d-hidden", "256"],
    "transformer": ["--n-layer", "2", "--n-head", "4", "--d-model", "64", "--block-size", "24", "--warmup-steps", "0"],
}
SAMPLE_LANGUAGES = ("Russian", "Japanese", "Italian")


def lmlab(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "lmlab", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"lmlab {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def run_family(family: str, steps: int, tmp: Path) -> dict:
    out: dict = {}
    for name, extra in (("conditioned", []), ("unconditioned", ["--ignore-labels"])):
        run = tmp / f"{family}-{name}"
        flags = ["--model", family, "--data", "names-by-language", "--out", str(run), "--max-steps", str(steps)]
        lmlab("train", *flags, *RECIPE, *FAMILIES[family], *extra)
        config = json.loads((run / "config.json").read_text())
        result = json.loads(lmlab("eval", str(run), "--split", "test", "--json"))
        result["steps"] = config["stats"]["steps"]
        result["train_seconds"] = config["stats"]["train_seconds"]
        result["parameters"] = config["stats"]["parameters"]
        if name == "conditioned":
            result["samples"] = {
                language: lmlab("generate", str(run), "--condition", language, "--num-samples", "5", "--seed", "1")
                .strip()
                .split("\n")
                for language in SAMPLE_LANGUAGES
            }
        out[name] = result
        print(f"{family} {name}: test perplexity {result['perplexity']:.3f}", flush=True)
    return out


def write_section(store: dict) -> None:
    lines = [
        "## Conditional generation: names by language (`bench/bench_condition.py`)",
        "",
        f"Machine: {store['machine']}. Date: {store['date']}. Load average at the start: {store['load']}.",
        f"Each run makes {store['steps']:,} updates (`--max-steps`; about 12 epochs) on names-by-language's train "
        "split (16,058 names, each language cut 80/10/10), one name per example, AdamW 3e-3 (constant), batch 64, "
        "the weights of the best validation kept; character tokenizer. Test split: 1,996 names, "
        "token-weighted perplexity per character, each name's end counted. Conditioned: the language's vector "
        "added to every input character's embedding; shuffled: the same run given the languages permuted among "
        "the test names (seed 0); unconditioned: `--ignore-labels`, the same recipe on the names alone.",
        "",
        "| family | run | parameters | training time | test perplexity | shuffled languages |",
        "|---|---|---|---|---|---|",
    ]
    for family, runs in store["families"].items():
        for name in ("unconditioned", "conditioned"):
            r = runs[name]
            shuffled = f"{r['shuffled_perplexity']:.3f}" if "shuffled_perplexity" in r else "-"
            lines.append(
                f"| {family} | {name} | {r['parameters']:,} | {r['train_seconds']:.0f} s | {r['perplexity']:.3f} | "
                f"{shuffled} |"
            )
    for family, runs in store["families"].items():
        cond, base = runs["conditioned"]["per_label"], runs["unconditioned"]["per_label"]
        lines += [
            "",
            f"Per language, {family} (test perplexity):",
            "",
            "| language | test names | characters + ends | unconditioned | conditioned | shuffled languages |",
            "|---|---|---|---|---|---|",
        ]
        for language in sorted(cond, key=lambda k: -cond[k]["lines"]):
            c, b = cond[language], base[language]
            lines.append(
                f"| {language} | {c['lines']} | {c['tokens']:,} | {b['perplexity']:.2f} | {c['perplexity']:.2f} | "
                f"{c['shuffled_perplexity']:.2f} |"
            )
        samples = runs["conditioned"].get("samples", {})
        if samples:
            how = "`lmlab generate RUN --condition LANGUAGE --num-samples 5 --seed 1`"
            lines += ["", f"Samples of the conditioned {family} ({how}):", ""]
            lines += [f"* {language}: {', '.join(names)}" for language, names in samples.items()]
    update_section("bench_condition", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="gru", help="comma-separated: " + ", ".join(FAMILIES))
    parser.add_argument("--steps", type=int, default=3000, help="updates of each run (default: 3000)")
    args = parser.parse_args()
    families = args.families.split(",")
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise SystemExit(f"unknown families: {', '.join(unknown)}")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    store = {"machine": machine(), "date": today(), "load": load, "steps": args.steps, "families": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for family in families:
            store["families"][family] = run_family(family, args.steps, Path(tmp))
    STORE.parent.mkdir(parents=True, exist_ok=True)
    STORE.write_text(json.dumps(store, indent=1))
    write_section(store)


if __name__ == "__main__":
    main()
