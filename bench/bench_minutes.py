"""Time to quality: the exact commands a user types, with a wall-clock budget and no size flags, and the test
figure each reaches (issue 26): every family of every task with its defaults, after 1, 5 and 30 minutes.

    python bench/bench_minutes.py [--seconds 60,300] [--only lm/lstm --only translate/transformer ...]

Each entry trains ``lmlab train ... --max-seconds S --out RUN`` in a fresh process (the engine choosing its
threads), then runs ``lmlab eval RUN --split test --json``; the figure, the updates done, the thread counts the
engine chose and the load average at the start and end are kept in bench/out/minutes.json (one record per entry and
budget, so runs made at different times add up) and written to the ``bench_minutes`` section of bench/RESULTS.md.
The counting models (n-gram, naive Bayes, HMM, label propagation) take no budget: their one figure is in every
column they were measured in.
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

STORE = ROOT / "bench" / "out" / "minutes.json"
BUDGETS = (60, 300, 1800)

#: task: (the data flags after ``--task T --model F``, the eval figure's key, what it is, higher is better)
TASKS = {
    "lm": (["--data", "tinyshakespeare", "--tokenizer", "char"], "perplexity", "test perplexity", False),
    "classify": (["--data", "sst2"], "accuracy", "test accuracy", True),
    "translate": (["--data", "multi30k", "--src", "de", "--tgt", "en"], "bleu", "sacreBLEU, test_2016_flickr", True),
    "tag": (["--data", "ud-english-gum"], "accuracy", "UPOS test accuracy", True),
    "image": (["--data", "mnist"], "accuracy", "test accuracy", True),
    "graph": (["--data", "cora"], "accuracy", "test accuracy (Planetoid split)", True),
}
#: each task's families, in the README's order; the counting ones take no --max-seconds
FAMILIES = {
    "lm": ["ngram", "mlp", "rnn", "lstm", "gru", "cnn", "transformer"],
    "classify": ["nb", "bow", "textcnn", "rnn", "attention", "transformer"],
    "translate": ["transformer", "bahdanau", "luong", "seq2seq"],
    "tag": ["hmm", "window", "bilstm", "bilstm-crf", "transformer"],
    "image": ["mlp", "lenet5", "alexnet", "vgg", "resnet", "vit"],
    "graph": ["labelprop", "mlp", "gcn", "sage", "gat"],
}
COUNTING = {"lm/ngram", "classify/nb", "tag/hmm", "graph/labelprop"}
#: targets the issues set on an exact command: (entry, seconds) -> the figure to reach
TARGETS = {("translate/transformer", 300): 20.0}


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def command(entry: str, seconds: int) -> list[str]:
    task, family = entry.split("/")
    data = TASKS[task][0]
    budget = [] if entry in COUNTING else ["--max-seconds", str(seconds)]
    return ["train", "--task", task, "--model", family, *data, *budget]


def run(entry: str, seconds: int, tmp: Path) -> dict:
    task, _ = entry.split("/")
    _, key, what, _ = TASKS[task]
    out = tmp / entry.replace("/", "-")
    start = load()
    lmlab = [sys.executable, "-m", "lmlab"]
    env = {k: v for k, v in os.environ.items() if k not in ("LMLAB_THREADS", "OMP_NUM_THREADS")}
    subprocess.run([*lmlab, *command(entry, seconds), "--out", str(out)], check=True, env=env)
    end = load()
    r = json.loads(subprocess.run([*lmlab, "eval", str(out), "--split", "test", "--json"], check=True,
                                  capture_output=True, text=True, env=env).stdout)  # fmt: skip
    stats = json.loads((out / "config.json").read_text()).get("stats", {})
    threads = stats.get("threads") or {}
    return {
        "command": "lmlab " + " ".join(command(entry, seconds)) + " --out RUN",
        "figure": r[key],
        "what": what,
        "steps": stats.get("steps"),
        "status": stats.get("status"),  # "stopped at --max-seconds", or a run that ended before its budget
        "train_seconds": stats.get("train_seconds"),
        "parameters": stats.get("parameters"),
        "threads": [c["threads"] for c in threads.get("changes", [])] or [threads.get("threads")],
        "load": f"{start} -> {end}",
        "date": today(),
        "machine": machine(),
    }


def cell(store: dict, entry: str, seconds: int) -> str:
    r = store.get(f"{entry}@{seconds}")
    if r is None:
        return "not measured"
    figure = f"{r['figure']:.2f}" if r["figure"] < 1000 else f"{r['figure']:,.0f}"
    if r["what"].endswith("accuracy") or "accuracy (" in r["what"]:
        figure = f"{100 * r['figure']:.2f}%" if r["figure"] <= 1 else f"{r['figure']:.2f}%"
    steps = f", {r['steps']:,} updates" if r.get("steps") and entry not in COUNTING else ""
    if steps and r.get("status") in ("completed", "stopped early") and r.get("train_seconds") is not None:
        # ended before its budget (its epochs done, or early stopping): the budget did not limit it
        steps += f", {r['status']} after {r['train_seconds']:.0f} s"
    target = TARGETS.get((entry, seconds))
    verdict = ""
    if target is not None:
        verdict = f"; target >= {target:g}: " + ("met" if r["figure"] >= target else "MISSED")
    return f"{figure}{steps}{verdict}"


def write(store: dict) -> None:
    lines = [
        "## Time to quality: the exact commands, no size flags (`bench/bench_minutes.py`)",
        "",
        "Each cell: `lmlab train --task T --model F DATA --max-seconds S --out RUN`, then `lmlab eval RUN --split "
        "test --json`, the engine choosing its threads; the figure and the updates done. Counting models take no "
        "budget (one figure). The load (1 / 5 / 15 min) at the start and end of each run is in "
        "bench/out/minutes.json; *highest load* is the highest 1-minute load any of the row's runs started or "
        "ended at. A run that ended before its budget (its epochs done, or stopped early) says so, with its "
        "training seconds; two such runs of one family can still differ a little (image `mlp`: 97.00% and 96.80% "
        "after the same 2,500 updates), since the thread count the engine chooses by timing changes the order in "
        "which sums add up.",
        "",
        "| task | family | data flags | figure | parameters | 1 minute | 5 minutes | 30 minutes | highest load "
        "| date |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task, families in FAMILIES.items():
        for family in families:
            entry = f"{task}/{family}"
            runs = [store[k] for k in (f"{entry}@{s}" for s in BUDGETS) if k in store]
            if not runs:
                continue
            loads = [float(x.split(" / ")[0]) for r in runs for x in r["load"].split(" -> ")]
            dates = sorted({r["date"] for r in runs})
            params = next((r["parameters"] for r in runs if r.get("parameters")), None)
            lines.append(
                f"| {task} | `{family}` | `{' '.join(TASKS[task][0])}` | {TASKS[task][2]} | "
                + (f"{params:,} | " if params else "- | ")
                + " | ".join(cell(store, entry, s) for s in BUDGETS)
                + f" | {max(loads):.2f} | {', '.join(dates)} |"
            )
    machines = sorted({r["machine"] for r in store.values()})
    lines += ["", f"Machine: {'; '.join(machines)}."]
    update_section("bench_minutes", "\n".join(lines))
    readme = ROOT / "README.md"
    if "<!-- time-to-quality:start -->" in readme.read_text():  # the README shows the same table
        update_section("time-to-quality", "\n".join(lines[2:]), readme)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", default="60,300", help="budgets, comma-separated (of 60, 300, 1800)")
    ap.add_argument("--only", action="append", help="TASK/FAMILY (repeatable); default every family of every task")
    ap.add_argument("--write-only", action="store_true", help="rewrite the section from bench/out/minutes.json")
    args = ap.parse_args()
    store = json.loads(STORE.read_text()) if STORE.exists() else {}
    store = {k: v for k, v in store.items() if "@" in k}  # records of the one-entry version are dropped
    entries = args.only or [f"{t}/{f}" for t, fs in FAMILIES.items() for f in fs]
    for entry in entries:
        task, _, family = entry.partition("/")
        if family not in FAMILIES.get(task, []):
            raise SystemExit(f"unknown entry {entry!r}")
    budgets = [int(s) for s in args.seconds.split(",")]
    if not args.write_only:
        with tempfile.TemporaryDirectory() as tmp:
            for entry in entries:
                for seconds in [budgets[0]] if entry in COUNTING else budgets:
                    r = run(entry, seconds, Path(tmp))
                    for s in BUDGETS if entry in COUNTING else [seconds]:
                        store[f"{entry}@{s}"] = r
                    print(entry, seconds, json.dumps(r), flush=True)
                    STORE.parent.mkdir(parents=True, exist_ok=True)
                    STORE.write_text(json.dumps(store, indent=1))
                    write(store)
    write(store)


if __name__ == "__main__":
    main()
