"""The tasks lmlab trains, and where each one's families and command-line verbs live.

``TASKS`` names every task ``lmlab train --task`` accepts. Each entry points (lazily, so that reading the table
imports no PyTorch) at the task's table of model families and at the module that gives the command line its
task-specific parts (``add_train_flags``, ``train``, ``evaluate``, ``attention``). ``lmlab train``, ``eval`` and
``attention`` reach a task only through this table and the ``"task"`` field of a run's ``config.json`` (runs made
before tasks existed have none: they are language models).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

DEFAULT_TASK = "lm"


@dataclass(frozen=True)
class Task:
    name: str
    summary: str
    families: str  # "module:ATTR", a dict of family name -> family (with config_class())
    #: the task's command-line module: add_train_flags(parser, family, resuming), train(args), evaluate(args), and
    #: the optional verbs it declares in ``verbs``
    cli: str
    compare: str  # "module:ATTR", the task's lmlab.compare.CompareProfile
    #: why the task cannot train on several processes ("" when it can: it trains on lmlab's engine)
    single_process: str = ""
    #: "module:function": load_run(path) -> lmlab.api.TrainedRun, what lmlab.load returns for the task's runs
    api: str = ""
    #: the optional functions of ``cli`` the shared verbs call: attention, export, add_eval_flags, plot_words,
    #: plot_embeddings, plot_network, classify_image (declared, never looked for)
    verbs: tuple[str, ...] = ()
    #: "module:ATTR", the task's named recipes (``--preset``), a dict of name -> recipe ("" when it has none)
    presets: str = ""

    @staticmethod
    def _load(ref: str) -> Any:
        module, _, attr = ref.partition(":")
        return getattr(importlib.import_module(module), attr)

    def family_table(self) -> dict[str, Any]:
        return self._load(self.families)

    def compare_profile(self) -> Any:
        return self._load(self.compare)

    def cli_module(self) -> ModuleType:
        return importlib.import_module(self.cli)

    def verb(self, name: str) -> Any:
        """The task's function for the optional verb ``name``, or None when the task declares none."""
        if name not in self.verbs:
            return None
        return getattr(self.cli_module(), name)

    def preset_names(self) -> list[str]:
        return list(self._load(self.presets)) if self.presets else []

    def load_run(self, path: Any) -> Any:
        """The task's :class:`lmlab.api.TrainedRun` for the run at ``path``."""
        if not self.api:
            from lmlab.errors import LmlabError

            raise LmlabError(f"the {self.name} task has no inference API yet (lmlab.load)")
        return self._load(self.api)(path)


TASKS: dict[str, Task] = {
    "lm": Task(
        "lm",
        "language modelling (perplexity)",
        "lmlab.lm.models:FAMILIES",
        "lmlab.lm.cli",
        "lmlab.lm.compare:LM_PROFILE",
        api="lmlab.lm.api:load_run",
        verbs=("attention", "export"),
        presets="lmlab.lm.presets:PRESETS",
    ),
    "classify": Task(
        "classify",
        "text classification (accuracy)",
        "lmlab.classify.models:CLASSIFIERS",
        "lmlab.cli.classify_task",
        "lmlab.classify.compare:CLASSIFY_PROFILE",
        api="lmlab.classify.api:load_run",
        verbs=("attention",),
    ),
    "graph": Task(
        "graph",
        "node classification on a graph (accuracy)",
        "lmlab.graph.models:GRAPH_MODELS",
        "lmlab.cli.graph_task",
        "lmlab.graph.compare:GRAPH_PROFILE",
        api="lmlab.graph.api:load_run",
        verbs=("attention", "plot_embeddings"),
    ),
    "translate": Task(
        "translate",
        "machine translation (BLEU)",
        "lmlab.translate.models:TRANSLATORS",
        "lmlab.cli.translate_task",
        "lmlab.translate.compare:TRANSLATE_PROFILE",
        api="lmlab.translate.api:load_run",
        verbs=("attention",),
    ),
    "image": Task(
        "image",
        "image classification (accuracy)",
        "lmlab.vision.models:IMAGE_MODELS",
        "lmlab.cli.image_task",
        "lmlab.vision.compare:IMAGE_PROFILE",
        api="lmlab.vision.api:load_run",
        verbs=("attention", "classify_image", "plot_network"),
    ),
    "tag": Task(
        "tag",
        "sequence labelling: part-of-speech tags, named entities (accuracy per word, span F1)",
        "lmlab.tag.models:TAGGERS",
        "lmlab.cli.tag_task",
        "lmlab.tag.compare:TAG_PROFILE",
        api="lmlab.tag.api:load_run",
        verbs=("attention",),
    ),
    "word2vec": Task(
        "word2vec",
        "word vectors, skip-gram and CBOW (analogy accuracy, word similarity)",
        "lmlab.word2vec.config:FAMILIES",
        "lmlab.cli.word2vec_task",
        "lmlab.word2vec.compare:WORD2VEC_PROFILE",
        single_process="word2vec trains with its own threads (Hogwild, --threads N), not on several processes",
        api="lmlab.word2vec.api:load_run",
        verbs=("add_eval_flags", "export", "plot_words"),
    ),
}


def get_task(name: str) -> Task:
    from lmlab.errors import LmlabError

    if name not in TASKS:
        raise LmlabError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[name]


def task_of_run(run_cfg: dict[str, Any]) -> Task:
    """The task of a run from its ``config.json`` or checkpoint (language modelling when it names none)."""
    return get_task(run_cfg.get("task", DEFAULT_TASK))


def task_of_path(path: Any) -> Task:
    """The task of the run directory ``path`` (its ``config.json`` read as untrusted input); a file is an ARPA
    language model."""
    from pathlib import Path

    from lmlab.runconfig import read_run_config

    path = Path(path)
    if path.is_file():
        return get_task(DEFAULT_TASK)
    return task_of_run(read_run_config(path))


def get_family_of(run_cfg: dict[str, Any]) -> Any:
    """The family entry of a run's ``family`` in its task's table, or an LmlabError naming the known ones."""
    from lmlab.errors import LmlabError

    table = task_of_run(run_cfg).family_table()
    name = run_cfg.get("family", "")
    if name not in table:
        raise LmlabError(f"unknown model family {name!r}; choose one of: {', '.join(table)}")
    return table[name]


__all__ = ["DEFAULT_TASK", "TASKS", "Task", "get_family_of", "get_task", "task_of_path", "task_of_run"]
