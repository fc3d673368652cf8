"""The package's arrows: tasks depend on the shared layers, never the other way round (issue 23).

The engine (``lmlab/train``), the comparison (``lmlab/compare.py``), the inference contract (``lmlab/api.py``), the
run-file layers and the CLI's shared dispatchers reach a task only through :data:`lmlab.tasks.TASKS` and the run's
``config.json``; none of them imports a task package (``lmlab/tasks.py``, the table itself, gathers each task's
``spec.py``). Checked on the source (every ``import`` and ``from ... import``,
at any depth), so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LMLAB = Path(__file__).resolve().parents[1] / "lmlab"
TASK_PACKAGES = ("lm", "classify", "translate", "vision", "graph", "word2vec", "tag")

SHARED = [
    *sorted((LMLAB / "train").glob("*.py")),
    *sorted((LMLAB / "nn").glob("*.py")),
    *sorted((LMLAB / "data").glob("*.py")),
    *sorted((LMLAB / "tokenizers").glob("*.py")),
    LMLAB / "compare.py",
    LMLAB / "api.py",
    LMLAB / "families.py",
    LMLAB / "rundir.py",
    LMLAB / "runfiles.py",
    LMLAB / "runconfig.py",
    LMLAB / "metrics.py",
    LMLAB / "sampling.py",
    LMLAB / "io.py",
    LMLAB / "lazy.py",
    LMLAB / "threads.py",
    *sorted((LMLAB / "serve").glob("*.py")),
    *(LMLAB / "cli" / name for name in ("main.py", "train_cmd.py", "eval_cmd.py", "attention_cmd.py", "export_cmd.py",
                                       "compare_cmd.py", "plot_cmd.py", "common.py", "config_args.py", "launch.py")),
]  # fmt: skip


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, with its line (relative imports resolved against the lmlab package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(LMLAB.parent).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            out.append((node.lineno, base))
    return out


@pytest.mark.parametrize("path", SHARED, ids=lambda p: str(p.relative_to(LMLAB)))
def test_shared_layers_import_no_task_package(path):
    offending = [
        f"line {line}: {module}"
        for line, module in imported_modules(path)
        if any(module == f"lmlab.{t}" or module.startswith(f"lmlab.{t}.") for t in TASK_PACKAGES)
    ]
    assert not offending, f"{path.relative_to(LMLAB)} imports a task package: {offending}"


def test_every_task_package_has_the_same_shape():
    """Each task is a package beside the others, with its models, its training task and its inference API."""
    for task in TASK_PACKAGES:
        folder = LMLAB / task
        assert (folder / "__init__.py").is_file(), task
        assert (folder / "api.py").is_file(), f"lmlab/{task} has no api.py (lmlab.load)"
        assert (folder / "spec.py").is_file(), f"lmlab/{task} has no spec.py (its entry in lmlab.tasks.TASKS)"
        assert (folder / "models").is_dir() or task == "word2vec", f"lmlab/{task} has no models/"


@pytest.mark.parametrize("task", TASK_PACKAGES)
def test_a_task_package_imports_no_other_task(task):
    """Tasks are peers: what two tasks share lives in a shared layer (metrics, sampling, bucketing, run files)."""
    offending = [
        f"{path.relative_to(LMLAB)} line {line}: {module}"
        for path in sorted((LMLAB / task).rglob("*.py"))
        for line, module in imported_modules(path)
        if any(module == f"lmlab.{t}" or module.startswith(f"lmlab.{t}.") for t in TASK_PACKAGES if t != task)
    ]
    assert not offending, offending
