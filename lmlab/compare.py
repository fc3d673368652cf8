"""Compare model families of one task on one dataset: the same splits, tokenizer and metrics for every family.

What a comparison measures comes from the task's :class:`CompareProfile` (found through :mod:`lmlab.tasks`): for
language models test perplexity under the one protocol, for classifiers test accuracy and macro-F1; the table's
columns, the curve and the plots follow it, and nothing here asks which task or family it compares.

Each family is trained by its own ``lmlab train`` command, run as a child process so that its wall time and peak
memory are its own and so that the command recorded in the report is exactly the one that ran. Finished rows are
saved in ``results.json`` as they complete; running the same comparison again trains only what is missing. The
report (``report.md``, ``report.html``, PNG plots) is rewritten from ``results.json`` at the end.

The report folder is locked while a comparison runs, and it must be new, empty or a comparison already
(``--force`` replaces a different comparison, never a folder holding something else: :mod:`lmlab.rundir`). Ctrl-C
or SIGTERM stops the family training with SIGTERM, which saves its checkpoint, and keeps the rows finished so far.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lmlab.errors import LmlabError
from lmlab.io import atomic_open, write_json
from lmlab.rundir import check_out_dir, refuse_forbidden_place, run_lock
from lmlab.runfiles import annotation_field, check_fields, dataclass_schema, expect, list_of, read_json

#: the smallest time share a neural family can be given: a few steps and one evaluation
MIN_SECONDS_PER_FAMILY = 20.0
RESULTS_FORMAT = "lmlab-compare"
RESULTS_VERSION = 2  # version 1 (language models only) kept the test figures as row fields; it is still read


@dataclass
class Comparison:
    """What makes two comparisons the same one (a report folder holds one comparison)."""

    data: str
    models: list[str]
    tokenizer: str
    vocab_size: int | None = None
    budget_minutes: float | None = None
    steps: int | None = None
    device: str = "auto"
    seed: int = 0
    task: str = "lm"


@dataclass
class Row:
    family: str
    command: str
    run_dir: str
    status: str = "pending"
    metrics: dict[str, float | None] = field(default_factory=dict)  # the task's test figures (profile.columns)
    parameters: int | None = None
    train_seconds: float | None = None
    speed: float | None = None  # training units (tokens, examples) per second
    peak_memory_mb: float | None = None
    curve: list[list[float]] = field(default_factory=list)  # [elapsed seconds, the profile's validation metric]
    samples: list[str] = field(default_factory=list)
    #: the machine's 1-minute load average when the family's training started and ended: a figure measured beside
    #: other busy processes is not an idle machine's
    load: list[float] = field(default_factory=list)


ROW_FIELDS = {f.name for f in fields(Row)}
_V1_METRICS = ("test_perplexity", "bits_per_token", "cross_entropy", "test_tokens")


def _row_from_saved(d: dict[str, Any]) -> Row:
    """A row of ``results.json``; a version-1 row's figures move into ``metrics``."""
    d = dict(d)
    metrics = dict(d.pop("metrics", {}) or {})
    metrics.update({k: d.pop(k) for k in _V1_METRICS if k in d})
    if "tokens_per_s" in d:
        d["speed"] = d.pop("tokens_per_s")
    return Row(**{k: v for k, v in d.items() if k in ROW_FIELDS}, metrics=metrics)


@dataclass(frozen=True)
class Column:
    key: str  # a key of Row.metrics
    header: str
    spec: str  # format spec


