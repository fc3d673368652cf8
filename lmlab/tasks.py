"""The tasks lmlab trains: the one place where the shared layers meet the task packages.

``TASKS`` gathers each task package's declared spec (``lmlab/<task>/spec.py``, a :class:`lmlab.taskspec.Task`):
its families, its command-line parts and optional verbs, its comparison profile, its presets and its inference API,
each named lazily so that reading the table imports no PyTorch. ``lmlab train``, ``eval``, ``attention``,
``export``, ``compare`` and :func:`lmlab.load` reach a task only through this table and the ``"task"`` field of a
run's ``config.json`` (runs made before tasks existed have none: they are language models).
"""

from __future__ import annotations

from typing import Any

from lmlab.classify.spec import SPEC as _CLASSIFY
from lmlab.graph.spec import SPEC as _GRAPH
from lmlab.lm.spec import SPEC as _LM
from lmlab.tag.spec import SPEC as _TAG
from lmlab.taskspec import Task
from lmlab.translate.spec import SPEC as _TRANSLATE
from lmlab.vision.spec import SPEC as _VISION
from lmlab.word2vec.spec import SPEC as _WORD2VEC

DEFAULT_TASK = "lm"


#: every task lmlab trains, by name: each task package's ``spec.py``
TASKS: dict[str, Task] = {spec.name: spec for spec in (_LM, _CLASSIFY, _GRAPH, _TRANSLATE, _VISION, _TAG, _WORD2VEC)}


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
    from pathlib import Path

    from lmlab.runconfig import read_run_config

    if Path(path).is_file():
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
    "Task",
    "check_run_task",
    "command_modules",
    "config_and_task_of_path",
    "get_family_of",
    "get_task",
    "task_of_path",
    "task_of_run",
]
