"""Time to quality: the exact commands a user types, with a wall-clock budget and no size flags, and the test
figure they reach (issue 26).

    python bench/bench_minutes.py [--seconds 300] [--only translate]

Each entry trains ``lmlab train ... --max-seconds S --out RUN`` in a fresh process, then runs ``lmlab eval RUN
--split test --json``; the figure, the updates done, the thread count the engine chose and the load average at the
start and end are written to the ``bench_minutes`` section of bench/RESULTS.md (and bench/out/minutes.json).
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
#: name: (the command's arguments after ``lmlab train``, the eval figure's key, its name, the target)
ENTRIES = {
    "translate": (
        ["--task", "translate", "--model", "transformer", "--data", "multi30k", "--src", "de", "--tgt", "en"],
        "bleu",
        "sacreBLEU, test_2016_flickr, beam 5",
        20.0,
    ),
}


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run(name: str, seconds: float, tmp: Path) -> dict:
    args, key, what, target = ENTRIES[name]
    out = tmp / name
    start = load()
    lmlab = [sys.executable, "-m", "lmlab"]
    subprocess.run([*lmlab, "train", *args, "--max-seconds", f"{seconds:g}", "--out", str(out)], check=True)
    end = load()
    r = json.loads(subprocess.run([*lmlab, "eval", str(out), "--split", "test", "--json"], check=True,
                                  capture_output=True, text=True).stdout)  # fmt: skip
    stats = json.loads((out / "config.json").read_text())["stats"]
    threads = stats.get("threads") or {}
    return {
        "command": "lmlab train " + " ".join(args) + f" --max-seconds {seconds:g} --out RUN",
        "figure": r[key],
        "what": what,
        "target": target,
        "steps": stats["steps"],
        "parameters": stats["parameters"],
        "threads": [c["threads"] for c in threads.get("changes", [])] or [threads.get("threads")],
        "load": f"{start} -> {end}",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--only", choices=list(ENTRIES), action="append")
    args = ap.parse_args()
    store = json.loads(STORE.read_text()) if STORE.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or list(ENTRIES):
            store[name] = {**run(name, args.seconds, Path(tmp)), "date": today(), "machine": machine()}
            print(name, json.dumps(store[name]), flush=True)
    STORE.parent.mkdir(parents=True, exist_ok=True)
    STORE.write_text(json.dumps(store, indent=1))
    lines = [
        "## Time to quality: the exact commands, no size flags (`bench/bench_minutes.py`)",
        "",
        "| task | command | figure | updates | threads chosen | load (1 / 5 / 15 min) start -> end | date | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in store.items():
        verdict = "met" if r["figure"] >= r["target"] else f"missed by {r['target'] - r['figure']:.1f}"
        lines.append(
            f"| {name} | `{r['command']}` | {r['figure']:.2f} {r['what']} | {r['steps']:,} | {r['threads']} | "
            f"{r['load']} | {r['date']} | >= {r['target']:g}: {verdict} |"
        )
    lines += ["", f"Machine: {next(iter(store.values()))['machine']}."]
    update_section("bench_minutes", "\n".join(lines))


if __name__ == "__main__":
    main()
