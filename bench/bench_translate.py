"""Machine translation on Multi30k (de->en): the baselines' BLEU, beam search, perplexity, wall time and speed.

Targets (issue 13), on test_2016_flickr (1,000 sentences):
* greedy decoding, as the anchors (bentrevett's pytorch-seq2seq notebooks, 10 epochs): seq2seq LSTM (Sutskever)
  >= 13.8, seq2seq GRU with the context at every step (Cho) >= 20.6, bahdanau >= 28.3, transformer (3 + 3 layers,
  d 256) >= 36.5 "anchor BLEU";
* beam 5: bahdanau >= 30 and transformer >= 38 anchor BLEU, sacreBLEU beside them;
* perplexity (teacher-forced, target tokens with </s>), wall time on this machine for each model;
* training speed: target tokens/s at least 1.0x a plain PyTorch loop of the same network and batches, measured
  interleaved (one update of lmlab's engine, then one of the plain loop, in turn); beam-5 decoding speed in
  sentences/s beside greedy.

"Anchor BLEU" is the anchors' own measure: hypotheses and references tokenized by spaCy's English tokenizer
(``spacy.blank("en")``, which reproduces theirs offline: 13,058 reference tokens) and lowercased, corpus BLEU-4 on
those tokens (sacreBLEU with ``tokenize="none"``). It needs spaCy, a bench extra (``pip install 'lmlab[bench]'``),
never a runtime dependency. sacreBLEU is what ``lmlab eval`` reports: detokenized, cased output against the raw
references, with its signature. The two are never mixed: a perfect translation in the anchors' format scores only
87.9 sacreBLEU.

    python bench/bench_translate.py --only anchors --models transformer   # hours on 2 CPU cores; resumable
    python bench/bench_translate.py --only speed                           # a few minutes
    python bench/bench_translate.py --only report                          # rewrite the section from the store
    python bench/bench_translate.py --smoke                                # every part on a tiny slice, seconds

Trainings run in bench/out/translate-MODEL with checkpoints: run the command again (or in the background) and a
stopped training resumes where it stopped. Each part stores its figures in bench/out/translate.json and rewrites
its section of bench/RESULTS.md; --smoke prints the section instead and writes nothing there.
"""

from __future__ import annotations

import argparse
import fcntl
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
from results import machine, today, update_section  # noqa: E402

STORE = ROOT / "bench" / "out" / "translate.json"
COMMON = ["--src", "de", "--tgt", "en", "--epochs", "10", "--device", "cpu"]
#: name: (family, flags, the anchor's greedy BLEU, the greedy target, the beam-5 target)
RECIPES = {
    "seq2seq-lstm": ("seq2seq", ["--preset", "multi30k-seq2seq"], 13.76, 13.8, None),
    "seq2seq-gru": ("seq2seq", ["--preset", "multi30k-cho"], 20.61, 20.6, None),
    "bahdanau": ("bahdanau", ["--preset", "multi30k-bahdanau"], 28.30, 28.3, 30.0),
    "transformer": ("transformer", ["--preset", "multi30k-baseline"], 36.52, 36.5, 38.0),
}
#: --smoke: the same recipes at toy sizes
SMOKE_FLAGS = {
    "seq2seq": ["--d-embed", "16", "--d-hidden", "16"],
    "bahdanau": ["--d-embed", "16", "--d-hidden", "16", "--d-attention", "16"],
    "transformer": ["--d-model", "32", "--d-ff", "64", "--n-head", "2", "--n-encoder-layer", "1",
                    "--n-decoder-layer", "1"],
}  # fmt: skip


def load_store(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_store(store: dict, path: Path) -> None:
    """Merge into what is on disk (another call may have stored other models meanwhile), then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # read, merge and rename as one step: calls side by side lose nothing
        _merge_into(store, path)


def _merge_into(store: dict, path: Path) -> None:
    on_disk = load_store(path)
    merged = {**on_disk, **store}
    for key in ("anchors", "conditions"):  # one entry per model: each call's own models replace only theirs
        merged[key] = {**on_disk.get(key, {}), **store.get(key, {})}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(merged, indent=1) + "\n")
    tmp.replace(path)
    store.update(merged)


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# ---- the anchors' measure
def spacy_tokenizer():
    """spaCy's English tokenizer (the anchors'), or None when spaCy is not installed."""
    try:
        import spacy
    except ImportError:
        return None
    return spacy.blank("en").tokenizer


def anchor_tokens(tokenizer, line: str) -> str:
    """A line as the anchors score it: spaCy's tokens, lowercased, joined by spaces."""
    return " ".join(t.text.lower() for t in tokenizer(line))