@dataclass(frozen=True)
class CompareProfile:
    """What a task compares: its families in order, the test figures (table columns) and how a run is measured.
    Each task's profile lives beside the task and is found through :mod:`lmlab.tasks`. How each family trains in
    a comparison (its flags, whether it takes a share of the time budget) the family says itself: its table entry
    has ``compare_args(cmp)`` and ``timed``."""

    task: str
    #: whether the task reads text through a tokenizer (``--tokenizer``); images, graphs and tagged words do not
    takes_tokenizer: bool
    default_tokenizer: str  # the tokenizer when --tokenizer is not given ("none" for a task that takes none)
    columns: tuple[Column, ...]  # the first is the main figure (the scatter against parameters)
    higher_is_better: bool
    unit: str  # what the speed column counts
    curve_key: str  # the metrics.jsonl key of the validation curve
    curve_label: str
    curve_log: bool
    load_data: Any  # (Comparison) -> the dataset (errors surface before anything is written)
    measure: Any  # (run_dir, data, Comparison, Row) -> None: fills metrics, parameters, speed, curve, samples


def read_training_log(run_dir: Path, row: Row, curve_key: str, unit: str) -> bool:
    """Fill ``row.curve`` ([elapsed seconds, ``curve_key``] of each validation) and ``row.speed`` (the mean of the
    logged ``<unit>_per_s``) from ``RUN/metrics.jsonl``; False for a run without one (a counting model)."""
    from lmlab.train.metrics import read_metrics

    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return False
    rows = read_metrics(path)
    row.curve = [[m["elapsed_s"], m[curve_key]] for m in rows if curve_key in m and "elapsed_s" in m]
    speeds = [m[f"{unit}_per_s"] for m in rows if f"{unit}_per_s" in m]
    row.speed = sum(speeds) / len(speeds) if speeds else None
    return True


def profile_for(task: str) -> CompareProfile:
    from lmlab.tasks import get_task

    return get_task(task).compare_profile()


def families_of(cmp: Comparison) -> dict[str, Any]:
    from lmlab.tasks import get_task

    return get_task(cmp.task).family_table()


def parse_models(text: str, available: dict) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise LmlabError(f"--models needs at least one family; choose from: {', '.join(available)}")
    unknown = [m for m in names if m not in available]
    if unknown:
        raise LmlabError(
            f"unknown model famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; "
            f"choose from: {', '.join(available)}"
        )
    if len(set(names)) != len(names):
        raise LmlabError("--models lists a family twice")
    return names


#: validations during a budgeted family's run (on the task's fixed validation subset; the whole split at the end)
EVALS_PER_BUDGET = 4


def share_seconds(cmp: Comparison) -> float | None:
    """Each neural family's share of the comparison's time budget, in seconds: the budget split evenly between the
    families that train for a time (None for a comparison by steps, or one without a neural family)."""
    if cmp.steps is not None or cmp.budget_minutes is None:
        return None
    families = families_of(cmp)
    neural = [m for m in cmp.models if m in families and families[m].timed]
    return cmp.budget_minutes * 60 / len(neural) if neural else None


def train_command(cmp: Comparison, family: str, run_dir: Path, seconds: float | None) -> list[str]:
    from lmlab.tasks import DEFAULT_TASK

    entry = families_of(cmp)[family]
    task = [] if cmp.task == DEFAULT_TASK else ["--task", cmp.task]  # the default task's commands stay as they were
    argv = ["lmlab", "train", *task, "--model", family, "--data", cmp.data]
    if profile_for(cmp.task).takes_tokenizer:
        argv += ["--tokenizer", cmp.tokenizer]
    if cmp.vocab_size is not None:
        argv += ["--vocab-size", str(cmp.vocab_size)]
    argv += entry.compare_args(cmp)
    if entry.timed:
        argv += ["--seed", str(cmp.seed), "--device", cmp.device]
        if cmp.steps is not None:
            argv += ["--max-steps", str(cmp.steps), "--epochs", "1000"]
        elif seconds is not None:
            argv += ["--max-seconds", f"{seconds:.0f}", "--eval-seconds", f"{seconds / EVALS_PER_BUDGET:.1f}"]
    argv += ["--out", str(run_dir)]
    return argv


#: The fields of ``results.json`` a later comparison reads back; each row is checked against :class:`Row`.
RESULTS_SCHEMA = {
    "comparison": expect(dict, required=True),
    "comparison.data": expect(str, required=True),
    "comparison.models": list_of(lambda m: isinstance(m, str), "a list of strings", required=True),
    "rows": list_of(lambda r: isinstance(r, dict), "a list of objects"),
}


