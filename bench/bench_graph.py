"""Node classification on Cora: accuracy over seeds against the papers and PyTorch Geometric, and the time per
epoch against PyTorch Geometric, measured in the same run.

Targets (issue 16):
* Cora, Planetoid split, mean of 10 seeds: ``gcn`` >= 81.5% (Kipf & Welling), ``gat`` >= 83.0% (Veličković et al.).
* Cora, random splits (10 splits, 20 per class / 500 / 1,000): ``gcn`` >= 80.1% (Kipf & Welling), ``gat`` >= 81.0%.
* ``mlp``, ``labelprop`` (and ``sage``) reported beside them.
* Speed: time per training epoch (forward, backward, update) at most 1.0x PyTorch Geometric's for the same model and
  graph, measured interleaved (one epoch of lmlab's, then one of PyG's, in turn); and the wall time to the best
  validation epoch.

lmlab's accuracy is measured through its command line (``lmlab train --task graph --repeat 10``: the engine, its
recipes, its model selection). PyTorch Geometric's is measured with the networks of its examples (``gcn.py``,
``gat.py``; ``SAGEConv`` for sage) trained by a plain loop on the same features, edges, splits and seeds, with the
same recipe and the same selection (the recipe's ``select``: the first epoch of best validation accuracy, or for
gat Veličković et al.'s patience on the validation accuracy and loss; early stopping as lmlab's recipe says).
The speed part times lmlab's networks as the engine feeds them (sparse features on Cora) and on dense features, so
the gain of each is visible.

    python bench/bench_graph.py --only accuracy              # lmlab and PyG, both splits, 10 seeds (tens of minutes)
    python bench/bench_graph.py --only speed                 # a few minutes
    python bench/bench_graph.py --smoke                      # seconds: every path once, nothing stored

Each part stores its figures in bench/out/graph.json and rewrites the graph section of bench/RESULTS.md.
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
from results import machine, today, update_section  # noqa: E402

STORE = ROOT / "bench" / "out" / "graph.json"
MODELS = ("gcn", "gat", "sage", "mlp", "labelprop")
SPLITS = ("planetoid", "random")
#: (model, split) -> the figure to reach (test accuracy, mean over seeds) and where it comes from
TARGETS = {
    ("gcn", "planetoid"): (0.815, "Kipf & Welling 2017, Table 2"),
    ("gat", "planetoid"): (0.830, "Veličković et al. 2018, Table 2"),
    ("gcn", "random"): (0.801, "Kipf & Welling 2017, Table 2 (random splits)"),
    ("gat", "random"): (0.810, "issue 16"),
}


def load_store() -> dict:
    return json.loads(STORE.read_text()) if STORE.exists() else {}


def save_store(store: dict) -> None:
    STORE.parent.mkdir(parents=True, exist_ok=True)
    STORE.write_text(json.dumps(store, indent=1) + "\n")


def has_pyg() -> bool:
    try:
        import torch_geometric.nn  # noqa: F401
    except ImportError:
        return False
    return True


def lmlab(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "lmlab", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.strip()[-500:]}")
    return r


# ---- the data, as lmlab reads it
class Cora:
    def __init__(self):
        from lmlab.graph.data import load_graph
        from lmlab.graph.task import normalize_features

        self.data = load_graph("cora")
        self.x = torch.from_numpy(normalize_features(self.data.features, "row"))
        self.edge_index = torch.from_numpy(self.data.edges)
        self.y = torch.from_numpy(self.data.labels)

    def split(self, kind: str, seed: int):
        from lmlab.graph.data import make_split

        s = make_split(self.data, kind, seed)
        return tuple(torch.from_numpy(a) for a in (s.train, s.valid, s.test))


# ---- PyTorch Geometric's example networks
class PygNet(torch.nn.Module):
    """PyG's examples: gcn.py (GCNConv 16, dropout 0.5), gat.py (GATConv 8 x 8 heads, dropout 0.6 on the inputs and
    the attention), and SAGEConv (mean, 64) with lmlab's sage recipe."""

    def __init__(self, family: str, in_features: int, classes: int):
        super().__init__()
        from torch_geometric.nn import GATConv, GCNConv, SAGEConv

        self.family = family
        if family == "gcn":
            self.conv1, self.conv2, self.p = GCNConv(in_features, 16), GCNConv(16, classes), 0.5
        elif family == "gat":
            self.conv1 = GATConv(in_features, 8, heads=8, dropout=0.6)
            self.conv2, self.p = GATConv(64, classes, heads=1, concat=False, dropout=0.6), 0.6
        elif family == "sage":
            self.conv1, self.conv2, self.p = SAGEConv(in_features, 64), SAGEConv(64, classes), 0.5
        else:
            raise ValueError(family)

    def forward(self, x, edge_index):
        act = F.elu if self.family == "gat" else F.relu
        x = F.dropout(x, self.p, self.training)
        x = act(self.conv1(x, edge_index))
        x = F.dropout(x, self.p, self.training)
        return self.conv2(x, edge_index)

    def optimizer(self):
        if self.family == "gat":  # gat.py: Adam 0.005, weight decay 5e-4 on everything
            return torch.optim.Adam(self.parameters(), lr=0.005, weight_decay=5e-4)
        # gcn.py: weight decay 5e-4 on the first layer only
        return torch.optim.Adam(
            [dict(params=self.conv1.parameters(), weight_decay=5e-4), dict(params=self.conv2.parameters())], lr=0.01
        )


