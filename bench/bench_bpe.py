"""BPE benchmark: training an 8000-token vocabulary on WikiText-2's training set, encoding throughput, peak memory.

lmlab's BPE beside HuggingFace ``tokenizers`` (a benchmark dependency only), measured in the same run, in
alternation, each measurement in a fresh subprocess so that its peak memory (ru_maxrss) is its own; the best of
``--repeat`` runs is reported. HuggingFace runs on every core, and again on one (``RAYON_NUM_THREADS=1``), as
lmlab does. Targets (from the issue): training within 1.5x the wall time of ``BpeTrainer``
with a ``Whitespace`` pre-tokenizer; ``encode_lines`` at least as fast as ``encode_batch`` on the same text.

Usage: python bench/bench_bpe.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine, today, update_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LMLAB_DATA_DIR", REPO.parent / "shared" / "data"))
TRAIN = DATA / "wikitext-2" / "train.txt"
VOCAB_SIZE = 8000
SPECIALS = ["<unk>", "<s>", "</s>"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Each task runs in its own process and returns a dict; `work_dir` holds the tokenizers trained by earlier tasks.


def lmlab_train(work_dir: Path, byte_level: bool) -> dict:
    from lmlab.data import read_lines
    from lmlab.tokenizers import BPETokenizer

    base = _rss_mb()
    t0 = time.perf_counter()
    lines = read_lines(TRAIN)
    tok = BPETokenizer.train(lines, vocab_size=VOCAB_SIZE, byte_level=byte_level, progress=False)
    seconds = time.perf_counter() - t0
    peak = _rss_mb()
    t1 = time.perf_counter()
    ids = tok.encode_lines(lines).ids
    encode_after_training = time.perf_counter() - t1
    name = "byte" if byte_level else "char"
    tok.save(work_dir / f"lmlab_{name}.json")
    tok.save_huggingface(work_dir / f"lmlab_{name}_hf.json")
    (work_dir / f"lmlab_{name}_ids.json").write_text(json.dumps(ids.tolist()))
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "base_mb": base,
        "vocab_size": tok.vocab_size,
        "encode_after_training_s": encode_after_training,
    }


def hf_train(work_dir: Path, pre_tokenizer: str) -> dict:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    base = _rss_mb()
    t0 = time.perf_counter()
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    kwargs = {}
    if pre_tokenizer == "ByteLevel":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        kwargs["initial_alphabet"] = pre_tokenizers.ByteLevel.alphabet()
    else:
        tok.pre_tokenizer = getattr(pre_tokenizers, pre_tokenizer)()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIALS, show_progress=False, **kwargs)
    tok.train([str(TRAIN)], trainer)
    seconds = time.perf_counter() - t0
    peak = _rss_mb()
    tok.save(str(work_dir / f"hf_{pre_tokenizer}.json"))
    return {"seconds": seconds, "peak_mb": peak, "base_mb": base, "vocab_size": tok.get_vocab_size()}


def lmlab_encode(work_dir: Path, name: str) -> dict:
    from lmlab.data import read_lines
    from lmlab.tokenizers import load_tokenizer

    lines = read_lines(TRAIN)
    tok = load_tokenizer(work_dir / f"lmlab_{name}.json")  # a fresh tokenizer: nothing cached
    t0 = time.perf_counter()
    ids = tok.encode_lines(lines).ids
    cold = time.perf_counter() - t0
    t1 = time.perf_counter()
    tok.encode_lines(lines)
    warm = time.perf_counter() - t1
    same = ids.tolist() == json.loads((work_dir / f"lmlab_{name}_ids.json").read_text())
    return {"seconds": cold, "warm_seconds": warm, "n_ids": len(ids), "peak_mb": _rss_mb(), "same_ids": same}


def hf_encode(work_dir: Path, file_name: str, compare_with: str | None) -> dict:
    from tokenizers import Tokenizer

    lines = TRAIN.read_text(encoding="utf-8").split("\n")[:-1]
    tok = Tokenizer.from_file(str(work_dir / file_name))
    t0 = time.perf_counter()
    encodings = tok.encode_batch(lines)
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "n_ids": sum(len(e.ids) for e in encodings), "peak_mb": _rss_mb()}
    if compare_with:
        ours = json.loads((work_dir / f"lmlab_{compare_with}_ids.json").read_text())
        eos = ours[-1]  # every line ends with </s>
        out["same_ids"] = [i for e in encodings for i in [*e.ids, eos]] == ours
    return out


TASKS = {
    "lmlab_train_char": lambda d: lmlab_train(d, byte_level=False),
    "lmlab_train_byte": lambda d: lmlab_train(d, byte_level=True),
    "hf_train_Whitespace": lambda d: hf_train(d, "Whitespace"),
    "hf_train_WhitespaceSplit": lambda d: hf_train(d, "WhitespaceSplit"),
    "hf_train_ByteLevel": lambda d: hf_train(d, "ByteLevel"),
    "lmlab_encode_char": lambda d: lmlab_encode(d, "char"),
    "lmlab_encode_byte": lambda d: lmlab_encode(d, "byte"),
    "hf_encode_Whitespace": lambda d: hf_encode(d, "hf_Whitespace.json", None),
    "hf_encode_ByteLevel": lambda d: hf_encode(d, "hf_ByteLevel.json", None),
    "hf_encode_lmlab_char": lambda d: hf_encode(d, "lmlab_char_hf.json", "char"),
    "hf_encode_lmlab_byte": lambda d: hf_encode(d, "lmlab_byte_hf.json", "byte"),
    # The same on one thread (RAYON_NUM_THREADS=1), as lmlab runs: the fairer reference when the machine is busy.
    "hf1_train_Whitespace": lambda d: hf_train(d, "Whitespace"),
    "hf1_encode_Whitespace": lambda d: hf_encode(d, "hf_Whitespace.json", None),
}
TRAIN_TASKS = [t for t in TASKS if "_train_" in t]
ENCODE_TASKS = [t for t in TASKS if "_encode_" in t]


def run_task(name: str, work_dir: Path) -> dict:
    env = {**os.environ, "RAYON_NUM_THREADS": "1"} if name.startswith("hf1_") else None
    out = subprocess.run(
        [sys.executable, __file__, "--task", name, "--work-dir", str(work_dir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    return json.loads(out.stdout.splitlines()[-1])


def best(runs: list[dict]) -> dict:
    """The run with the shortest time, with the largest peak memory of all runs."""
    top = dict(min(runs, key=lambda r: r["seconds"]))
    top["peak_mb"] = max(r["peak_mb"] for r in runs)
    top["all_seconds"] = sorted(r["seconds"] for r in runs)
    return top


def report(r: dict[str, dict], repeat: int, load: tuple[float, float, float]) -> str:
    mb = TRAIN.stat().st_size / 1e6
    char, byte = r["lmlab_train_char"], r["lmlab_train_byte"]
    hf_ws, hf_split, hf_bl = r["hf_train_Whitespace"], r["hf_train_WhitespaceSplit"], r["hf_train_ByteLevel"]
    enc_char, enc_byte = r["lmlab_encode_char"], r["lmlab_encode_byte"]
    hf_enc, hf_enc_bl = r["hf_encode_Whitespace"], r["hf_encode_ByteLevel"]
    ratio = char["seconds"] / hf_ws["seconds"]
    same = all(r[k]["same_ids"] for k in ("hf_encode_lmlab_char", "hf_encode_lmlab_byte", *ENCODE_TASKS[:2]))

    def secs(x: dict) -> str:
        return f"{x['seconds']:.2f} s (runs {x['all_seconds'][0]:.2f}-{x['all_seconds'][-1]:.2f})"

    def rate(seconds: float) -> str:
        return f"{mb / seconds:.1f} MB/s"

    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    rows = [
        (
            "training, character mode (whitespace words)",
            secs(char),
            f"BpeTrainer + Whitespace {secs(hf_ws)}; on one thread {secs(r['hf1_train_Whitespace'])}; "
            f"+ WhitespaceSplit (lmlab's word split) {secs(hf_split)}",
            f"<= 1.5x Whitespace: ratio {ratio:.2f}, {met(ratio <= 1.5)}",
        ),
        ("training, byte-level (GPT-2 regex)", secs(byte), f"BpeTrainer + ByteLevel {secs(hf_bl)}", "reported"),
        (
            "peak memory of the training process",
            f"{char['peak_mb']:.0f} MB character, {byte['peak_mb']:.0f} MB byte-level "
            f"(after imports {char['base_mb']:.0f} MB)",
            f"{hf_ws['peak_mb']:.0f} MB Whitespace, {hf_bl['peak_mb']:.0f} MB ByteLevel "
            f"(after imports {hf_ws['base_mb']:.0f} MB)",
            "reported",
        ),
        (
            "encoding the training set, tokenizer loaded from its file (`encode_lines`, nothing cached)",
            f"character {rate(enc_char['seconds'])}, byte-level {rate(enc_byte['seconds'])}",
            f"`encode_batch`: its own Whitespace tokenizer {rate(hf_enc['seconds'])} (one thread "
            f"{rate(r['hf1_encode_Whitespace']['seconds'])}), ByteLevel "
            f"{rate(hf_enc_bl['seconds'])}; lmlab's exported files {rate(r['hf_encode_lmlab_char']['seconds'])} / "
            f"{rate(r['hf_encode_lmlab_byte']['seconds'])}",
            f">= encode_batch: character {met(enc_char['seconds'] <= hf_enc['seconds'])}, "
            f"byte-level {met(enc_byte['seconds'] <= hf_enc_bl['seconds'])}",
        ),
        (
            "the same, second call (every word cached)",
            f"character {rate(enc_char['warm_seconds'])}, byte-level {rate(enc_byte['warm_seconds'])}",
            "-",
            "-",
        ),
        (
            "the same, right after training (training words cached)",
            f"character {rate(char['encode_after_training_s'])}, byte-level {rate(byte['encode_after_training_s'])}",
            "-",
            "-",
        ),
        ("HF with lmlab's exported files gives lmlab's ids (whole training set)", "yes" if same else "NO", "", "equal"),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    busy = ""
    if load[0] > 1.0:
        busy = (
            f"\nThe machine was shared with other jobs during this run (load {load[0]:.1f} on {os.cpu_count()} cores): "
            "absolute times are longer than on an idle machine, for HuggingFace's two threads most of all; the "
            "one-thread HuggingFace figures are the closer comparison.\n"
        )
    return f"""## BPE: {VOCAB_SIZE} tokens on WikiText-2 train, {mb:.1f} MB (`bench/bench_bpe.py`)