def check_results(d: dict[str, Any], where: str) -> None:
    """One LmlabError line naming the file and the field of ``results.json`` that has the wrong type."""
    check_fields(d, RESULTS_SCHEMA, where)
    row_schema = dataclass_schema(Row)
    number = annotation_field(float | None)
    for i, row in enumerate(d.get("rows", [])):
        check_fields({f"rows[{i}]": row}, {f"rows[{i}].{k}": v for k, v in row_schema.items()}, where)
        figures = {f"rows[{i}].{k}": number for k in _V1_METRICS if k in row}  # a version-1 row
        if isinstance(row.get("metrics"), dict):
            figures |= {f"rows[{i}].metrics.{k}": number for k in row["metrics"]}
        check_fields({f"rows[{i}]": row}, figures, where)


def _load_results(out: Path) -> dict[str, Any] | None:
    path = out / "results.json"
    if not path.exists():
        return None
    try:
        d = read_json(path, what="comparison results")
    except LmlabError as e:
        raise LmlabError(f"{e}; remove it or pass --force") from None
    if not isinstance(d, dict) or d.get("format") != RESULTS_FORMAT:
        raise LmlabError(f"{path} is not an lmlab comparison; choose another --out or pass --force")
    check_results(d, str(path))
    return d


def is_comparison(path: Path) -> bool:
    """True for a report folder ``lmlab compare`` wrote (its ``results.json`` says so)."""
    results = path / "results.json"
    if not results.is_file() or results.is_symlink():
        return False
    try:
        d = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(d, dict) and d.get("format") == RESULTS_FORMAT


def run_comparison(cmp: Comparison, out: Path, *, force: bool = False, progress=print) -> dict[str, Any]:
    """Train, measure and report every family of ``cmp`` into the report folder ``out`` (locked meanwhile)."""
    refuse_forbidden_place(out)
    with run_lock(out):
        check_out_dir(out, owned=is_comparison, what="an lmlab comparison")
        return _run_comparison(cmp, out, force=force, progress=progress)


