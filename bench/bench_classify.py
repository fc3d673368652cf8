"""Text classification: SST-2 and MR accuracy of every model, and the engine's speed against a plain PyTorch loop.

Targets (issue 11):
* SST-2 test accuracy: ``textcnn`` (random embeddings) >= 82.7% trained on ``sst2-phrases`` (Kim's CNN-rand) and
  >= 81% on the sentences alone; the best lmlab model >= 85% on ``sst2-phrases``. Every model on both.
* MR, 10-fold cross-validation: ``textcnn`` >= 76.1% (Kim's CNN-rand); ``nb`` >= 78% (Wang & Manning's MNB
  with bigrams: 79.0).
* Speed: ``textcnn`` and ``attention`` training examples/s at least 1.0x a plain PyTorch loop of the same network
  on the same batches, measured interleaved: one update of lmlab's engine, then one of the plain loop, in turn.

    python bench/bench_classify.py --only speed            # a minute or two
    python bench/bench_classify.py --only sst2 --models textcnn,nb
    python bench/bench_classify.py --only mr               # 10 folds of textcnn and nb

Each part stores its figures in bench/out/classify.json and rewrites its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from results import Interleaved, machine, today, update_section  # noqa: E402

STORE = ROOT / "bench" / "out" / "classify.json"
MODELS = ("nb", "bow", "textcnn", "rnn", "attention", "transformer")


def load_store() -> dict:
    return json.loads(STORE.read_text()) if STORE.exists() else {}


def save_store(store: dict) -> None:
    """Write ``store`` merged into what is on disk (two parts of the benchmark may run at once, each adding its
    own entries)."""
    STORE.parent.mkdir(parents=True, exist_ok=True)
    current = load_store()
    for key, value in store.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict) and key != "speed":
            current[key].update(value)
        else:
            current[key] = value
    for key, value in current.items():  # keep the caller's dicts (it goes on filling them)
        if isinstance(value, dict) and isinstance(store.get(key), dict):
            store[key].update(value)
        else:
            store[key] = value
    tmp = STORE.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, indent=1) + "\n")
    os.replace(tmp, STORE)


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# ---- speed: lmlab's engine against a plain loop, one update each in turn
class PlainLoop:
    """The training loop a user writes by hand: the same network class, optimizer and batches as lmlab's run."""

    def __init__(self, task, cfg):
        from lmlab.classify.task import pad_batch
        from lmlab.train.optim import build_optimizer

        torch.manual_seed(1)
        self.task, self.pad_batch = task, pad_batch
        self.net = task.network_class(cfg).train()
        self.opt = build_optimizer([p for p in self.net.parameters() if p.requires_grad], cfg)
        self.clip = cfg.clip

    def step(self, step: int) -> None:
        index = self.task.batches.batch(step)
        x, mask = self.pad_batch([self.task.train_x[i] for i in index])
        y = torch.from_numpy(self.task.train_y[index])
        out = self.net(torch.from_numpy(x), torch.from_numpy(mask))
        loss = F.cross_entropy(out.logits, y)
        if out.penalty is not None:
            loss = loss + out.penalty
        self.opt.zero_grad()
        loss.backward()
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.clip)
        self.opt.step()
        self.net.constrain_()


