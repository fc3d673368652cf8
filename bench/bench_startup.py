"""Start-up benchmark: the whole process of each command that trains or loads no network, on tiny inputs.

Each command runs ``--runs`` times as ``python -m lmlab ...`` in a fresh process (after one warm-up round, so the
files are in the page cache), the commands taken in turn within each round so that a change in the machine's
load reaches all of them alike; the median and the minimum wall time are reported, beside the interpreter alone
(``python -c pass``) and ``import numpy``, the floor under every command that needs NumPy. Twice: with compiled
bytecode cached (as an installed package runs: pip compiles it; here in a temporary ``PYTHONPYCACHEPREFIX``, the
warm-up round writes it), and with ``PYTHONDONTWRITEBYTECODE=1``: in a checkout that never wrote a ``__pycache__``
(the workspace where these benchmarks run), every lmlab module is compiled from source at every start. A last
column says whether the command imported NumPy or PyTorch (read from a run under ``-X importtime``). Target
(issue 26): under 0.3 s each, no PyTorch.

Usage: python bench/bench_startup.py [--runs 15] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine, today, update_section  # noqa: E402

TARGET_S = 0.3
LINE = "the cat sat on the mat and the dog sat on the log\n"

#: (what the row shows, the arguments after ``python``); run in a folder holding ``one.txt`` (one line),
#: ``tiny.txt`` (40 lines), the tokenizer ``tok.json`` and the n-gram run ``RUN``.
COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("python -c 'import numpy'", ["-c", "import numpy"]),
    ("lmlab --help", ["-m", "lmlab", "--help"]),
    (
        "lmlab tokenizer train (one line)",
        ["-m", "lmlab", "tokenizer", "train", "--kind", "bpe", "--vocab-size", "40", "one.txt", "--out", "t.json"],
    ),  # fmt: skip
    ("lmlab tokenizer encode", ["-m", "lmlab", "tokenizer", "encode", "tok.json", "tiny.txt", "--out", "ids.txt"]),
    ("lmlab data list", ["-m", "lmlab", "data", "list"]),
    (
        "lmlab train --model ngram",
        ["-m", "lmlab", "train", "--model", "ngram", "--order", "3", "--data", "tiny.txt", "--out", "NEW"],
    ),  # fmt: skip
    ("lmlab eval RUN (n-gram)", ["-m", "lmlab", "eval", "RUN"]),
    ("lmlab export RUN --format arpa", ["-m", "lmlab", "export", "RUN", "--format", "arpa", "--out", "r.arpa"]),
    ("lmlab cnn-shapes", ["-m", "lmlab", "cnn-shapes", "28x28x1 conv3x3x8 pool2 flatten fc10"]),
    (
        "lmlab conv",
        [
            "-m",
            "lmlab",
            "conv",
            "--image",
            "1 2 3; 4 5 6; 7 8 9",
            "--kernel",
            "1 2; 3 4",
            "--padding",
            "1,0,1,0",
            "--activation",
            "abs(50-x)",
            "--pool",
            "2",
        ],
    ),  # fmt: skip
]


def prepare(work: Path) -> None:
    (work / "one.txt").write_text(LINE)
    (work / "tiny.txt").write_text(LINE * 40)
    for args in (
        ["tokenizer", "train", "--kind", "bpe", "--vocab-size", "40", "tiny.txt", "--out", "tok.json"],
        ["train", "--model", "ngram", "--order", "3", "--data", "tiny.txt", "--out", "RUN"],
    ):
        subprocess.run([sys.executable, "-m", "lmlab", *args], cwd=work, check=True, capture_output=True)


def environment(cached: bool, cache_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    if cached:
        env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # the standard library's own caches are still read
    return env


def run_once(args: list[str], work: Path, env: dict[str, str]) -> float:
    shutil.rmtree(work / "NEW", ignore_errors=True)  # `lmlab train` wants a new run directory
    start = time.perf_counter()
    r = subprocess.run([sys.executable, *args], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{args}: exit status {r.returncode}: {r.stderr.decode()[-500:]}")
    return seconds


def heavy_imports(args: list[str], work: Path) -> str:
    """Which of NumPy and PyTorch the command imported, from ``-X importtime``'s list of every import."""
    shutil.rmtree(work / "NEW", ignore_errors=True)
    r = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=work, capture_output=True, text=True)
    names = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    return ", ".join(m for m in ("numpy", "torch") if m in names) or "neither"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work)
        imports = {name: heavy_imports(argv, work) for name, argv in COMMANDS}
        envs = {cached: environment(cached, work / "pycache") for cached in (True, False)}
        times: dict[tuple[str, bool], list[float]] = {(name, c): [] for name, _ in COMMANDS for c in envs}
        for _ in range(args.runs + 1):
            for name, argv in COMMANDS:
                for cached, env in envs.items():
                    times[name, cached].append(run_once(argv, work, env))
    load_after = os.getloadavg()
    load = " / ".join(f"{x:.2f}" for x in load_before) + " before, " + " / ".join(f"{x:.2f}" for x in load_after)
    rows = []
    for name, _ in COMMANDS:
        cells = []
        for cached in (True, False):
            t = times[name, cached][1:]  # the first round warms the page cache and writes the bytecode
            median = statistics.median(t)
            verdict = "" if not name.startswith("lmlab") else (" (met)" if median < TARGET_S else " (MISSED)")
            cells += [f"{median:.3f}{verdict}", f"{min(t):.3f}"]
        rows.append(f"| `{name}` | {' | '.join(cells)} | {imports[name]} |")
    body = "\n".join(
        [
            "## Start-up without PyTorch (`bench/bench_startup.py`)",
            "",
            f"Whole process, wall seconds, median and minimum of {args.runs} runs of each (the commands in turn, "
            "after one warm-up round), on tiny inputs: a one-line file, a 40-line file, a 40-token BPE tokenizer, "
            'a trigram run. Target (issue 26): under 0.3 s and no PyTorch. "Bytecode cached" is how an installed '
            'package starts; "no bytecode" compiles every lmlab module at every start (`PYTHONDONTWRITEBYTECODE=1` '
            "without a `__pycache__`, as in the workspace where these benchmarks run).",
            "",
            "| command | bytecode cached: median s | min s | no bytecode: median s | min s | imports |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"Machine: {machine()}; load average (1 / 5 / 15 min) {load}; {today()}.",
        ]
    )
    print(body)
    if not args.no_write:
        update_section("startup", body)


if __name__ == "__main__":
    main()