def _run_comparison(cmp: Comparison, out: Path, *, force: bool, progress) -> dict[str, Any]:
    profile = profile_for(cmp.task)
    existing = _load_results(out) if out.exists() and not force else None  # --force replaces it unread
    if existing is not None:
        existing["comparison"].setdefault("task", "lm")  # comparisons made before tasks: language models
    if existing is not None and existing.get("comparison") != asdict(cmp) and not force:
        raise LmlabError(
            f"{out} holds a different comparison ({existing.get('comparison', {}).get('data')}, "
            f"{', '.join(existing.get('comparison', {}).get('models', []))}); pass --force to replace it"
        )
    families = families_of(cmp)
    neural = [m for m in cmp.models if families[m].timed]
    share = None
    if cmp.steps is None and neural:
        if cmp.budget_minutes is None:
            raise LmlabError("give --budget-minutes M or --steps N")
        share = share_seconds(cmp)
        if share < MIN_SECONDS_PER_FAMILY:
            need = MIN_SECONDS_PER_FAMILY * len(neural) / 60
            raise LmlabError(
                f"--budget-minutes {cmp.budget_minutes:g} is too small to train {len(neural)} neural famil"
                f"{'y' if len(neural) == 1 else 'ies'}: give at least {need:.1f} minutes "
                f"({MIN_SECONDS_PER_FAMILY:.0f} s each)"
            )
    corpus = profile.load_data(cmp)  # errors (unknown dataset, bad bytes) surface before anything is written
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, Row] = {}
    if existing is not None and not force:
        for d in existing.get("rows", []):
            if d.get("status") == "done" and Path(d.get("run_dir", "")).exists():
                rows[d["family"]] = _row_from_saved(d)
    results = {"format": RESULTS_FORMAT, "version": RESULTS_VERSION, "comparison": asdict(cmp), "rows": []}

    def save() -> None:
        results["rows"] = [asdict(rows[m]) for m in cmp.models if m in rows]
        results["machine"] = machine_description()
        results["date"] = _dt.date.today().isoformat()
        write_json(out / "results.json", results)

    started = time.monotonic()
    todo = [m for m in cmp.models if m not in rows]
    for i, family in enumerate(cmp.models, start=1):
        if family in rows:
            progress(f"[{i}/{len(cmp.models)}] {family}: done earlier, kept")
            continue
        run_dir = out / "runs" / family
        argv = train_command(cmp, family, run_dir, share)
        left = todo[todo.index(family) :]
        est = sum((share or 0) if families[m].timed else 0 for m in left)
        progress(
            f"[{i}/{len(cmp.models)}] {family}: training ({families[family].summary})"
            + (f"; about {est / 60:.1f} min left overall" if est else "")
        )
        row = Row(family=family, command=shlex.join(argv), run_dir=str(run_dir), load=[_load_average()])
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "lmlab.cli.main", *argv[1:]])
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (lmlab.interrupt.Terminated)
            progress(f"    stopping {family} with SIGTERM: it saves a checkpoint first (see its message)")
            proc.terminate()  # SIGTERM, which the child handles like Ctrl-C: it saves after its current step
            proc.wait()
            save()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        row.train_seconds = time.perf_counter() - t0
        row.load.append(_load_average())
        row.peak_memory_mb = usage.ru_maxrss / 1024
        if proc.returncode != 0:
            row.status = f"failed (exit status {proc.returncode})"
            progress(f"    {family} failed; see the messages above")
        else:
            profile.measure(run_dir, corpus, cmp, row)
            row.status = "done"
            main = profile.columns[0]
            value = row.metrics.get(main.key)
            progress(f"    {family}: {main.header} {format(value, main.spec)}" if value is not None else "    done")
        rows[family] = row
        save()
    save()
    write_report(out, results)
    progress(
        f"compared {len(rows)} famil{'y' if len(rows) == 1 else 'ies'} in {time.monotonic() - started:.0f} s; "
        f"report: {out / 'report.md'}"
    )
    return results


def _load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - no load average on this system
        return float("nan")


def load_line(rows: list[dict[str, Any]]) -> str:
    """The load each family trained under, for the report: ``Load (1-minute average) at each training's start and
    end: mlp 0.1-0.2, gru 1.0-2.1.``"""
    parts = [f"{r['family']} {r['load'][0]:g}-{r['load'][-1]:g}" for r in rows if r.get("load")]
    if not parts:
        return ""
    return f" Load (1-minute average, {os.cpu_count()} cores) at each training's start and end: {', '.join(parts)}."


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _profile_of(results: dict[str, Any]) -> CompareProfile:
    return profile_for(results.get("comparison", {}).get("task", "lm"))


def header(profile: CompareProfile) -> list[str]:
    return ["family", *(c.header for c in profile.columns), "parameters", "train s", f"{profile.unit}/s", "peak MB",
            "status"]  # fmt: skip


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    profile = _profile_of(results)
    out = []
    for d in results["rows"]:
        r = _row_from_saved(d)
        out.append(
            [
                r.family,
                *(_fmt(r.metrics.get(c.key), c.spec) for c in profile.columns),
                _fmt(r.parameters, ",d"),
                _fmt(r.train_seconds, ".1f"),
                _fmt(r.speed, ",.0f"),
                _fmt(r.peak_memory_mb, ",.0f"),
                r.status,
            ]
        )
    return out


def markdown_table(results: dict[str, Any]) -> str:
    head = header(_profile_of(results))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(results)]
    return "\n".join(lines)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")