def interleaved(model: str, steps: int, warmup: int = 5) -> dict:
    from lmlab.classify.data import load_classification_data
    from lmlab.classify.models import get_classifier
    from lmlab.classify.task import ClassificationTask, train_classifier
    from lmlab.tokenizers import WordTokenizer
    from lmlab.train_options import TrainOptions

    data = load_classification_data("sst2")
    data.valid.texts, data.valid.labels = data.valid.texts[:50], data.valid.labels[:50]  # the last step validates
    tok = WordTokenizer.train(data.train.texts)
    entry = get_classifier(model)
    values = {**entry.recipe, "max_steps": warmup + steps + 2, "log_every": 10, "device": "cpu", "epochs": 50}
    cfg = entry.train_config_class()(**values, **entry.data_values(tok.vocab_size, len(data.labels)))
    ref_task = ClassificationTask(cfg, data, tok)
    ref_task.prepare(Path(tempfile.gettempdir()), 0)  # the same seed as the run: the same batches
    ref = PlainLoop(ref_task, cfg)
    timing = Interleaved(ref.step, lambda step: len(ref_task.batches.batch(step)))

    with tempfile.TemporaryDirectory() as d:
        train_classifier(cfg, data, tok, TrainOptions(progress=False, seed=0), Path(d) / "run", callbacks=[timing])
    return timing.summary("examples", warmup, steps)


def bench_speed(store: dict, steps: int) -> None:
    load = load_average()
    out = {}
    for model in ("textcnn", "attention"):
        runs = [interleaved(model, steps) for _ in range(2)]
        for r in runs:
            print(
                f"speed {model}: lmlab {r['lmlab_examples_per_s']:.0f} ex/s, plain {r['plain_examples_per_s']:.0f} "
                f"ex/s, ratio {r['ratio']:.3f}",
                flush=True,
            )
        out[model] = {"runs": runs, "ratio_median": statistics.median(r["ratio"] for r in runs)}
    store["speed"] = {"models": out, "load_before": load, "machine": machine(), "date": today(), "steps": steps}


