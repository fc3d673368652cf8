"""word2vec against gensim 4.4: speed, analogy and similarity quality, memory (issue 14).

Targets, on WikiText-2 train with gensim's defaults (dim 100, window 5, min_count 5, negative 5, sample 1e-3,
alpha 0.025 -> 0.0001, 5 epochs) and 2 threads:
* speed: corpus words per second of training at least 1.0x gensim's, for skip-gram and for CBOW;
* quality: analogy accuracy (questions-words, the 30,000 most frequent words) within 1 point of gensim's and
  Spearman on a word-similarity set (WordSim-353, SimLex-999 from gensim's test data) within 0.03, for
  skip-gram, CBOW and skip-gram with hierarchical softmax (``--hs --negative 0``; gensim ``hs=1, negative=0``),
  3 seeds each side, mean and spread;
* exported vectors load in gensim and give the same ``most_similar`` lists;
* memory: peak RSS of a CBOW epoch on a generated corpus of at least 200 MB beside the same run on WikiText-2.

Every training runs in a fresh process (its wall time and peak memory its own), lmlab and gensim in turn for
each seed and model, so that both see the same machine load. Both sides are scored by the same evaluation code
(lmlab's, which tests/word2vec/test_vectors.py checks equal to gensim's ``evaluate_word_analogies`` and
``evaluate_word_pairs``), because gensim's own analogy evaluation takes about a minute per model.

    python bench/bench_word2vec.py            # the full benchmark (about 15-25 minutes on 2 quiet cores)
    python bench/bench_word2vec.py --smoke    # seconds: a small corpus, 1 epoch, 1 seed; RESULTS.md untouched

The full run stores its figures in bench/out/word2vec.json and rewrites its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import machine, today, update_section  # noqa: E402

STORE = ROOT / "bench" / "out" / "word2vec.json"
MODES = {  # name: (skip-gram, hierarchical softmax)
    "sg": (True, False),
    "cbow": (False, False),
    "sg-hs": (True, True),
}
TARGET_ANALOGY_POINTS = 1.0
TARGET_SPEARMAN = 0.03
GENERATED_MB = 205


def data_dir() -> Path:
    from lmlab.data.registry import data_dir as lmlab_data_dir

    return lmlab_data_dir()


def similarity_sets() -> dict[str, Path]:
    import gensim

    folder = Path(gensim.__file__).parent / "test" / "test_data"
    return {"WordSim-353": folder / "wordsim353.tsv", "SimLex-999": folder / "simlex999.txt"}


# ---- one training, in a child process
def child(args: argparse.Namespace) -> None:
    """Train one model, measure it, print one JSON line."""
    sg, hs = MODES[args.mode]
    t0 = time.perf_counter()
    if args.side == "lmlab":
        from lmlab.train_options import TrainOptions
        from lmlab.word2vec.config import Word2VecConfig
        from lmlab.word2vec.runs import train_word2vec

        cfg = Word2VecConfig(threads=args.threads, epochs=args.epochs, hs=hs, negative=0 if hs else 5)
        with tempfile.TemporaryDirectory() as tmp:
            run = train_word2vec(
                cfg,
                "skipgram" if sg else "cbow",
                args.corpus,
                TrainOptions(seed=args.seed, progress=False),
                Path(tmp) / "run",
            )
        wall = time.perf_counter() - t0
        words, vectors = run.vocab.words, run.weights.syn0
        train_s, train_words = run.stats["train_seconds"], run.stats["train_words"]
        losses = [run.stats["final_train_loss"]]
    else:
        from gensim.models import Word2Vec
        from gensim.models.word2vec import LineSentence

        model = Word2Vec(
            sg=int(sg), hs=int(hs), negative=0 if hs else 5, workers=args.threads, epochs=args.epochs, seed=args.seed
        )
        model.build_vocab(LineSentence(args.corpus))
        t1 = time.perf_counter()
        model.train(LineSentence(args.corpus), total_examples=model.corpus_count, epochs=args.epochs)
        train_s = time.perf_counter() - t1
        wall = time.perf_counter() - t0
        train_words = model.corpus_total_words * args.epochs
        words, vectors = model.wv.index_to_key, model.wv.vectors
        losses = []
    import resource

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "side": args.side,
        "mode": args.mode,
        "seed": args.seed,
        "train_s": train_s,
        "wall_s": wall,
        "words_per_s": train_words / train_s,
        "vocab": len(words),
        "peak_mb_at_end": peak_mb,
        "loss": losses,
    }
    if args.evaluate:
        from lmlab.errors import LmlabError
        from lmlab.word2vec.vectors import WordVectors

        wv = WordVectors(words, vectors)
        questions = data_dir() / "analogy" / "questions-words.txt"
        try:
            r = wv.evaluate_analogies(questions, restrict_vocab=30_000)
            out["analogy"], out["analogy_questions"] = r["accuracy"], r["total"]
        except LmlabError:  # a corpus too small to hold a whole question (the smoke run's)
            out["analogy"], out["analogy_questions"] = float("nan"), 0
        out["spearman"] = {}
        for name, path in similarity_sets().items():
            try:
                out["spearman"][name] = wv.evaluate_similarity(path)["spearman"]
            except LmlabError:
                out["spearman"][name] = float("nan")
        if args.export:
            wv.save_word2vec(args.export, binary=True)
    print(json.dumps(out), flush=True)


def run_child(
    side: str,
    mode: str,
    seed: int,
    corpus: Path,
    epochs: int,
    threads: int,
    *,
    evaluate=True,
    export: Path | None = None,
) -> dict:
    argv = [
        sys.executable,
        __file__,
        "--child",
        side,
        "--mode",
        mode,
        "--seed",
        str(seed),
        "--corpus",
        str(corpus),
        "--epochs",
        str(epochs),
        "--threads",
        str(threads),
    ]
    if not evaluate:
        argv.append("--no-evaluate")
    if export:
        argv += ["--export", str(export)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    text = proc.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{side} {mode} seed {seed} failed (exit status {os.waitstatus_to_exitcode(status)})")
    result = json.loads(text.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


# ---- the parts
def generated_corpus(source: Path, folder: Path, megabytes: int) -> Path:
    """``source``'s lines, shuffled afresh for each copy, until the file holds ``megabytes`` MB."""
    lines = source.read_text(encoding="utf-8").splitlines()
    path = folder / "generated.txt"
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as f:
        while f.tell() < megabytes * 1_000_000:
            rng.shuffle(lines)
            f.write("\n".join(lines) + "\n")
    return path