def anchor_bleu(hypotheses: list[str], references: list[str], tokenizer) -> float | None:
    if tokenizer is None:
        return None
    from lmlab.translate.metrics import corpus_bleu

    hyps = [anchor_tokens(tokenizer, h) for h in hypotheses]
    refs = [anchor_tokens(tokenizer, r) for r in references]
    return corpus_bleu(hyps, refs, tokenize="none")


# ---- whole runs through the command line, as a user runs them
def lmlab(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "lmlab", *args]
    print("$", " ".join(cmd[2:]), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return r


def train_or_resume(name: str, data: str, out: Path, extra: list[str]) -> None:
    """Train the recipe into ``out``, or resume it there if a checkpoint says it stopped before its end."""
    family, flags, *_ = RECIPES[name]
    config = out / "config.json"
    if config.exists():
        status = json.loads(config.read_text()).get("stats", {}).get("status")
        if status in ("completed", "stopped early", "stopped at --max-seconds"):
            print(f"{name}: {out} is complete ({status})", flush=True)
            return
        if (out / "checkpoints").is_dir():
            resumable = [x for k in range(0, len(extra) - 1, 2) if extra[k] in ("--max-seconds", "--device")
                         for x in extra[k : k + 2]]  # fmt: skip
            lmlab("train", "--resume", str(out), *resumable)
            return
    lmlab("train", "--task", "translate", "--model", family, "--data", data, *COMMON, *flags, *extra, "--out", str(out))


def decode_and_score(translator, test, beam: int, tokenizer) -> dict:
    """BLEU both ways, the teacher-forced perplexity, and the search's speed on the test split."""
    from lmlab.translate.metrics import corpus_scores, perplexity
    from lmlab.translate.task import truncate
    from lmlab.translate.vocab import encode_sentences

    srcs, _ = translator.encode_sources(test.src)
    t0 = time.perf_counter()
    hyps = translator.search(srcs, translator.cfg.decode_config(beam=beam))
    search_s = time.perf_counter() - t0
    outputs = [translator.detokenize(h[0]) for h in hyps]
    scores = corpus_scores(outputs, test.tgt)
    tgts, _ = truncate(encode_sentences(translator.vocabs.tgt, test.tgt), translator.cfg.max_len)
    nll, tokens = translator.nll(srcs, tgts)
    return {
        "sacrebleu": scores.bleu,
        "chrf": scores.chrf,
        "signature": scores.bleu_signature,
        "anchor_bleu": anchor_bleu(outputs, test.tgt, tokenizer),
        "perplexity": perplexity(nll, tokens),
        "sentences_per_s": len(test) / search_s,
        "examples": outputs[:3],
    }


def bench_anchors(
    store: dict, names: list[str], data: str, out_root: Path, extra: list[str], tokenizer, save=None
) -> None:
    """Train (or resume) and score each recipe; ``save(store)`` after each one, so a finished model is never lost."""
    from lmlab.translate.data import load_parallel_data
    from lmlab.translate.task import load_translator

    test = load_parallel_data(data, "de", "en").test
    if tokenizer is not None:
        store["reference_tokens"] = sum(len(anchor_tokens(tokenizer, r).split()) for r in test.tgt)
    runs = store.setdefault("anchors", {})
    for name in names:
        out = out_root / f"translate-{name}"
        load = load_average()
        t0 = time.perf_counter()
        train_or_resume(name, data, out, extra)
        wall = time.perf_counter() - t0
        translator, cfg = load_translator(out)
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
        stats = cfg["stats"]
        runs[name] = {
            "greedy": decode_and_score(translator, test, 1, tokenizer),
            "beam5": decode_and_score(translator, test, 5, tokenizer),
            "train_seconds": stats.get("train_seconds"),
            "wall_s_this_call": wall,
            "epochs": stats.get("epochs"),
            "status": stats.get("status"),
            "parameters": stats.get("parameters"),
            "best_val_bleu": stats.get("best_val_bleu"),
            "load_before": load,
            "machine": machine(),
            "date": today(),
        }
        g, b = runs[name]["greedy"], runs[name]["beam5"]
        print(
            f"{name}: anchor BLEU greedy {_fmt(g['anchor_bleu'])}, beam 5 {_fmt(b['anchor_bleu'])}; sacreBLEU greedy "
            f"{g['sacrebleu']:.2f}, beam 5 {b['sacrebleu']:.2f}; perplexity {g['perplexity']:.2f}",
            flush=True,
        )
        if save is not None:
            save(store)


# ---- speed: lmlab's engine against a plain loop, one update each in turn
class PlainLoop:
    """The training loop a user writes by hand: the same network class, optimizer and batches as lmlab's run."""

    def __init__(self, task, cfg):
        from lmlab.train.optim import build_optimizer
        from lmlab.translate.batching import pad_batch

        torch.manual_seed(1)
        self.task, self.pad = task, pad_batch
        self.net = task.network_class(cfg).train()
        self.opt = build_optimizer([p for p in self.net.parameters() if p.requires_grad], cfg)
        self.clip, self.bos = cfg.clip, cfg.bos_id
        self.smoothing = getattr(cfg, "label_smoothing", 0.0)

    def step(self, step: int) -> int:
        index = self.task.batches.batch(step)
        tgts = [self.task.train_tgt[i] for i in index]
        src = torch.from_numpy(self.pad([self.task.train_src[i] for i in index]))
        tgt_in = torch.from_numpy(self.pad([t[:-1] for t in tgts], prefix=self.bos))
        tgt_out = torch.from_numpy(self.pad(tgts))
        logits = self.net(src, src != 0, tgt_in).logits
        loss = F.cross_entropy(  # the same loss as the run's: label smoothing, padding ignored
            logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=0, label_smoothing=self.smoothing
        )
        self.opt.zero_grad()
        loss.backward()
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.clip)
        self.opt.step()
        return sum(t.size for t in tgts)


