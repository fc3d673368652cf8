"""Neural benchmarks: training speed against a plain torch.nn.LSTM loop, names NLL, Zaremba et al.'s PTB LSTMs.

Sections, each selectable with ``--only`` (results accumulate in ``bench/out/neural.json`` and the whole
``bench_neural`` section of ``bench/RESULTS.md`` is rewritten from it after every run):

* ``speed``: the PyTorch word_language_model example's default configuration (LSTM 2 x 200, dropout 0.2, BPTT 35,
  batch 20, SGD lr 20, clip 0.25) on WikiText-2. The reference is that example's training loop with a plain
  ``torch.nn.LSTM`` model, reproduced below. It runs *interleaved* with lmlab's engine in the same process: after
  every lmlab update (the real loop of ``lmlab train``: batching, schedule, logging included) a callback runs and
  times one reference update, so both see the same machine load. Then the same against the explicit-cell path.
* ``names``: character-level MLP and GRU on makemore's names with their presets; test NLL under lmlab's protocol
  (one stream, each name conditioned on everything before it) and with every name scored on its own (the
  makemore measure), and a character 5-gram modified Kneser-Ney model trained in the same run as the reference.
* ``zaremba-small``: the full recipe of Zaremba et al.'s small LSTM on PTB (13 epochs; long on a CPU) with its
  wall time. ``--zaremba-epochs K`` runs a shortened version, reported as such.
* ``gpu``: Zaremba medium and the tied + variational medium LSTM, tokens/s and peak memory; needs CUDA and is
  skipped (and reported as skipped) without it.

Usage: python bench/bench_neural.py [--only speed|names|zaremba-small|gpu] [--steps N] [--zaremba-epochs K]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine, today, update_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
STORE = OUT / "neural.json"
os.environ.setdefault("LMLAB_DATA_DIR", str(REPO.parent / "shared" / "data"))

from lmlab.data import Corpus, load_corpus  # noqa: E402
from lmlab.lm.evaluate import evaluate  # noqa: E402
from lmlab.lm.models import get_family  # noqa: E402
from lmlab.lm.models.task import train_neural  # noqa: E402
from lmlab.lm.presets import get_preset  # noqa: E402
from lmlab.tokenizers import CharTokenizer, WordTokenizer  # noqa: E402
from lmlab.train_options import TrainOptions  # noqa: E402


def load_store() -> dict:
    return json.loads(STORE.read_text()) if STORE.exists() else {}


def save_store(store: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    STORE.write_text(json.dumps(store, indent=1) + "\n")


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


# ---- speed: the PyTorch example's loop, reproduced as the reference
class ExampleLSTM(nn.Module):
    """pytorch/examples word_language_model/model.py, LSTM branch (time-major, one multi-layer nn.LSTM)."""

    def __init__(self, vocab_size: int, d: int = 200, n_layer: int = 2, dropout: float = 0.2):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab_size, d)
        self.rnn = nn.LSTM(d, d, n_layer, dropout=dropout)
        self.decoder = nn.Linear(d, vocab_size)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        self.vocab_size = vocab_size

    def forward(self, x, hidden):
        emb = self.drop(self.encoder(x))
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.vocab_size)
        return F.log_softmax(decoded, dim=1), hidden


class ExampleLoop:
    """The example's ``train()`` body, one update per call (batchify, get_batch, repackage_hidden, manual SGD)."""

    def __init__(self, ids: np.ndarray, vocab_size: int, device: torch.device, B: int = 20, T: int = 35):
        torch.manual_seed(1)
        self.model = ExampleLSTM(vocab_size).to(device).train()
        n = ids.size // B
        self.data = torch.from_numpy(ids[: n * B].astype(np.int64)).view(B, -1).t().contiguous().to(device)
        self.hidden = tuple(torch.zeros(2, B, 200, device=device) for _ in range(2))
        self.criterion = nn.NLLLoss()
        self.T, self.i, self.lr, self.clip = T, 0, 20.0, 0.25

    def step(self) -> float:
        T = self.T
        if (self.i + 1) * T + 1 > self.data.size(0):
            self.i = 0
        a = self.i * T
        x, y = self.data[a : a + T], self.data[a + 1 : a + 1 + T].reshape(-1)
        self.model.zero_grad()
        self.hidden = tuple(h.detach() for h in self.hidden)
        output, self.hidden = self.model(x, self.hidden)
        loss = self.criterion(output, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        for p in self.model.parameters():
            p.data.add_(p.grad, alpha=-self.lr)
        self.i += 1
        return loss.item()


def interleaved(corpus: Corpus, tok, device: str, steps: int, warmup: int, fused: bool) -> dict:
    """lmlab's engine and the example loop, one update each in turn; tokens/s of both over the same period."""
    ref = ExampleLoop(tok.encode_lines(corpus.train).ids, tok.vocab_size, torch.device(device))
    marks: list[tuple[float, float]] = []  # (callback start, callback end)
    ref_times: list[float] = []

    def callback(step, trainer):
        t0 = time.perf_counter()
        ref.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        marks.append((t0, t1))
        ref_times.append(t1 - t0)

    values = get_preset("word-lm-example", "lstm") | {
        "max_steps": warmup + steps + 2,  # the last step also evaluates: it is left out
        "log_every": 5,
        "device": device,
        "fused": fused,
        "epochs": 1,
    }
    cfg = get_family("lstm").config_class()(**values)
    small_valid = Corpus(corpus.name, corpus.train, corpus.valid[:50], corpus.test[:50], corpus.source)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as d:
        train_neural(cfg, small_valid, tok, TrainOptions(progress=False), Path(d) / "run", callbacks=[callback])
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
    ours = [marks[k][0] - marks[k - 1][1] for k in range(warmup + 1, warmup + steps + 1)]
    theirs = ref_times[warmup + 1 : warmup + steps + 1]
    tokens = 20 * 35
    return {
        "lmlab_tokens_per_s": tokens * len(ours) / sum(ours),
        "example_tokens_per_s": tokens * len(theirs) / sum(theirs),
        "ratio": sum(theirs) / sum(ours),
        "step_ms_lmlab_median": 1000 * statistics.median(ours),
        "step_ms_example_median": 1000 * statistics.median(theirs),
        "steps": len(ours),
        "peak_memory_mib": peak,
    }


def bench_speed(store: dict, steps: int, device: str = "cpu") -> None:
    corpus = load_corpus("wikitext-2")
    tok = WordTokenizer.train(corpus.train)
    print(f"speed: WikiText-2, V = {tok.vocab_size}, {steps} measured steps per path, device {device}", flush=True)
    load = load_average()
    fused = [interleaved(corpus, tok, device, steps, 5, fused=True) for _ in range(2)]
    for r in fused:
        print(f"  fused    {r['lmlab_tokens_per_s']:8.0f} tok/s   example {r['example_tokens_per_s']:8.0f}   "
              f"ratio {r['ratio']:.3f}", flush=True)  # fmt: skip
    explicit = interleaved(corpus, tok, device, max(5, steps // 4), 3, fused=False)
    print(f"  explicit {explicit['lmlab_tokens_per_s']:8.0f} tok/s   example {explicit['example_tokens_per_s']:8.0f}",
          flush=True)  # fmt: skip
    store[f"speed_{device}"] = {"fused": fused, "explicit": explicit, "vocab_size": tok.vocab_size, "load": load}


# ---- names
def independent_nll(model, lines: list[str]) -> float:
    """Mean NLL per token with every line scored on its own, from the start token (makemore's measure)."""
    total, n = 0.0, 0
    for line in lines:
        lp = model.score_stream(model.tokenizer.encode_lines([line]).ids)
        total -= float(lp.sum())
        n += lp.size
    return total / n


def bench_names(store: dict) -> None:
    corpus = load_corpus("names")
    tok = CharTokenizer.train(corpus.train)
    results = {}
    from lmlab.lm.ngram.model import NgramConfig, NgramLM

    t0 = time.perf_counter()
    ngram = NgramLM.fit(tok.encode_lines(corpus.train).ids, tok, NgramConfig(order=5))
    results["ngram5"] = {
        "test_nll": evaluate(ngram, corpus.test).cross_entropy,
        "test_nll_independent": independent_nll(ngram, corpus.test),
        "seconds": time.perf_counter() - t0,
    }
    print(f"names: 5-gram KN test NLL {results['ngram5']['test_nll']:.4f}", flush=True)
    for family, preset in (("mlp", "names-mlp"), ("gru", "names-gru")):
        cfg = get_family(family).config_class()(**(get_preset(preset, family) | {"device": "cpu", "log_every": 200}))
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            model = train_neural(cfg, corpus, tok, TrainOptions(seed=0, progress=False), Path(d) / "run")
        seconds = time.perf_counter() - t0
        model.to("cpu")
        r = evaluate(model, corpus.test)
        results[family] = {
            "preset": preset,
            "parameters": model.num_parameters(),
            "test_nll": r.cross_entropy,
            "test_nll_independent": independent_nll(model, corpus.test),
            "valid_nll": evaluate(model, corpus.valid).cross_entropy,
            "seconds": seconds,
        }
        print(f"names: {family} test NLL {r.cross_entropy:.4f} ({seconds:.0f} s)", flush=True)
    store["names"] = results | {"date": today()}


# ---- Zaremba et al.
def bench_zaremba(store: dict, key: str, preset: str, device: str, epochs: int | None, resume: bool = False) -> None:
    """Train the preset on PTB in ``bench/out/run-KEY`` (or, with ``resume``, continue the run there from its
    last checkpoint, as ``lmlab train --resume`` does); the wall time is the run's own, over all its sessions."""
    corpus = load_corpus("ptb")
    tok = WordTokenizer.train(corpus.train)
    values = get_preset(preset, "lstm") | {"device": device, "log_every": 200}
    full_epochs = values["epochs"]
    if epochs is not None:
        values["epochs"] = epochs
    cfg = get_family("lstm").config_class()(**values)
    out = OUT / f"run-{key}"
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    opts = TrainOptions(seed=0, progress=sys.stderr.isatty(), resume=resume)
    model = train_neural(cfg, corpus, tok, opts, out)
    seconds = json.loads((out / "config.json").read_text())["stats"]["train_seconds"]
    test = evaluate(model, corpus.test)
    valid = evaluate(model, corpus.valid)
    stats = json.loads((out / "config.json").read_text())["stats"]
    store[key] = {
        "preset": preset,
        "epochs": values["epochs"],
        "full_epochs": full_epochs,
        "test_perplexity": test.perplexity,
        "valid_perplexity": valid.perplexity,
        "seconds": seconds,
        "tokens_per_s": stats["tokens_per_s"],
        "device": device,
        "peak_memory_mib": torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None,
        "load": load_average(),
        "date": today(),
        "note": "resumed from its last checkpoint (--resume); the wall time covers all its sessions" if resume else "",
    }
    print(f"{key}: test perplexity {test.perplexity:.2f} after {values['epochs']} epochs, {seconds:.0f} s", flush=True)


def bench_gpu(store: dict, steps: int) -> None:
    if not torch.cuda.is_available():
        store["gpu"] = {"skipped": "needs CUDA: no CUDA device on this machine"}
        print("gpu: needs CUDA, skipped", flush=True)
        return
    store["gpu"] = {"device": torch.cuda.get_device_name(0)}
    bench_speed(store, steps, device="cuda")
    bench_zaremba(store, "gpu_zaremba_medium", "zaremba-medium", "cuda", None)
    bench_zaremba(store, "gpu_tied_variational", "medium-tied-variational", "cuda", None)


# ---- the RESULTS.md section
def render(store: dict) -> str:
    lines = ["## Neural LMs: engine speed, names, Zaremba et al.'s PTB LSTMs (`bench/bench_neural.py`)", ""]
    dated = [f"{what} {store[key]['date']}" for key, what in (("names", "names"), ("zaremba_small", "Zaremba small"))
             if key in store and store[key].get("date")]  # fmt: skip
    also = f" ({'; '.join(dated)})" if dated else ""
    note = store.get("speed_cpu", {}).get("note", "")
    lines.append(
        f"Machine: {store.get('machine', machine())}. Date: {store.get('date', today())}{also}. {note}".rstrip()
    )
    lines.append("")
    lines.append("| measure | lmlab | reference (same run) | target |")
    lines.append("|---|---|---|---|")
    sp = store.get("speed_cpu")
    if sp:
        f = sp["fused"]
        ours = [r["lmlab_tokens_per_s"] for r in f]
        ref = [r["example_tokens_per_s"] for r in f]
        ratios = [r["ratio"] for r in f]
        ok = min(ratios) >= 1.0
        lines.append(
            f"| LSTM 2x200 training, WikiText-2 (V = {sp['vocab_size']:,}), BPTT 35, batch 20, fused path, "
            f"CPU; {f[0]['steps']} updates x {len(f)} runs, interleaved with the reference (load {sp['load']}) | "
            f"{' / '.join(f'{x:,.0f}' for x in ours)} tokens/s | plain torch.nn.LSTM loop of pytorch/examples "
            f"word_language_model: {' / '.join(f'{x:,.0f}' for x in ref)} tokens/s | >= reference: ratio "
            f"{' / '.join(f'{x:.3f}' for x in ratios)}, {'met' if ok else 'not met'} |"
        )
        e = sp["explicit"]
        lines.append(
            f"| same, explicit cells (`--no-fused`), {e['steps']} updates | {e['lmlab_tokens_per_s']:,.0f} tokens/s "
            f"| {e['example_tokens_per_s']:,.0f} tokens/s | reported: {e['ratio']:.3f} x the reference, "
            f"{e['lmlab_tokens_per_s'] / statistics.mean(ours):.3f} x the fused path |"
        )
    nm = store.get("names")
    if nm:
        ng = nm["ngram5"]
        when = f" ({nm['date']})" if nm.get("date") else ""
        ref = f"char 5-gram modified KN (lmlab): {ng['test_nll']:.3f} ({ng['test_nll_independent']:.3f} per name)"
        for family, target in (("mlp", 2.10), ("gru", 2.0)):
            r = nm[family]
            met = "met" if r["test_nll"] <= target else "not met"
            lines.append(
                f"| names, {family.upper()}{when} (`--preset {r['preset']}`, {r['parameters']:,} parameters, "
                f"{r['seconds']:.0f} s), test NLL nats/char | {r['test_nll']:.3f} (each name on its own: "
                f"{r['test_nll_independent']:.3f}) | {ref}; makemore's published {family.upper()}: "
                f"{'2.106-2.17' if family == 'mlp' else 'about 2.0'} | <= {target}: {met} "
                f"(per name: {'met' if r['test_nll_independent'] <= target else 'not met'}) |"
            )
    for key, label, target in (
        ("zaremba_small", "PTB, Zaremba et al. small LSTM (`--preset zaremba-small`), CPU", 114.5),
        ("gpu_zaremba_medium", "PTB, Zaremba et al. medium LSTM, GPU", 82.7),
        ("gpu_tied_variational", "PTB, medium LSTM, tied + variational dropout, GPU", 75.0),
    ):
        z = store.get(key)
        if not z:
            continue
        full = z["epochs"] == z["full_epochs"]
        run = f"{z['epochs']} of {z['full_epochs']} epochs" + (
            "" if full else ": SHORTENED, the target is not measured"
        )
        mem = f", peak {z['peak_memory_mib']:,.0f} MiB" if z.get("peak_memory_mib") else ""
        verdict = (
            f"met ({z['test_perplexity'] - target:+.1f})"
            if full and z["test_perplexity"] <= target
            else (f"not met ({z['test_perplexity'] - target:+.1f})" if full else "not measured")
        )
        note = f" ({z['note']})" if z.get("note") else ""
        if z.get("date"):
            label = label.replace("), ", f", {z['date']}), ", 1)
        lines.append(
            f"| {label}, {run} | test perplexity {z['test_perplexity']:.2f} (valid {z['valid_perplexity']:.2f}); "
            f"wall time {z['seconds'] / 60:.1f} min, {z['tokens_per_s']:,.0f} tokens/s{mem}{note} | published "
            f"{target} | <= {target}: {verdict} |"
        )
    gpu = store.get("gpu")
    if gpu and "skipped" in gpu:
        lines.append(
            "| PTB Zaremba medium (<= 82.7), tied + variational (<= 75), GPU tokens/s and peak memory | "
            f"- | - | {gpu['skipped']} (run `python bench/bench_neural.py --only gpu` on a CUDA machine) |"
        )
    if store.get("speed_cuda"):
        f = store["speed_cuda"]["fused"][0]
        lines.append(
            f"| GPU ({gpu.get('device', 'cuda')}) training speed, same configuration | "
            f"{f['lmlab_tokens_per_s']:,.0f} tokens/s, peak {f['peak_memory_mib']:,.0f} MiB | "
            f"{f['example_tokens_per_s']:,.0f} tokens/s | reported |"
        )
    if "zaremba_small" not in store:
        lines.append(
            "| PTB, Zaremba et al. small LSTM (<= 114.5) | not run yet | - | run `python bench/bench_neural.py "
            "--only zaremba-small` (about an hour on 2 CPU cores) |"
        )
    lines.append("")
    lines.append(
        "Notes. Speed: each lmlab update is timed from the end of one callback to the start of the next, so it "
        "includes the engine's batching, schedule and logging; the reference update runs inside the callback. "
        "Names: lmlab puts names.txt in a fixed shuffled order before the 90/5/5 split (1,602 test names), as "
        "makemore draws its test names at random (the file runs by popularity and alphabet, so its last 5% would "
        "be rare boys' names in alphabetical order). The MLP preset trains on one name at a time (`--examples "
        "lines`, as makemore), so lmlab's protocol scores each name on its own as well; the GRU preset trains on "
        "the stream of names, and lmlab's protocol scores each of its test names after the names before it (random "
        "ones, so of little help); 'each name on its own' scores every name from the start token alone, makemore's "
        "measure."
    )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["speed", "names", "zaremba-small", "gpu"], action="append")
    p.add_argument("--steps", type=int, default=40, help="measured updates per speed run (default 40)")
    p.add_argument("--zaremba-epochs", type=int, default=None, help="shortened Zaremba-small run (default: full)")
    p.add_argument("--resume", action="store_true", help="zaremba-small: continue the run in bench/out")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: all cores)")
    args = p.parse_args()
    only = args.only or ["speed", "names", "gpu"]
    torch.set_num_threads(args.threads)
    os.environ["LMLAB_THREADS"] = str(args.threads)  # the engine on the reference's count: no probing
    store_threads = args.threads
    store = load_store()
    store["machine"], store["date"] = machine(), today()  # of the speed rows; the others carry their own
    if "speed" in only:
        bench_speed(store, args.steps)
        save_store(store)
    if "names" in only:
        bench_names(store)
        save_store(store)
    if "zaremba-small" in only:
        bench_zaremba(store, "zaremba_small", "zaremba-small", "cpu", args.zaremba_epochs, resume=args.resume)
        store["zaremba_small"]["threads"] = store_threads
        save_store(store)
    if "gpu" in only:
        bench_gpu(store, args.steps)
        save_store(store)
    update_section("bench_neural", render(store))
    print(render(store))


if __name__ == "__main__":
    main()