def same_neighbours(export: Path) -> dict:
    """gensim reads lmlab's exported binary file; are its most_similar lists lmlab's?"""
    from gensim.models import KeyedVectors

    from lmlab.word2vec.vectors import WordVectors

    kv = KeyedVectors.load_word2vec_format(str(export), binary=True)
    wv = WordVectors.load(export)
    probes = [w for w in wv.words if w.isalpha()][:50]
    same = sum(
        [w for w, _ in kv.most_similar(p, topn=10)] == [w for w, _ in wv.most_similar(p, topn=10)] for p in probes
    )
    return {"probes": len(probes), "same": same, "vectors_equal": bool((kv.vectors == wv.vectors).all())}


def summarise(values: list[float]) -> tuple[float, float, float]:
    return statistics.fmean(values), min(values), max(values)


def fmt(values: list[float], spec: str, scale: float = 1.0) -> str:
    mean, low, high = summarise([v * scale for v in values])
    return f"{mean:{spec}} ({low:{spec}}-{high:{spec}})" if len(values) > 1 else f"{mean:{spec}}"


def report(store: dict, smoke: bool) -> str:
    import gensim

    runs = store["runs"]
    lines = [
        "## word2vec: WikiText-2 train, gensim's defaults, 2 threads (`bench/bench_word2vec.py`)",
        "",
        f"Machine: {store['machine']}. Date: {store['date']}. Load average at the start: {store['load']}. "
        f"gensim {gensim.__version__}. {store['seeds']} seeds each side, each training a fresh process, lmlab and "
        f"gensim in turn; mean (min-max). Words/s: corpus words of all epochs per second of training (gensim: "
        f"`train()`, lmlab: its epochs; the vocabulary pass is in the whole-run time).",
        "",
        "| model | words/s lmlab | words/s gensim | speed ratio | whole run s lmlab / gensim | analogy lmlab | "
        "analogy gensim | WS-353 lmlab / gensim | SimLex lmlab / gensim | targets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in MODES:
        ours = [r for r in runs if r["mode"] == mode and r["side"] == "lmlab"]
        theirs = [r for r in runs if r["mode"] == mode and r["side"] == "gensim"]
        if not ours or not theirs:
            continue
        ratio = statistics.fmean(r["words_per_s"] for r in ours) / statistics.fmean(r["words_per_s"] for r in theirs)
        gap = 100 * (statistics.fmean(r["analogy"] for r in ours) - statistics.fmean(r["analogy"] for r in theirs))
        sims = {}
        for name in ("WordSim-353", "SimLex-999"):
            a = [r["spearman"][name] for r in ours]
            b = [r["spearman"][name] for r in theirs]
            sims[name] = (fmt(a, ".3f") + " / " + fmt(b, ".3f"), statistics.fmean(a) - statistics.fmean(b))
        met = []
        if mode in ("sg", "cbow"):
            met.append(f"speed {'met' if ratio >= 1 else 'NOT met'}")
        met.append(f"analogy {gap:+.2f} pt {'met' if abs(gap) <= TARGET_ANALOGY_POINTS else 'NOT met'}")
        worst = max(abs(d) for _, d in sims.values())
        met.append(f"Spearman within {worst:.3f} {'met' if worst <= TARGET_SPEARMAN else 'NOT met'}")
        lines.append(
            f"| {mode} | {fmt([r['words_per_s'] for r in ours], ',.0f')} | "
            f"{fmt([r['words_per_s'] for r in theirs], ',.0f')} | {ratio:.2f} | "
            f"{statistics.fmean(r['wall_s'] for r in ours):.1f} / "
            f"{statistics.fmean(r['wall_s'] for r in theirs):.1f} | "
            f"{fmt([r['analogy'] for r in ours], '.2f', 100)}% | {fmt([r['analogy'] for r in theirs], '.2f', 100)}% | "
            f"{sims['WordSim-353'][0]} | {sims['SimLex-999'][0]} | {'; '.join(met)} |"
        )
    n = store.get("neighbours")
    if n:
        lines += [
            "",
            f"Exported vectors (binary) read by gensim: vectors equal: {n['vectors_equal']}; "
            f"`most_similar` top-10 lists equal for {n['same']} of {n['probes']} frequent words.",
        ]
    m = store.get("memory")
    if m:
        lines += [
            "",
            "| memory: peak RSS of the whole process | lmlab | gensim |",
            "|---|---|---|",
            f"| CBOW, {m['small_name']} ({m['small_mb']:.1f} MB), {m['small_epochs']} epoch(s) | "
            f"{m['lmlab_small']:,.0f} MB | {m['gensim_small']:,.0f} MB |",
            f"| CBOW, generated corpus ({m['large_mb']:,.0f} MB: WikiText-2's lines reshuffled), 1 epoch | "
            f"{m['lmlab_large']:,.0f} MB | {m['gensim_large']:,.0f} MB |",
        ]
    if smoke:
        lines.insert(0, "(smoke run: a small corpus, 1 epoch, 1 seed; not a measurement)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="seconds: a 300 kB corpus, 1 epoch, 1 seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-memory", action="store_true", help="leave out the 200 MB corpus")
    # the child's flags
    ap.add_argument("--child", choices=["lmlab", "gensim"], help=argparse.SUPPRESS, dest="side")
    ap.add_argument("--mode", choices=list(MODES), help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, default=5, help=argparse.SUPPRESS)
    ap.add_argument("--no-evaluate", dest="evaluate", action="store_false", help=argparse.SUPPRESS)
    ap.add_argument("--export", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        return child(args)

    modes = [m for m in args.modes.split(",") if m]
    train = data_dir() / "wikitext-2" / "train.txt"
    if not train.is_file():
        raise SystemExit(f"{train} not found; run `lmlab data fetch wikitext-2` or set LMLAB_DATA_DIR")
    seeds = 1 if args.smoke else args.seeds
    epochs = 1 if args.smoke else 5
    store = {
        "machine": machine(),
        "date": today(),
        "load": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "seeds": seeds,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-word2vec-") as tmp:
        tmp = Path(tmp)
        corpus = train
        if args.smoke:
            corpus = tmp / "small.txt"
            corpus.write_bytes(train.read_bytes()[:300_000].rsplit(b"\n", 1)[0] + b"\n")
        export = tmp / "lmlab.bin"
        for seed in range(1, seeds + 1):
            for mode in modes:
                for side in ("gensim", "lmlab") if seed % 2 else ("lmlab", "gensim"):
                    r = run_child(
                        side,
                        mode,
                        seed,
                        corpus,
                        epochs,
                        args.threads,
                        export=export if (side, mode, seed) == ("lmlab", "sg", 1) else None,
                    )
                    print(
                        f"{mode} seed {seed} {side}: {r['words_per_s']:,.0f} words/s, analogy {r['analogy']:.2%}, "
                        f"peak {r['peak_mb']:,.0f} MB",
                        flush=True,
                    )
                    store["runs"].append(r)
        if export.exists():
            store["neighbours"] = same_neighbours(export)
        if not args.skip_memory:
            size = 2 if args.smoke else GENERATED_MB
            large = generated_corpus(corpus, tmp, size)
            memory = {
                "small_mb": corpus.stat().st_size / 1e6,
                "small_epochs": epochs,
                "small_name": corpus.name,
                "large_mb": large.stat().st_size / 1e6,
            }
            for side in ("lmlab", "gensim"):
                small = [r["peak_mb"] for r in store["runs"] if r["side"] == side and r["mode"] == "cbow"]
                memory[f"{side}_small"] = max(small) if small else float("nan")
                memory[f"{side}_large"] = run_child(side, "cbow", 1, large, 1, args.threads, evaluate=False)["peak_mb"]
                print(
                    f"memory {side}: {memory[f'{side}_small']:,.0f} MB on {corpus.name}, "
                    f"{memory[f'{side}_large']:,.0f} MB on {memory['large_mb']:,.0f} MB",
                    flush=True,
                )
            store["memory"] = memory
    text = report(store, args.smoke)
    print()
    print(text)
    if not args.smoke:
        STORE.parent.mkdir(parents=True, exist_ok=True)
        STORE.write_text(json.dumps(store, indent=1) + "\n")
        update_section("bench_word2vec", text)


if __name__ == "__main__":
    main()