def interleaved(family: str, flags: list[str], data, vocabs, steps: int, warmup: int = 3) -> dict:
    from lmlab.cli.config_args import add_config_flags, build_config
    from lmlab.train_options import TrainOptions
    from lmlab.translate.models import get_translator
    from lmlab.translate.task import TranslationTask, train_translator

    entry = get_translator(family)
    cls = entry.train_config_class()
    parser = argparse.ArgumentParser()
    add_config_flags(parser, cls, family, exclude=entry.data_fields)
    fixed = {"src_vocab_size": vocabs.src_size, "tgt_vocab_size": vocabs.tgt_size,
             "bos_id": vocabs.tgt.bos_id + 1, "eos_id": vocabs.tgt.eos_id + 1}  # fmt: skip
    values = {**entry.recipe, "max_steps": warmup + steps + 1, "log_every": 10, "device": "cpu", "epochs": 50,
              "val_bleu": False, "main_metric": "loss"}  # fmt: skip
    cfg = build_config(cls, parser.parse_args(flags), preset=values, fixed=fixed)
    with tempfile.TemporaryDirectory() as d:
        ref_task = TranslationTask(cfg, data, vocabs)
        ref_task.prepare(Path(d), 0)  # the same seed as the run: the same batches
        ref = PlainLoop(ref_task, cfg)
        marks: list[tuple[float, float]] = []
        sizes: list[int] = []

        def callback(step, trainer):
            t0 = time.perf_counter()
            sizes.append(ref.step(step - 1))  # the batch lmlab's engine has just trained on
            marks.append((t0, time.perf_counter()))

        train_translator(cfg, data, vocabs, TrainOptions(progress=False, seed=0), Path(d) / "run", callbacks=[callback])
    ours = [marks[k][0] - marks[k - 1][1] for k in range(warmup + 1, warmup + steps + 1)]
    theirs = [marks[k][1] - marks[k][0] for k in range(warmup + 1, warmup + steps + 1)]
    tokens = sum(sizes[warmup + 1 : warmup + steps + 1])
    return {
        "lmlab_tokens_per_s": tokens / sum(ours),
        "plain_tokens_per_s": tokens / sum(theirs),
        "ratio": sum(theirs) / sum(ours),
        "step_ms_lmlab_median": 1000 * statistics.median(ours),
        "step_ms_plain_median": 1000 * statistics.median(theirs),
        "steps": len(ours),
    }


