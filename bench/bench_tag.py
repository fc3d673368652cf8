"""Sequence labelling: UPOS accuracy on UD English GUM's test split for every tag model (issue 27, part 1).

The most-frequent-tag baseline is computed here (``lmlab.tag.models.hmm.most_frequent_tags``); every model is trained
with ``lmlab train --task tag --model M --data ud-english-gum`` (default hyperparameters, seed 0, the neural ones
for ``--max-seconds`` each, the window network for its 20 default epochs) and scored with ``lmlab eval RUN --split
test --json``. One CPU thread (``OMP_NUM_THREADS=1``), as the figures of the README were measured.

    python bench/bench_tag.py                               # every model: about 20 minutes
    python bench/bench_tag.py --models hmm,bilstm --seconds 300
    python bench/bench_tag.py --speed                       # the engine against a plain loop: a few minutes

Figures are stored in bench/out/tag.json and written into the bench_tag section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import Interleaved, machine, today, update_section  # noqa: E402

STORE = ROOT / "bench" / "out" / "tag.json"
MODELS = ("hmm", "window", "bilstm", "bilstm-crf", "transformer")
TIMED = ("bilstm", "bilstm-crf", "transformer")  # trained for --max-seconds; window runs its default 20 epochs


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def lmlab(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "lmlab", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"lmlab {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def most_frequent_tag_accuracy() -> float:
    from lmlab.tag.data import load_tagging_data
    from lmlab.tag.models.hmm import most_frequent_tags

    data = load_tagging_data("ud-english-gum")
    guessed = most_frequent_tags(data.train, data.test.words)
    pairs = [(g, t) for gs, ts in zip(guessed, data.test.tags) for g, t in zip(gs, ts)]
    return 100.0 * sum(g == t for g, t in pairs) / len(pairs)


def run_model(model: str, seconds: float, tmp: Path) -> dict:
    run = tmp / model
    flags = ["--task", "tag", "--model", model, "--data", "ud-english-gum", "--out", str(run)]
    if model in TIMED:
        flags += ["--max-seconds", str(seconds)]
    before, t0 = load(), time.perf_counter()
    lmlab("train", *flags)
    wall = time.perf_counter() - t0
    result = json.loads(lmlab("eval", str(run), "--split", "test", "--json"))
    stats = json.loads((run / "config.json").read_text()).get("stats", {})
    return {
        "accuracy": 100.0 * result["accuracy"] if result["accuracy"] <= 1 else result["accuracy"],
        "oov_accuracy": result.get("oov_accuracy"),
        "epochs": stats.get("epochs"),
        "train_seconds": wall,
        "load": f"{before} -> {load()}",
    }


def write_section(store: dict) -> None:
    lines = [
        "## Sequence labelling: UPOS on UD English GUM (`bench/bench_tag.py`)",
        "",
        f"Machine: {store['machine']}. Date: {store['date']}. One CPU thread (`OMP_NUM_THREADS=1`); load averages "
        "at the start and end of each run. Test split: 28,397 words; default hyperparameters, seed 0, the weights "
        "of the best dev accuracy kept.",
        "",
        "| model | training | test accuracy | unknown words | target |",
        "|---|---|---|---|---|",
        f"| most frequent tag | counting | {store['mft']:.2f}% | - | 88.75% (the issue's figure) |",
    ]
    for model, r in store["models"].items():
        epochs = f", {r['epochs']:.1f} epochs" if isinstance(r.get("epochs"), (int, float)) else ""
        oov = r.get("oov_accuracy")
        oov_text = "-" if oov is None else f"{100 * oov if oov <= 1 else oov:.2f}%"
        target = ">= 94.5% within 10 minutes" if model == "bilstm" else "reported"
        lines.append(
            f"| `{model}` | {r['train_seconds']:.0f} s{epochs}, load {r['load']} | {r['accuracy']:.2f}% | {oov_text} "
            f"| {target} |"
        )
    update_section("bench_tag", "\n".join(lines))


# ---- speed: lmlab's engine against a plain PyTorch loop, one update each in turn (as bench_classify.py)
class PlainLoop:
    """The training loop a user writes by hand: the same network class, optimizer, batches and singleton
    replacement as lmlab's run."""

    def __init__(self, task, cfg):
        import torch

        from lmlab.train.optim import build_optimizer

        torch.manual_seed(1)
        self.task, self.cfg = task, cfg
        self.net = task.network_class(cfg).train()
        self.opt = build_optimizer([p for p in self.net.parameters() if p.requires_grad], cfg)

    def step(self, step: int) -> None:
        import numpy as np
        import torch

        from lmlab.tag.task import to_batch
        from lmlab.tag.vocab import UNK

        arrays, tags = self.task.train_enc.arrays(self.task.batches.batch(step))
        if self.cfg.unk_replace > 0:
            rng = np.random.default_rng((self.task.seed, step, 1))
            words = arrays["words"]
            drop = self.task.singletons[words] & (rng.random(words.shape) < self.cfg.unk_replace)
            arrays["words"] = np.where(drop, UNK, words)
        out = self.net(to_batch(arrays, torch.device("cpu")), torch.from_numpy(tags))
        self.opt.zero_grad()
        out.loss.backward()
        if self.cfg.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg.clip)
        self.opt.step()


