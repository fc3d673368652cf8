"""The tasks lmlab trains: the one place where the shared layers meet the task packages.

``TASKS`` gathers each task package's declared spec (``lmlab/<task>/spec.py``, a :class:`lmlab.taskspec.Task`):
its families, its command-line parts and optional verbs, its comparison profile, its presets and its inference API,
each named lazily so that reading the table imports no PyTorch. ``lmlab train``, ``eval``, ``attention``,
``export``, ``compare`` and :func:`lmlab.load` reach a task only through this table and the ``"task"`` field of a
run's ``config.json`` (runs made before tasks existed have none: they are language models).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from lmlab.lazy import import_module
from lmlab.taskspec import Task

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from typing import Any

DEFAULT_TASK = "lm"

#: the package of each task, by the task's name, in the table's order: ``lmlab/<package>/spec.py`` declares it
TASK_PACKAGES = {
    "lm": "lm",
    "classify": "classify",
    "graph": "graph",
    "translate": "translate",
    "image": "vision",
    "tag": "tag",
    "word2vec": "word2vec",
}


class TaskTable(Mapping):
    """Every task lmlab trains, by name, each task's spec imported when it is first asked for: ``lmlab eval`` of a
    language model reads one spec, not seven packages and their specs (a tenth of its lean path's time)."""

    def __getitem__(self, name: str) -> Task:
        if name not in TASK_PACKAGES:
            raise KeyError(name)
        return import_module(f"lmlab.{TASK_PACKAGES[name]}.spec").SPEC

    def __contains__(self, name: object) -> bool:
        return name in TASK_PACKAGES

    def __iter__(self) -> Iterator[str]:
        return iter(TASK_PACKAGES)

    def __len__(self) -> int:
        return len(TASK_PACKAGES)


#: every task lmlab trains, by name: each task package's ``spec.py``
TASKS: Mapping[str, Task] = TaskTable()


def get_task(name: str) -> Task:
    from lmlab.errors import LmlabError

    if name not in TASKS:
        raise LmlabError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[name]


def task_of_run(run_cfg: dict[str, Any]) -> Task:
    """The task of a run from its ``config.json`` or checkpoint (language modelling when it names none)."""
    return get_task(run_cfg.get("task", DEFAULT_TASK))


def config_and_task_of_path(path: Any) -> tuple[dict[str, Any] | None, Task]:
    """The ``config.json`` of the run directory ``path`` (read once, as untrusted input) and its task; a file is an
    ARPA language model, which has no config (None)."""
    import os

    from lmlab.runconfig import read_run_config

    if os.path.isfile(path):
        return None, get_task(DEFAULT_TASK)
    run_cfg = read_run_config(path)
    return run_cfg, task_of_run(run_cfg)


def task_of_path(path: Any) -> Task:
    """The task of the run directory ``path`` (its ``config.json`` read as untrusted input); a file is an ARPA
    language model."""
    return config_and_task_of_path(path)[1]


def get_family_of(run_cfg: dict[str, Any]) -> Any:
    """The family entry of a run's ``family`` in its task's table, or an LmlabError naming the known ones."""
    from lmlab.errors import LmlabError

    table = task_of_run(run_cfg).family_table()
    name = run_cfg.get("family", "")
    if name not in table:
        raise LmlabError(f"unknown model family {name!r}; choose one of: {', '.join(table)}")
    return table[name]


def command_modules() -> list[str]:
    """The modules of the verbs the tasks declare (``Task.commands``), each once, in the table's order."""
    return list(dict.fromkeys(module for spec in TASKS.values() for module in spec.commands))


def check_run_task(run: Any, command: str, expects: str) -> Task:
    """The task of the run at ``run`` (a directory, or an ARPA file: a language model), when it declares the verb
    module ``command``; otherwise one line: ``RUN is a translation run, not a language model (expects)``."""
    from pathlib import Path

    from lmlab.errors import LmlabError

    path = Path(run)
    if not path.is_dir():  # an ARPA file is a language model; the loader names what is wrong with it
        if command in TASKS[DEFAULT_TASK].commands:
            return TASKS[DEFAULT_TASK]
        raise LmlabError(f"{run} is not a run directory" if path.exists() else f"{run} does not exist")
    task = task_of_path(path)
    if command not in task.commands:
        takers = ", ".join(spec.name for spec in TASKS.values() if command in spec.commands)
        raise LmlabError(f"{run} is {task.noun or f'a {task.name} run'}, not {expects} (a run of: {takers})")
    return task


__all__ = [
    "DEFAULT_TASK",
    "TASKS",
    "TASK_PACKAGES",
    "Task",
    "check_run_task",
    "command_modules",
    "config_and_task_of_path",
    "get_family_of",
    "get_task",
    "task_of_path",
    "task_of_run",
]
