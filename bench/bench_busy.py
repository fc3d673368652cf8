"""Training speed beside one busy process (issue 26): every language-model comparison preset, alone and with one
other CPU-bound process at normal priority beside it (what a browser tab, an IDE or another job on a lab server
does to a 2-core laptop).

    python bench/bench_busy.py [--seconds 25] [--rounds 2] [--families mlp,rnn,...] [--dry-run]

Each measurement is a whole ``lmlab train --data tinyshakespeare --tokenizer char --model F --preset compare-char
--max-seconds S`` process, with the engine choosing its threads (no ``--threads``); its speed is the median
``tokens_per_s`` of its logged training rows after the first quarter of its time (the thread probe and the
allocator's warm-up excluded). The two conditions take turns (alone, beside, alone, beside, ...) so that a drift of
the machine's load touches both. The busy process is ``python -c 'while True: pass'``. Each training also
records the CPU seconds that other processes (work this benchmark does not control) used while it ran. Results go
to the ``bench_busy`` section of bench/RESULTS.md and bench/out/busy.json (``--dry-run``: printed only).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from results import machine, today, update_section  # noqa: E402

STORE = ROOT / "bench" / "out" / "busy.json"
FAMILIES = ["mlp", "rnn", "lstm", "gru", "cnn", "transformer"]
TARGET = 0.55  # the speed beside one busy process, as a share of the speed alone


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds() -> float:
    """The CPU seconds every process of the machine has used since it started (/proc/stat: user, nice, system,
    irq, softirq)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in f.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def train_speed(family: str, seconds: float, out: Path, busy: subprocess.Popen | None = None) -> dict:
    """One training process: the median tokens/s of its logged rows after its first quarter, the thread counts it
    chose, and the CPU seconds that processes other than it and ``busy`` used meanwhile (other work on the machine,
    which this benchmark does not control: a figure taken while they are large is not of one busy process)."""
    cmd = [sys.executable, "-m", "lmlab", "train", "--data", "tinyshakespeare", "--tokenizer", "char",
           "--model", family, "--preset", "compare-char", "--max-seconds", f"{seconds:g}", "--out", str(out),
           "--log-every", "5"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("LMLAB_THREADS", "OMP_NUM_THREADS")}
    machine0, own0 = cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = process_cpu_seconds(busy.pid) if busy else 0.0
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime
    busy_cpu = process_cpu_seconds(busy.pid) - busy0 if busy else 0.0
    others = cpu_seconds() - machine0 - own - busy_cpu
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    speeds = [r["tokens_per_s"] for r in rows if "tokens_per_s" in r and r.get("elapsed_s", 0) > seconds / 4]
    if not speeds:
        raise SystemExit(f"{family}: no training rows after the first quarter of {seconds:g} s")
    stats = json.loads((out / "config.json").read_text())["stats"]
    threads = stats.get("threads") or {}
    chosen = [c["threads"] for c in threads.get("changes", [])] or [threads.get("threads")]
    return {"speed": statistics.median(speeds), "threads": chosen, "others_cpu_s": round(max(others, 0.0), 1)}


def measure(family: str, seconds: float, rounds: int, tmp: Path) -> dict:
    alone, beside, chosen_alone, chosen_beside, loads, others_alone, others_beside = [], [], [], [], [], [], []
    for r in range(rounds):
        run = train_speed(family, seconds, tmp / f"{family}-alone-{r}")
        alone.append(run["speed"])
        chosen_alone.append(run["threads"])
        others_alone.append(run["others_cpu_s"])
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            run = train_speed(family, seconds, tmp / f"{family}-busy-{r}", busy)
        finally:
            busy.kill()
            busy.wait()
        beside.append(run["speed"])
        chosen_beside.append(run["threads"])
        others_beside.append(run["others_cpu_s"])
        loads.append(load())
    a, b = statistics.median(alone), statistics.median(beside)
    return {
        "alone": alone,
        "beside": beside,
        "ratio": b / a,
        "threads_alone": chosen_alone,
        "threads_beside": chosen_beside,
        "others_cpu_s_alone": others_alone,
        "others_cpu_s_beside": others_beside,
        "load_after_each_round": loads,
    }


def others(record: dict) -> str:
    """The most CPU seconds other processes took during one training alone / beside ("?" in older records)."""
    if "others_cpu_s_alone" not in record:
        return "?"
    return f"{max(record['others_cpu_s_alone']):.1f} / {max(record['others_cpu_s_beside']):.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=25.0, help="each training's --max-seconds")
    ap.add_argument("--rounds", type=int, default=2, help="alone/beside pairs per family")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--note", default="", help="how the machine was shared, written under the table")
    ap.add_argument("--dry-run", action="store_true", help="print the records, write neither the store nor RESULTS.md")
    args = ap.parse_args()
    # the store keeps every family's latest record (a run that measures some families keeps the others' rows)
    store = json.loads(STORE.read_text()) if STORE.exists() else {}
    records = store.get("families") or {
        family: {"date": store["date"], "load_start": store["load_start"], "load_end": store["load_end"],
                 "seconds": store["seconds"], "rounds": store["rounds"], "note": store.get("note", ""), **r}
        for family, r in store.get("results", {}).items()
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            start = load()
            r = measure(family, args.seconds, args.rounds, Path(tmp))
            records[family] = {"date": today(), "load_start": start, "load_end": load(), "seconds": args.seconds,
                               "rounds": args.rounds, "note": args.note, **r}  # fmt: skip
            print(family, json.dumps(records[family]), flush=True)
    if args.dry_run:
        return
    store = {"machine": machine(), "families": {f: records[f] for f in FAMILIES if f in records}}
    STORE.parent.mkdir(parents=True, exist_ok=True)
    STORE.write_text(json.dumps(store, indent=1))
    lines = [
        "## Training beside one busy process (`bench/bench_busy.py`)",
        "",
        f"Machine: {store['machine']}. Each figure: `lmlab train --data tinyshakespeare --tokenizer char "
        "--model F --preset compare-char --max-seconds S`, the engine choosing its threads; the median tokens/s of "
        "its logged rows after the first quarter; alone and beside `python -c 'while True: pass'` (normal "
        "priority) in turn, the rounds given; the table gives the medians, and each row its date and the load "
        'average (1 / 5 / 15 min) at its start and end. "Others\' CPU" is the most CPU time that processes other '
        "than the training and its busy neighbour used during one of the row's trainings (/proc/stat less the "
        "two; a training lasts about S + 5 s on 2 cores): work this benchmark does not control, which makes a "
        "figure that of more than one busy process.",
        "",
        f"| family | tokens/s alone | tokens/s beside one busy process | ratio (target >= {TARGET}) | threads chosen "
        "alone / beside | others' CPU s, alone / beside | S, rounds | date, load at start to end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for family, r in store["families"].items():
        met = "met" if r["ratio"] >= TARGET else "MISSED"
        lines.append(
            f"| {family} | {statistics.median(r['alone']):,.0f} | {statistics.median(r['beside']):,.0f} | "
            f"{r['ratio']:.2f}: {met} | {r['threads_alone']} / {r['threads_beside']} | {others(r)} | "
            f"{r['seconds']:g} s, {r['rounds']} | {r['date']}, {r['load_start']} to {r['load_end']} |"
        )
        if r.get("note") and r["note"] not in notes:
            notes.append(r["note"])
    for note in notes:
        rows = ", ".join(f for f, r in store["families"].items() if r.get("note") == note)
        lines += ["", f"{rows}: {note}"]
    update_section("bench_busy", "\n".join(lines))


if __name__ == "__main__":
    main()