def bench_speed(store: dict, data, vocabs, steps: int, smoke: bool) -> None:
    load = load_average()
    out = {}
    for family in ("transformer", "bahdanau"):
        flags = SMOKE_FLAGS[family] if smoke else []
        runs = [interleaved(family, flags, data, vocabs, steps) for _ in range(1 if smoke else 2)]
        for r in runs:
            print(f"speed {family}: lmlab {r['lmlab_tokens_per_s']:.0f} tok/s, plain {r['plain_tokens_per_s']:.0f} "
                  f"tok/s, ratio {r['ratio']:.3f}", flush=True)  # fmt: skip
        out[family] = {"runs": runs, "ratio_median": statistics.median(r["ratio"] for r in runs)}
    store["speed"] = {"models": out, "load_before": load, "machine": machine(), "date": today(), "steps": steps}


# ---- the section of bench/RESULTS.md
def _fmt(x, spec=".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def _verdict(value, target) -> str:
    if target is None:
        return ""
    if value is None:
        return f">= {target}: not measured (no spaCy)"
    return f">= {target}: {'met' if value >= target else 'MISSED'}"


def section(store: dict) -> str:
    lines = ["## Machine translation: Multi30k de->en (`bench/bench_translate.py`)", ""]
    anchors = store.get("anchors", {})
    if anchors:
        tokens = store.get("reference_tokens")
        lines += [
            "test_2016_flickr (1,000 sentences). Each model trained by `lmlab train --task translate --model M "
            "--data multi30k --src de --tgt en --epochs 10` with its recipe (best weights by greedy validation BLEU), "
            "byte-level BPE of 8,000 tokens per side. Anchor BLEU: the anchors' measure (spaCy-tokenized, "
            "lowercased, BLEU-4 on tokens"
            + (f"; {tokens:,} reference tokens" if tokens else "")
            + "); sacreBLEU: detokenized cased output, "
            "`nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp`. Perplexity: teacher-forced, BPE target tokens with </s> "
            "(the anchors' RNN perplexities were measured free-running, on word tokens: not comparable).",
            "",
            "| model | anchor (greedy) | anchor BLEU greedy | target | anchor BLEU beam 5 | target | sacreBLEU greedy"
            " / beam 5 | test perplexity | parameters | train s | epochs | greedy / beam-5 sent/s | load | date |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in sorted(anchors.items(), key=lambda kv: list(RECIPES).index(kv[0])):
            _, _, anchor, target, beam_target = RECIPES[name]
            g, b = r["greedy"], r["beam5"]
            lines.append(
                f"| {name} | {anchor} | {_fmt(g['anchor_bleu'])} | {_verdict(g['anchor_bleu'], target)} | "
                f"{_fmt(b['anchor_bleu'])} | {_verdict(b['anchor_bleu'], beam_target)} | {g['sacrebleu']:.2f} / "
                f"{b['sacrebleu']:.2f} | {g['perplexity']:.2f} | {r['parameters']:,} | "
                f"{_fmt(r['train_seconds'], '.0f')} | {r['epochs']} | {g['sentences_per_s']:.1f} / "
                f"{b['sentences_per_s']:.1f} | {r['load_before']} | {r['date']} |"
            )
        lines += ["", f"Machine: {next(iter(anchors.values()))['machine']}.", ""]
        for name, text in store.get("conditions", {}).items():  # how each training shared the machine
            if name in anchors:
                lines += [f"- {name}: {text}"]
        lines += [""] if store.get("conditions") else []
    sp = store.get("speed")
    if sp:
        lines += [
            f"Engine speed on Multi30k ({sp['machine']}; {sp['date']}; load before {sp['load_before']}): lmlab's "
            f"engine and a plain PyTorch loop (same network class, optimizer and batches) take one update each in "
            f"turn, {sp['steps']} measured updates per run:",
            "",
            "| model | lmlab target tokens/s | plain loop tokens/s | ratio (target >= 1.0) | step ms lmlab / plain |",
            "|---|---|---|---|---|",
        ]
        for family, m in sp["models"].items():
            for r in m["runs"]:
                lines.append(
                    f"| {family} | {r['lmlab_tokens_per_s']:.0f} | {r['plain_tokens_per_s']:.0f} | {r['ratio']:.3f} | "
                    f"{r['step_ms_lmlab_median']:.1f} / {r['step_ms_plain_median']:.1f} |"
                )
        lines.append("")
    return "\n".join(lines)


def smoke_data(folder: Path) -> str:
    """The first lines of Multi30k as a user folder: enough to run every part in seconds."""
    from lmlab.translate.data import load_parallel_data

    full = load_parallel_data("multi30k", "de", "en")
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 400), ("valid", 30), ("test", 30)):
        part = full.split(split)
        for lang, side in (("de", part.src), ("en", part.tgt)):
            (folder / f"{split}.{lang}").write_text("".join(line + "\n" for line in side[:n]), encoding="utf-8")
    return str(folder)