def interleaved(model: str, steps: int, warmup: int = 5) -> dict:
    """Tokens per second of lmlab's engine and of :class:`PlainLoop` on the same GUM batches, interleaved."""

    import torch

    from lmlab.tag.data import load_tagging_data
    from lmlab.tag.models import get_tagger
    from lmlab.tag.task import TaggingTask, train_tagger
    from lmlab.tag.vocab import Vocabulary
    from lmlab.train_options import TrainOptions

    torch.set_num_threads(1)
    os.environ["LMLAB_THREADS"] = "1"  # the engine on the reference's count: no probing inside the window
    data = load_tagging_data("ud-english-gum", column="upos", encoding_errors="strict", seed=0)
    vocab = Vocabulary.build(data.train.words)
    entry = get_tagger(model)
    values = {**entry.recipe, "max_steps": warmup + steps + 2, "log_every": 10, "device": "cpu", "epochs": 50}
    cfg = entry.train_config_class()(**values, **entry.data_values(vocab.size, vocab.char_size, len(data.tags)))
    ref_task = TaggingTask(cfg, data, vocab)
    ref_task.prepare(Path(tempfile.gettempdir()), 0)  # the same seed as the run: the same batches
    ref = PlainLoop(ref_task, cfg)
    timing = Interleaved(ref.step, lambda step: int(ref_task.train_enc.lengths[ref_task.batches.batch(step)].sum()))

    with tempfile.TemporaryDirectory() as d:
        train_tagger(cfg, data, vocab, TrainOptions(progress=False, seed=0), Path(d) / "run", callbacks=[timing])
    return {**timing.summary("tokens", warmup, steps), "load": load()}


def write_speed_section(speed: dict) -> None:
    lines = [
        "## Sequence labelling: the engine against a plain PyTorch loop (`bench/bench_tag.py --speed`)",
        "",
        f"Machine: {machine()}. Date: {today()}. One thread. UD English GUM batches, the family's default recipe; "
        "one update of lmlab's engine (its batching, schedule, clipping and logging included), then one of a "
        "hand-written loop over the same network class, optimizer and batches, in turn.",
        "",
        "| model | lmlab tokens/s | plain loop tokens/s | ratio | median step (lmlab / plain) | load at the end "
        "| target |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, r in speed.items():
        verdict = "met" if r["ratio"] >= 1.0 else f"missed ({r['ratio']:.2f}x)"
        lines.append(
            f"| `{model}` | {r['lmlab_tokens_per_s']:,.0f} | {r['plain_tokens_per_s']:,.0f} | {r['ratio']:.3f} | "
            f"{r['step_ms_lmlab_median']:.1f} / {r['step_ms_plain_median']:.1f} ms | {r['load']} | >= 1.0: {verdict} |"
        )
    update_section("bench_tag_speed", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--seconds", type=float, default=300.0, help="--max-seconds of the neural models (300)")
    parser.add_argument("--speed", action="store_true", help="only the engine against a plain loop (bilstm, -crf)")
    parser.add_argument("--steps", type=int, default=40, help="--speed: measured updates per model (40)")
    args = parser.parse_args()
    if args.speed:
        speed = {}
        for model in ("bilstm", "bilstm-crf"):
            speed[model] = interleaved(model, args.steps)
            print(model, json.dumps(speed[model]), flush=True)
        write_speed_section(speed)
        return
    models = args.models.split(",")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise SystemExit(f"unknown models: {', '.join(unknown)}")
    store = {"machine": machine(), "date": today(), "mft": most_frequent_tag_accuracy(), "models": {}}
    print(f"most frequent tag: {store['mft']:.2f}%", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            store["models"][model] = run_model(model, args.seconds, Path(tmp))
            print(f"{model}: {store['models'][model]['accuracy']:.2f}%", flush=True)
    STORE.parent.mkdir(parents=True, exist_ok=True)
    STORE.write_text(json.dumps(store, indent=1))
    write_section(store)


if __name__ == "__main__":
    main()