def plot_results(out: Path, results: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator

    profile = _profile_of(results)
    rows = [_row_from_saved(r) for r in results["rows"] if r["status"] == "done"]
    # one colour per family, the same in every plot (and every report of the task)
    order = list(results.get("comparison", {}).get("models", [])) or [r.family for r in rows]
    palette = plt.get_cmap("tab10").colors
    colour = {name: palette[i % len(palette)] for i, name in enumerate(order)}
    plain = FuncFormatter(lambda v, _: f"{v:g}")  # 7, not 7 x 10^0
    files = []
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r in rows:
        if r.curve:
            xs, ys = zip(*r.curve)
            ax.plot(xs, ys, marker="o", markersize=3, label=r.family, color=colour.get(r.family))
    ax.set_xlabel("training wall time (s)")
    ax.set_ylabel(profile.curve_label)
    if profile.curve_log:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=tuple(range(1, 10))))  # 4, 5, 6, ... not 10^0
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_title(f"{profile.curve_label} against wall time")
    ax.grid(True, which="both", alpha=0.3)
    if any(r.curve for r in rows):
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)  # outside the curves
    fig.tight_layout()
    name = f"{profile.curve_key}_vs_time.png"
    with atomic_open(out / name, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
    files.append(name)
    main = profile.columns[0]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r in rows:
        value = r.metrics.get(main.key)
        if value is not None and r.parameters:
            ax.scatter([r.parameters], [value], s=30, color=colour.get(r.family), label=r.family)
            ax.annotate(r.family, (r.parameters, value), fontsize=8, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.grid(True, which="both", alpha=0.3)
    if ax.collections:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    ax.set_xlabel("parameters")
    ax.set_ylabel(main.header)
    ax.set_title(f"{main.header} against parameters")
    fig.tight_layout()
    name = f"{_slug(main.header.removeprefix('test '))}_vs_parameters.png"
    with atomic_open(out / name, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
    files.append(name)
    return files


def write_report(out: Path, results: dict[str, Any]) -> None:
    import html

    cmp = results["comparison"]
    profile = _profile_of(results)
    images = plot_results(out, results)
    task = "" if profile.task == "lm" else f" ({profile.task})"
    title = f"lmlab compare{task}: {cmp['data']}, {cmp['tokenizer']} tokens"
    budget = f"{cmp['budget_minutes']:g} minutes" if cmp.get("budget_minutes") else f"{cmp.get('steps')} steps each"
    about = f"Machine: {results['machine']}. Date: {results['date']}. Budget: {budget}. Device: {cmp['device']}."
    about += load_line(results["rows"])
    md = [f"# {title}", "", about, "", markdown_table(results), ""]
    md += [f"![{name}]({name})" for name in images] + [""]
    md += ["## Commands", ""]
    md += [f"- {r['family']}: `{r['command']}`" for r in results["rows"]]
    sampled = [r for r in results["rows"] if r.get("samples")]
    md += ["", "## Samples", ""] if sampled else [""]
    for r in sampled:
        md += [f"### {r['family']}", ""] + ["```", *[s or "(empty line)" for s in r["samples"]], "```", ""]
    with atomic_open(out / "report.md") as f:
        f.write("\n".join(md))
    h = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}td:first-child{text-align:left}"
        "pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(about)}</p>",
        "<table id='results'><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in header(profile)) + "</tr>",
    ]
    h += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table_rows(results)]
    # data-loaded marks an image the browser decoded (the report's test reads it back)
    h += ["</table>"] + [
        f"<p><img src='{name}' alt='{name}' onload='this.dataset.loaded=this.naturalWidth'></p>" for name in images
    ]
    h += ["<h2>Commands</h2><ul>"]
    h += [f"<li>{html.escape(r['family'])}: <code>{html.escape(r['command'])}</code></li>" for r in results["rows"]]
    h += ["</ul>" + ("<h2>Samples</h2>" if sampled else "")]
    for r in sampled:
        h += [f"<h3>{html.escape(r['family'])}</h3><pre>{html.escape(chr(10).join(r['samples']))}</pre>"]
    h += ["</body></html>"]
    with atomic_open(out / "report.html") as f:
        f.write("\n".join(h))