def main() -> None:
    global COMMON, RECIPES  # --smoke shrinks the recipes
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["anchors", "speed", "report"])
    ap.add_argument("--smoke", action="store_true", help="every part on 400 pairs with toy models; writes nothing")
    ap.add_argument("--models", default=",".join(RECIPES))
    ap.add_argument("--steps", type=int, default=30, help="speed: measured updates per run")
    ap.add_argument("--note", help="anchors: how these trainings shared the machine, stored beside their results")
    ap.add_argument(
        "--extra", default="", help="more flags for lmlab train, FLAG VALUE pairs: '--max-seconds 36000 --device cuda'"
    )
    args = ap.parse_args()
    if not args.smoke and args.only is None:
        ap.error("give --only PART or --smoke")
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    os.environ["LMLAB_THREADS"] = str(torch.get_num_threads())  # the engine on the reference's count
    tokenizer = spacy_tokenizer()
    if tokenizer is None:
        print("spaCy is not installed (pip install 'lmlab[bench]'): anchor BLEU is not measured", file=sys.stderr)
    extra = args.extra.split()
    if args.smoke:
        with tempfile.TemporaryDirectory() as d:
            data = smoke_data(Path(d) / "m30k")
            store: dict = {}
            COMMON = ["--src", "de", "--tgt", "en", "--max-steps", "4", "--device", "cpu", "--vocab-size", "400",
                      "--max-len-b", "5", "--eval-every", "4"]  # fmt: skip
            RECIPES = {k: (f, [*v, *SMOKE_FLAGS[f]], *rest) for k, (f, v, *rest) in RECIPES.items()}
            bench_anchors(store, list(RECIPES), data, Path(d), extra, tokenizer)
            from lmlab.translate.data import load_parallel_data
            from lmlab.translate.vocab import TokenizerOptions, build_vocabularies

            small = load_parallel_data(data, "de", "en")
            vocabs = build_vocabularies(small.train.src, small.train.tgt, TokenizerOptions(vocab_size=400))
            bench_speed(store, small, vocabs, steps=3, smoke=True)
            print("\n--- the section --smoke would write (toy models, 4 steps: not results) ---\n")
            print(section(store))
        return
    store = load_store(STORE)
    if args.only == "anchors":
        names = args.models.split(",")
        unknown = [n for n in names if n not in RECIPES]
        if unknown:
            ap.error(f"unknown models {unknown}; choose from {', '.join(RECIPES)}")

        if args.note:  # a key of its own: calls running side by side keep each other's notes
            store.setdefault("conditions", {}).update({name: args.note for name in names})

        def save(store: dict) -> None:
            save_store(store, STORE)
            update_section("translate", section(store))

        bench_anchors(store, names, "multi30k", ROOT / "bench" / "out", extra, tokenizer, save)
    elif args.only == "speed":
        from lmlab.translate.data import load_parallel_data
        from lmlab.translate.vocab import TokenizerOptions, build_vocabularies

        data = load_parallel_data("multi30k", "de", "en")
        data.valid.src, data.valid.tgt = data.valid.src[:50], data.valid.tgt[:50]  # the last step validates
        vocabs = build_vocabularies(data.train.src, data.train.tgt, TokenizerOptions())
        bench_speed(store, data, vocabs, args.steps, smoke=False)
    save_store(store, STORE)
    update_section("translate", section(store))


if __name__ == "__main__":
    main()
