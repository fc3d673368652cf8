"""Training on two processes against one (issue 17): tokens/s of 2 processes x 1 thread and of 1 process x 2
threads, the same global batch, on this machine's 2 cores.

Two recipes, as users run them: Zaremba et al.'s small PTB LSTM (``--preset zaremba-small --data ptb``) and
nanoGPT's CPU Transformer (``--preset nanogpt-cpu --data tinyshakespeare --tokenizer char``). Each measurement is a
whole ``lmlab train`` command with ``--max-seconds``; its speed is the median of the tokens/s of its metrics rows
after the first (start-up and the first steps excluded). The two forms run in turn (one, two, one, two, ...), so a
change in the machine's load touches both. A gain is not expected on 2 cores (both forms use both cores); the target
is an overhead under 15% (ratio >= 0.85).

    python bench/bench_ddp.py                  # writes the "ddp" section of bench/RESULTS.md
    python bench/bench_ddp.py --seconds 5 --rounds 1 --smoke   # prints it, writes nothing
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import machine, today, update_section  # noqa: E402

RECIPES = {
    "lstm zaremba-small (PTB)": (["--model", "lstm", "--preset", "zaremba-small", "--tokenizer", "word"], "ptb"),
    "transformer nanogpt-cpu (tinyshakespeare)": (
        ["--model", "transformer", "--preset", "nanogpt-cpu", "--tokenizer", "char"], "tinyshakespeare"),
}  # fmt: skip
STORE = ROOT / "bench" / "out" / "ddp.json"


def tokens_per_s(flags: list[str], processes: int, seconds: float, out: Path) -> float:
    """The median tokens/s of one whole run after its first metrics row."""
    env = {**os.environ, "OMP_NUM_THREADS": str(2 // processes)}
    extra = ["--nproc", str(processes)] if processes > 1 else []
    cmd = [sys.executable, "-m", "lmlab", "train", *flags, "--max-seconds", str(seconds), "--log-every", "10",
           "--eval-every", "1000000", "--val-subset", "2000", "--device", "cpu", "--out", str(out), *extra]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    speeds = [row["tokens_per_s"] for row in rows if "tokens_per_s" in row][1:]
    if not speeds:
        raise SystemExit(f"{out}: too few metrics rows in {seconds} s; give more --seconds")
    return statistics.median(speeds)


def short_validation(name: str, folder: Path) -> str:
    """The corpus's training split with the first 100 lines of its validation split: a run's validation (at its
    end) then costs seconds; its speed is measured on the training steps alone."""
    from lmlab.data import load_corpus

    corpus = load_corpus(name)
    folder.mkdir(parents=True)
    for split, lines in (("train", corpus.train), ("valid", corpus.valid[:100]), ("test", corpus.valid[:100])):
        (folder / f"{split}.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(folder)


def section(store: dict) -> str:
    lines = [
        "## Two processes against one: torchrun/DDP on 2 CPU cores (`bench/bench_ddp.py`)",
        "",
        f"{store['machine']}; {store['date']}; load before {store['load_before']}. Each figure is the median "
        f"tokens/s of a whole `lmlab train` run of {store['seconds']:.0f} s (rows after the first), the two forms "
        f"in turn, {store['rounds']} of each; the same global batch. Target: 2 processes x 1 thread at least "
        "0.85x of 1 process x 2 threads (a gain is not expected on 2 cores).",
        "",
        "| recipe | 1 process x 2 threads, tokens/s | 2 processes x 1 thread, tokens/s | ratio (target >= 0.85) |",
        "|---|---|---|---|",
    ]
    for name, r in store["recipes"].items():
        one, two = statistics.median(r["one"]), statistics.median(r["two"])
        verdict = "met" if two / one >= 0.85 else "**missed**"
        lines.append(
            f"| {name} | {one:,.0f} ({', '.join(f'{x:,.0f}' for x in r['one'])}) | {two:,.0f} "
            f"({', '.join(f'{x:,.0f}' for x in r['two'])}) | {two / one:.3f} {verdict} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=40.0, help="length of each run")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each form per recipe")
    ap.add_argument("--smoke", action="store_true", help="print the section, write nothing")
    args = ap.parse_args()
    store = {
        "machine": machine(),
        "date": today(),
        "load_before": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "recipes": {},
    }
    with tempfile.TemporaryDirectory() as d:
        for name, (flags, corpus) in RECIPES.items():
            flags = [*flags, "--data", short_validation(corpus, Path(d) / corpus)]
            r = store["recipes"][name] = {"one": [], "two": []}
            for k in range(args.rounds):
                for processes, key in ((1, "one"), (2, "two")):
                    speed = tokens_per_s(flags, processes, args.seconds, Path(d) / f"{key}-{k}-{len(r[key])}")
                    r[key].append(speed)
                    print(f"{name}: {processes} process(es): {speed:,.0f} tokens/s", flush=True)
    text = section(store)
    print(text)
    if not args.smoke:
        STORE.parent.mkdir(parents=True, exist_ok=True)
        STORE.write_text(json.dumps(store, indent=1) + "\n")
        update_section("ddp", text)


if __name__ == "__main__":
    main()