# ---- accuracy: whole runs through the command line, as a user runs them
def lmlab(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "lmlab", *args]
    print("$", " ".join(cmd[2:]), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return r


def bench_sst2(store: dict, models: list[str], datasets: list[str], extra: list[str]) -> None:
    runs = store.setdefault("sst2", {})
    for data in datasets:
        for model in models:
            out = ROOT / "bench" / "out" / f"classify-{data}-{model}"
            load = load_average()
            t0 = time.perf_counter()
            lmlab("train", "--task", "classify", "--model", model, "--data", data, "--out", str(out), *extra)
            wall = time.perf_counter() - t0
            r = json.loads(lmlab("eval", str(out), "--split", "test", "--json").stdout)
            cfg = json.loads((out / "config.json").read_text())
            runs[f"{data}/{model}"] = {
                "accuracy": r["accuracy"],
                "macro_f1": r["macro_f1"],
                "examples": r["examples"],
                "wall_s": wall,
                "epochs": cfg["stats"].get("epochs"),
                "best_step": cfg["stats"].get("best_step"),
                "best_val_accuracy": cfg["stats"].get("best_val_accuracy"),
                "load_before": load,
                "date": today(),
            }
            print(f"{data} {model}: test accuracy {r['accuracy']:.2%} ({wall:.0f} s)", flush=True)
            save_store(store)


def bench_mr(store: dict, models: list[str], folds: int, extra: list[str]) -> None:
    runs = store.setdefault("mr", {})
    for model in models:
        out = ROOT / "bench" / "out" / f"classify-mr-{model}"
        load = load_average()
        t0 = time.perf_counter()
        lmlab("train", "--task", "classify", "--model", model, "--data", "mr", "--folds", str(folds), "--out", str(out),
              *extra)  # fmt: skip
        wall = time.perf_counter() - t0
        cv = json.loads((out / "cv.json").read_text())
        runs[model] = {
            "accuracy_mean": cv["accuracy"]["mean"],
            "accuracy_std": cv["accuracy"]["std"],
            "folds": folds,
            "wall_s": wall,
            "load_before": load,
            "date": today(),
        }
        print(f"MR {model}: {cv['accuracy']['mean']:.2%} +- {cv['accuracy']['std']:.2%} ({wall:.0f} s)", flush=True)
        save_store(store)


TARGETS = {
    "sst2-phrases/textcnn": 0.827,
    "sst2/textcnn": 0.81,
}


def write_results(store: dict) -> None:
    lines = ["## Text classification: SST-2, MR, engine speed (`bench/bench_classify.py`)", ""]
    sst = store.get("sst2", {})
    if sst:
        lines += [
            "SST-2 test accuracy (1,821 sentences), each model trained by `lmlab train --task classify --model M "
            "--data D` with its default recipe, early stopping on the 872 dev sentences:",
            "",
            "| data | model | test accuracy | macro-F1 | target | wall s | epochs | machine load | date |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for key, r in sst.items():
            data, model = key.split("/")
            target = TARGETS.get(key)
            verdict = "" if target is None else f">= {target:.1%}: {'met' if r['accuracy'] >= target else 'MISSED'}"
            lines.append(
                f"| {data} | {model} | {r['accuracy']:.2%} | {r['macro_f1']:.4f} | {verdict} | {r['wall_s']:.0f} | "
                f"{r.get('epochs')} | {r['load_before']} | {r['date']} |"
            )
        best = (
            max((r["accuracy"], k) for k, r in sst.items() if k.startswith("sst2-phrases/"))
            if any(k.startswith("sst2-phrases/") for k in sst)
            else None
        )
        if best:
            lines += [
                "",
                f"Best on sst2-phrases: {best[1]} {best[0]:.2%} (target 85%: {'met' if best[0] >= 0.85 else 'MISSED'})",
            ]
        if store.get("sst2_note"):
            lines += ["", store["sst2_note"]]
        lines.append("")
    mr = store.get("mr", {})
    if mr:
        lines += ["MR (10,662 sentences), stratified 10-fold cross-validation (10% of each training fold held out for "
                  "early stopping):", "", "| model | accuracy mean | std | target | wall s | load | date |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        targets = {"textcnn": 0.761, "nb": 0.78}
        for model, r in mr.items():
            t = targets.get(model)
            verdict = "" if t is None else f">= {t:.1%}: {'met' if r['accuracy_mean'] >= t else 'MISSED'}"
            lines.append(
                f"| {model} | {r['accuracy_mean']:.2%} | {r['accuracy_std']:.2%} | {verdict} | {r['wall_s']:.0f} | "
                f"{r['load_before']} | {r['date']} |"
            )
        lines.append("")
    sp = store.get("speed")
    if sp:
        lines += [
            f"Engine speed on SST-2 sentences ({sp['machine']}; {sp['date']}; load before {sp['load_before']}): "
            f"lmlab's engine and a plain PyTorch loop (same network class, optimizer and batches) take one update "
            f"each in turn, {sp['steps']} measured updates per run, two runs per model:",
            "",
            "| model | lmlab examples/s | plain loop examples/s | ratio (target >= 1.0) | step ms lmlab / plain |",
            "|---|---|---|---|---|",
        ]
        for model, m in sp["models"].items():
            for r in m["runs"]:
                lines.append(
                    f"| {model} | {r['lmlab_examples_per_s']:.0f} | {r['plain_examples_per_s']:.0f} | "
                    f"{r['ratio']:.3f} | {r['step_ms_lmlab_median']:.1f} / {r['step_ms_plain_median']:.1f} |"
                )
        lines.append("")
    update_section("classify", "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["speed", "sst2", "mr", "report"], required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--datasets", default="sst2,sst2-phrases")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--extra", default="", help="more flags for lmlab train, e.g. '--max-seconds 600'")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    os.environ["LMLAB_THREADS"] = str(torch.get_num_threads())  # the engine on the reference's count
    store = load_store()
    extra = args.extra.split()
    if args.only == "speed":
        bench_speed(store, args.steps)
    elif args.only == "sst2":
        bench_sst2(store, args.models.split(","), args.datasets.split(","), extra)
    elif args.only == "mr":
        bench_mr(store, args.models.split(","), args.folds, extra)
    save_store(store)
    write_results(load_store())


if __name__ == "__main__":
    main()