def recipe(family: str) -> tuple[int, int | None, str]:
    """(epochs, early-stopping patience, selection) of lmlab's recipe for the family."""
    from lmlab.graph.task import RECIPES, GraphTrainConfig

    r = RECIPES.get(family, {})
    return r.get("epochs", GraphTrainConfig.epochs), r.get("early_stop"), r.get("select", GraphTrainConfig.select)


def train_pyg(cora: Cora, family: str, kind: str, seed: int, epochs: int, patience: int | None, select: str) -> dict:
    """Test accuracy of the epoch lmlab's selection keeps (``select``, see lmlab.graph.task), and the seconds to
    reach that epoch."""
    from lmlab.graph.task import NewBests

    train, valid, test = cora.split(kind, seed)
    torch.manual_seed(seed)
    net = PygNet(family, cora.x.size(1), int(cora.y.max()) + 1)
    opt = net.optimizer()
    record = NewBests()
    best, best_epoch, best_test, best_valid, t_best = None, 0, 0.0, 0.0, 0.0
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        net.train()
        loss = F.cross_entropy(net(cora.x, cora.edge_index)[train], cora.y[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
        net.eval()
        with torch.no_grad():
            logits = net(cora.x, cora.edge_index)
        pred = logits.argmax(1)
        val = (pred[valid] == cora.y[valid]).float().mean().item()
        val_loss = F.cross_entropy(logits[valid], cora.y[valid]).item()
        # the quantity lmlab's engine maximises under this selection
        score = {"accuracy": val, "loss": -val_loss, "gat": float(record.update(val, val_loss))}[select]
        if best is None or score > best:
            best, best_epoch, best_valid = score, epoch, val
            best_test = (pred[test] == cora.y[test]).float().mean().item()
            t_best = time.perf_counter() - t0
        elif patience is not None and epoch - best_epoch >= patience:
            break
    return {"test": best_test, "valid": best_valid, "best_epoch": best_epoch, "seconds_to_best": t_best}


def mean_std(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values)}  # fmt: skip


def bench_accuracy(store: dict, models: list[str], seeds: int, smoke: bool) -> None:
    from lmlab.train.metrics import read_metrics

    cora = Cora()
    part = store.setdefault("accuracy", {})
    for kind in SPLITS:
        for model in models:
            with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
                out = Path(tmp) / "runs"
                extra = ["--epochs", "5"] if smoke and model != "labelprop" else []
                t0 = time.perf_counter()
                lmlab("train", "--task", "graph", "--model", model, "--data", "cora", "--split", kind,
                      "--repeat", str(seeds), "--out", str(out), *extra)  # fmt: skip
                wall = time.perf_counter() - t0
                summary = json.loads((out / "repeat.json").read_text())
                to_best = []
                for run in summary["runs"]:
                    metrics = out / run["run"] / "metrics.jsonl"
                    config = json.loads((out / run["run"] / "config.json").read_text())
                    best_step = config["stats"].get("best_step")
                    if metrics.exists() and best_step is not None:
                        rows = [r for r in read_metrics(metrics) if r.get("step") == best_step and "val_accuracy" in r]
                        to_best += [rows[0]["elapsed_s"]] if rows else []
            row = {
                "lmlab": mean_std([r["test_accuracy"] for r in summary["runs"]]),
                "lmlab_valid": mean_std([r["valid_accuracy"] for r in summary["runs"]]),
                "lmlab_seconds_to_best": statistics.fmean(to_best) if to_best else None,
                "lmlab_wall_seconds_per_run": wall / seeds,
            }
            if has_pyg() and model in ("gcn", "gat", "sage"):
                epochs, patience, select = recipe(model)
                epochs = 5 if smoke else epochs
                runs = [train_pyg(cora, model, kind, i, epochs, patience, select) for i in range(seeds)]
                row["pyg"] = mean_std([r["test"] for r in runs])
                row["pyg_seconds_to_best"] = statistics.fmean(r["seconds_to_best"] for r in runs)
            part[f"{model}/{kind}"] = row
            pyg = f", PyG {row['pyg']['mean']:.2%} +- {row['pyg']['std']:.2%}" if "pyg" in row else ""
            print(f"{model:9s} {kind:9s}: lmlab {row['lmlab']['mean']:.2%} +- {row['lmlab']['std']:.2%}{pyg}")
    store["accuracy_meta"] = {"date": today(), "machine": machine(), "seeds": seeds, "threads": torch.get_num_threads()}


# ---- speed: one epoch of lmlab's network, then one of PyG's, in turn
def bench_speed(store: dict, epochs: int, device: str) -> None:
    from lmlab.graph.task import node_inputs, training_config_class
    from lmlab.nn.graph import Graph
    from lmlab.train.optim import build_optimizer

    if not has_pyg():
        print("speed: torch-geometric is not installed; skipped")
        return
    cora = Cora()
    train, _, _ = cora.split("planetoid", 0)
    dev = torch.device(device)
    y, train = cora.y.to(dev), train.to(dev)
    x_dense, edge_index = cora.x.to(dev), cora.edge_index.to(dev)
    results = {}
    for family in ("gcn", "gat", "sage"):
        from lmlab.graph.models import get_graph_model

        entry = get_graph_model(family)
        cfg = training_config_class(entry.config_class())(
            in_features=cora.x.size(1), num_classes=int(cora.y.max()) + 1, **entry.recipe
        )
        x_lmlab, graph = node_inputs(cora.data, cfg.features)
        x_lmlab, graph = x_lmlab.to(dev), graph.to(dev)
        graph_dense_input = Graph(cora.edge_index, cora.data.num_nodes).to(dev)
        torch.manual_seed(0)
        ours = entry.network_class()(cfg).to(dev).train()
        ours_dense = entry.network_class()(cfg).to(dev).train()
        ref = PygNet(family, cora.x.size(1), cfg.num_classes).to(dev).train()
        opt_ours = build_optimizer([p for p in ours.parameters()], cfg)
        opt_dense = build_optimizer([p for p in ours_dense.parameters()], cfg)
        opt_ref = ref.optimizer()

        def epoch_ours(net=ours, opt=opt_ours, x=x_lmlab, g=graph):
            loss = F.cross_entropy(net(x, g).logits[train], y[train])
            penalty = net.penalty()
            loss = loss if penalty is None else loss + penalty
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        def epoch_dense(net=ours_dense, opt=opt_dense, g=graph_dense_input):
            epoch_ours(net, opt, x_dense, g)

        def epoch_ref(ref=ref, opt_ref=opt_ref):
            loss = F.cross_entropy(ref(x_dense, edge_index)[train], y[train])
            opt_ref.zero_grad()
            loss.backward()
            opt_ref.step()

        times = {"lmlab": [], "lmlab_dense": [], "pyg": []}
        for _ in range(3):  # warm-up
            epoch_ours(), epoch_dense(), epoch_ref()
        for _ in range(epochs):
            for name, fn in (("lmlab", epoch_ours), ("lmlab_dense", epoch_dense), ("pyg", epoch_ref)):
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t = time.perf_counter()
                fn()
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                times[name].append(time.perf_counter() - t)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        results[family] = {**{f"{k}_ms": v for k, v in med.items()}, "ratio": med["lmlab"] / med["pyg"],
                           "ratio_dense": med["lmlab_dense"] / med["pyg"]}  # fmt: skip
        r = results[family]
        print(f"{family}: lmlab {r['lmlab_ms']:.2f} ms/epoch (dense features {r['lmlab_dense_ms']:.2f}), "
              f"PyG {r['pyg_ms']:.2f} ms: {r['ratio']:.2f}x ({r['ratio_dense']:.2f}x dense)")  # fmt: skip
    store["speed"] = results
    store["speed_meta"] = {"date": today(), "machine": machine(), "epochs": epochs, "device": device,
                           "threads": torch.get_num_threads()}  # fmt: skip


def render(store: dict) -> str:
    """The graph section of bench/RESULTS.md."""
    lines = ["## Node classification on Cora (bench/bench_graph.py)", ""]
    acc = store.get("accuracy", {})
    if acc:
        meta = store.get("accuracy_meta", {})
        lines += [
            f"{meta.get('date')}, {meta.get('machine')}, {meta.get('threads')} thread(s); test accuracy, mean +- std "
            f"over {meta.get('seeds')} seeds (random splits: one split per seed), lmlab through `lmlab train --task "
            "graph --repeat`, PyTorch Geometric's example networks with the same recipe, data and selection.",
            "",
            "| model | split | lmlab | PyG | target | lmlab s to best epoch | PyG s to best epoch |",
            "|---|---|---|---|---|---|---|",
        ]
        for key, row in acc.items():
            model, kind = key.split("/")
            target = TARGETS.get((model, kind))
            ok = "" if target is None else (" ✓" if row["lmlab"]["mean"] >= target[0] else " ✗")
            shown = "-" if target is None else f">= {target[0]:.1%} ({target[1]})"
            pyg = f"{row['pyg']['mean']:.2%} +- {row['pyg']['std']:.2%}" if "pyg" in row else "-"
            t_ours = row.get("lmlab_seconds_to_best")
            t_pyg = row.get("pyg_seconds_to_best")
            lines.append(
                f"| {model} | {kind} | {row['lmlab']['mean']:.2%} +- {row['lmlab']['std']:.2%}{ok} | {pyg} | {shown} "
                f"| {'-' if t_ours is None else f'{t_ours:.1f}'} | {'-' if t_pyg is None else f'{t_pyg:.1f}'} |"
            )
        lines.append("")
    speed = store.get("speed")
    if speed:
        meta = store.get("speed_meta", {})
        lines += [
            f"Time per training epoch (forward, backward, update; median of {meta.get('epochs')} interleaved epochs), "
            f"Planetoid split, {meta.get('device')}, {meta.get('threads')} thread(s), {meta.get('date')}, "
            f"{meta.get('machine')}. lmlab: as the engine feeds the network (Cora's features sparse); "
            "dense: the same network on the dense feature matrix PyG reads.",
            "",
            "| model | lmlab ms | lmlab dense ms | PyG ms | lmlab / PyG | dense / PyG |",
            "|---|---|---|---|---|---|",
        ]
        for family, r in speed.items():
            lines.append(
                f"| {family} | {r['lmlab_ms']:.2f} | {r['lmlab_dense_ms']:.2f} | {r['pyg_ms']:.2f} | "
                f"{r['ratio']:.2f}x{' ✓' if r['ratio'] <= 1.0 else ' ✗'} | {r['ratio_dense']:.2f}x |"
            )
        lines.append(
            "\nThe engine writes a checkpoint after every evaluation, and a graph epoch is one step: the seconds to "
            "the best epoch above include that, the per-epoch times do not."
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["accuracy", "speed"], help="run one part (default: both)")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--epochs", type=int, default=100, help="speed: interleaved epochs timed per model")
    p.add_argument("--device", default="cpu")
    p.add_argument("--smoke", action="store_true", help="every path once, in seconds; nothing stored or written")
    args = p.parse_args()
    models = [m for m in args.models.split(",") if m]
    if args.smoke:
        store: dict = {}
        bench_accuracy(store, ["gcn", "labelprop"], 2, smoke=True)
        bench_speed(store, 3, args.device)
        render(store)
        print("smoke: every path ran; nothing stored")
        return
    store = load_store()
    if args.only in (None, "accuracy"):
        bench_accuracy(store, models, args.seeds, smoke=False)
        save_store(store)
    if args.only in (None, "speed"):
        bench_speed(store, args.epochs, args.device)
        save_store(store)
    update_section("graph", render(store))
    print(f"wrote {STORE} and the graph section of bench/RESULTS.md")


if __name__ == "__main__":
    main()
