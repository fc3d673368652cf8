"""Image classification on MNIST: every model's test accuracy, parameters and wall time, and the engine's speed
against a plain PyTorch loop.

Targets (issue 15):
* With 8,000 training images (the 10,000 test images split 8,000 / 1,000 / 1,000 by a stratified shuffle, as
  ``--data mnist`` does without the training images): ``lenet5`` >= 97.5% on the held-out images; the best lmlab
  model (augmentation allowed) >= 98.5%. Every model reported with its parameters and wall time. Reference
  measured when the issue was filed (2026-11-30): LeNet-5 on 8,000 shuffled test images, 97.65% on 2,000 held out
  in 191 s; an MLP with 3,750 to 15,000 training images 92.7% to 96.1%.
* With the 60,000 training images (only when present in the data directory): ``lenet5`` >= 99.0% (LeCun et al.
  1998: 0.95% error).
* Speed: training images/s of ``lenet5`` and ``vgg`` at least 1.0x a plain PyTorch loop of the same network on the
  same batches, measured interleaved: one update of lmlab's engine, then one of the plain loop, in turn.

    python bench/bench_vision.py --only speed
    python bench/bench_vision.py --only accuracy --models lenet5,lenet5-aug
    python bench/bench_vision.py --smoke                   # a few steps of each part, seconds; writes nothing

Each part stores its figures in bench/out/vision.json and rewrites its section of bench/RESULTS.md.
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

STORE = ROOT / "bench" / "out" / "vision.json"
#: name -> (family, extra flags): every family with its recipe, and the augmented runs for the 98.5% target
RUNS: dict[str, tuple[str, list[str]]] = {
    "mlp": ("mlp", []),
    "lenet5": ("lenet5", []),
    "alexnet": ("alexnet", []),
    "vgg": ("vgg", []),
    "vgg-bn": ("vgg", ["--batch-norm"]),
    "resnet": ("resnet", []),
    "vit": ("vit", []),
    "lenet5-aug": ("lenet5", ["--shift", "2", "--rotate", "10", "--epochs", "40"]),
    "resnet-aug": ("resnet", ["--shift", "2", "--rotate", "10", "--epochs", "30"]),
}
TARGET_LENET = 0.975
TARGET_BEST = 0.985
TARGET_FULL = 0.99


def load_store(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_store(store: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(store, indent=1) + "\n")


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# ---- speed: lmlab's engine against a plain loop, one update each in turn
class PlainLoop:
    """The loop a user writes by hand: the same network class, optimizer, batches and preprocessing."""

    def __init__(self, task, cfg):
        from lmlab.train.optim import build_optimizer

        torch.manual_seed(1)
        self.task = task
        self.net = task.network_class(cfg).train()
        self.opt = build_optimizer([p for p in self.net.parameters() if p.requires_grad], cfg)
        mean, std = task.preprocess.mean, task.preprocess.std
        self.mean = torch.tensor(mean).view(1, -1, 1, 1)
        self.std = torch.tensor(std).view(1, -1, 1, 1)

    def step(self, step: int) -> None:
        index = torch.from_numpy(self.task.batches.batch(step))
        x = (self.task.train_x[index].float() / 255 - self.mean) / self.std
        loss = F.cross_entropy(self.net(x), self.task.train_y[index])
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


def interleaved(model: str, steps: int, warmup: int = 5) -> dict:
    from lmlab.train_options import TrainOptions
    from lmlab.vision.data import load_image_data
    from lmlab.vision.models import get_image_model
    from lmlab.vision.task import ImageClassificationTask, train_image_classifier

    data = load_image_data("mnist")
    data.valid = data.valid.subset(torch.arange(50).numpy())  # the last step validates: keep it short
    entry = get_image_model(model)
    values = {**entry.recipe, "max_steps": warmup + steps + 2, "log_every": 10, "device": "cpu", "epochs": 50}
    cfg = entry.train_config_class()(**values, **entry.data_values(1, 28, len(data.classes)))
    ref_task = ImageClassificationTask(cfg, data)
    ref_task.prepare(Path(tempfile.gettempdir()), 0)  # the run's seed: the same batches
    ref = PlainLoop(ref_task, cfg)
    timing = Interleaved(ref.step, lambda step: len(ref_task.batches.batch(step)))

    with tempfile.TemporaryDirectory() as d:
        opts = TrainOptions(progress=False, seed=0)
        train_image_classifier(cfg, data, opts, Path(d) / "run", callbacks=[timing])
    return {**timing.summary("images", warmup, steps)}


def bench_speed(store: dict, steps: int, models: list[str], runs: int) -> None:
    load = load_average()
    out = {}
    for model in models:
        results = [interleaved(model, steps) for _ in range(runs)]
        for r in results:
            print(f"speed {model}: lmlab {r['lmlab_images_per_s']:.0f} img/s, plain {r['plain_images_per_s']:.0f} "
                  f"img/s, ratio {r['ratio']:.3f}", flush=True)  # fmt: skip
        out[model] = {"runs": results, "ratio_median": statistics.median(r["ratio"] for r in results)}
    store["speed"] = {"models": out, "load_before": load, "machine": machine(), "date": today(), "steps": steps}


# ---- accuracy: whole runs through the command line, as a user runs them
def lmlab(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "lmlab", *args]
    print("$", " ".join(cmd[2:]), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return r


def bench_accuracy(store: dict, names: list[str], extra: list[str], out_root: Path, save: bool = True) -> None:
    runs = store.setdefault("accuracy", {})
    for name in names:
        family, flags = RUNS[name]
        out = out_root / f"image-{name}"
        load = load_average()
        t0 = time.perf_counter()
        lmlab("train", "--task", "image", "--model", family, "--data", "mnist", "--out", str(out), *flags, *extra)
        wall = time.perf_counter() - t0
        test = json.loads(lmlab("eval", str(out), "--split", "test", "--json").stdout)
        valid = json.loads(lmlab("eval", str(out), "--split", "valid", "--json").stdout)
        cfg = json.loads((out / "config.json").read_text())
        held_out = (test["accuracy"] * test["examples"] + valid["accuracy"] * valid["examples"]) / (
            test["examples"] + valid["examples"]
        )
        runs[name] = {
            "family": family,
            "flags": " ".join(flags + extra),
            "test_accuracy": test["accuracy"],
            "test_examples": test["examples"],
            "held_out_accuracy": held_out,
            "held_out_examples": test["examples"] + valid["examples"],
            "train_images": cfg["data"]["sizes"]["train"],
            "layout": cfg["data"]["layout"],
            "parameters": cfg["stats"]["parameters"],
            "wall_s": wall,
            "train_s": cfg["stats"].get("train_seconds"),
            "epochs": cfg["stats"].get("epochs"),
            "load_before": load,
            "date": today(),
        }
        print(f"{name}: test {test['accuracy']:.2%}, held out {held_out:.2%} ({wall:.0f} s)", flush=True)
        if save:
            save_store(store, STORE)


def section(store: dict) -> str:
    lines = ["## Image classification: MNIST, engine speed (`bench/bench_vision.py`)", ""]
    acc = store.get("accuracy", {})
    if acc:
        layouts = {r["layout"] for r in acc.values()}
        lines += [
            "Each model trained by `lmlab train --task image --model M --data mnist` with its recipe (flags shown), "
            "the best epoch by validation accuracy kept. Without the 60,000 training images (layout "
            "`mnist-split-test`) the 10,000 test images are split 8,000 / 1,000 / 1,000 (stratified, seed 0): "
            '"test" is the 1,000 test images, "held out" the 2,000 valid + test images (the reference\'s measure; '
            "the valid half also chose the epoch). Reference (issue 15, 2026-11-30): LeNet-5 97.65% on 2,000 held "
            f"out in 191 s. Layout(s): {', '.join(sorted(layouts))}.",
            "",
            "| run | flags | train images | test acc | held-out acc | parameters | wall s | epochs | load | date |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in acc.items():
            lines.append(
                f"| {name} | {r['flags'] or '(recipe)'} | {r['train_images']:,} | {r['test_accuracy']:.2%} | "
                f"{r['held_out_accuracy']:.2%} | {r['parameters']:,} | {r['wall_s']:.0f} | {r['epochs']} | "
                f"{r['load_before']} | {r['date']} |"
            )
        lines.append("")
        split = {k: r for k, r in acc.items() if r["layout"].endswith("split-test")}
        full = {k: r for k, r in acc.items() if r["layout"].endswith("official")}
        if split:
            if "lenet5" in split:
                a = split["lenet5"]["held_out_accuracy"]
                lines.append(f"- lenet5 with 8,000 training images: {a:.2%} held out (target >= {TARGET_LENET:.1%}: "
                             f"{'met' if a >= TARGET_LENET else 'MISSED'})")  # fmt: skip
            best = max(split, key=lambda k: split[k]["held_out_accuracy"])
            a = split[best]["held_out_accuracy"]
            lines.append(f"- best with 8,000 training images: {best} {a:.2%} (target >= {TARGET_BEST:.1%}: "
                         f"{'met' if a >= TARGET_BEST else 'MISSED'})")  # fmt: skip
        if "lenet5" in full:
            a = full["lenet5"]["test_accuracy"]
            lines.append(f"- lenet5 with the 60,000 training images: {a:.2%} on the 10,000 test images (target >= "
                         f"{TARGET_FULL:.1%}: {'met' if a >= TARGET_FULL else 'MISSED'})")  # fmt: skip
        else:
            lines.append("- lenet5 with the 60,000 training images: not measured (the training images are not in the "
                         "data directory; `lmlab data fetch mnist` downloads them)")  # fmt: skip
        lines.append("")
    sp = store.get("speed")
    if sp:
        lines += [
            f"Engine speed on MNIST ({sp['machine']}; {sp['date']}; load before {sp['load_before']}): lmlab's engine "
            f"and a plain PyTorch loop (same network class, optimizer, batches and preprocessing) take one update "
            f"each in turn, {sp['steps']} measured updates per run:",
            "",
            "| model | lmlab images/s | plain loop images/s | ratio (target >= 1.0) | step ms lmlab / plain |",
            "|---|---|---|---|---|",
        ]
        for model, m in sp["models"].items():
            for r in m["runs"]:
                lines.append(
                    f"| {model} | {r['lmlab_images_per_s']:.0f} | {r['plain_images_per_s']:.0f} | {r['ratio']:.3f} | "
                    f"{r['step_ms_lmlab_median']:.1f} / {r['step_ms_plain_median']:.1f} |"
                )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["speed", "accuracy", "report"])
    ap.add_argument("--smoke", action="store_true", help="a few steps of each part; prints the section, writes nothing")
    ap.add_argument("--models", default=",".join(RUNS), help=f"runs for --only accuracy: {', '.join(RUNS)}")
    ap.add_argument("--speed-models", default="lenet5,vgg")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--extra", default="", help="more flags for lmlab train, e.g. '--max-seconds 600'")
    args = ap.parse_args()
    if not args.smoke and not args.only:
        ap.error("give --only speed|accuracy|report, or --smoke")
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    os.environ["LMLAB_THREADS"] = str(torch.get_num_threads())  # the engine on the reference's count
    if args.smoke:
        store: dict = {}
        bench_speed(store, 3, ["lenet5"], runs=1)
        with tempfile.TemporaryDirectory() as d:
            bench_accuracy(store, ["mlp"], ["--max-steps", "20", *args.extra.split()], Path(d), save=False)
        print(section(store))
        return
    store = load_store(STORE)
    unknown = [m for m in args.models.split(",") if m not in RUNS]
    if unknown:
        ap.error(f"unknown runs {unknown}; choose from {', '.join(RUNS)}")
    if args.only == "speed":
        bench_speed(store, args.steps, args.speed_models.split(","), runs=2)
    elif args.only == "accuracy":
        bench_accuracy(store, args.models.split(","), args.extra.split(), ROOT / "bench" / "out")
    save_store(store, STORE)
    update_section("vision", section(store))


if __name__ == "__main__":
    main()