Machine: {machine()}. Date: {today()}. Load average at the start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.
Best of {repeat} fresh processes per measurement, lmlab and HuggingFace `tokenizers` {_hf_version()} alternating
in the same run (HF uses both cores unless "one thread"; lmlab one). Training times include reading the file;
encoding times do not.

| measure | lmlab | HuggingFace tokenizers (same run) | target |
|---|---|---|---|
{table}
{busy}"""


def _hf_version() -> str:
    import tokenizers

    return tokenizers.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--task", choices=sorted(TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        print(json.dumps(TASKS[args.task](args.work_dir)))
        return
    if not TRAIN.is_file():
        sys.exit(f"WikiText-2 not found at {TRAIN}")
    load = os.getloadavg()
    results: dict[str, list[dict]] = {name: [] for name in TASKS}
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = Path(tmp)
        for rep in range(args.repeat):
            for name in [*TRAIN_TASKS, *ENCODE_TASKS]:
                results[name].append(run_task(name, work_dir))
                print(f"run {rep + 1}/{args.repeat} {name}: {results[name][-1]['seconds']:.2f} s", flush=True)
    body = report({name: best(runs) for name, runs in results.items()}, args.repeat, load)
    update_section("bench_bpe", body)
    print(body)


if __name__ == "__main__":
    main()
