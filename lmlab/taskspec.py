"""What a task declares to lmlab's shared layers (one ``spec.py`` in each task package, gathered in
:data:`lmlab.tasks.TASKS`). Every part is named lazily, as ``"module:attr"``, so reading the table imports no
PyTorch."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any


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
    #: plot_embeddings, plot_network (declared, never looked for)
    verbs: tuple[str, ...] = ()
    #: "module:ATTR", the task's named recipes (``--preset``), a dict of name -> recipe ("" when it has none)
    presets: str = ""
    #: what one of its runs is called in a message ("a language-model run", "a translation run")
    noun: str = ""
    #: the modules of the task's own verbs (``lmlab generate``, ``classify``, ``translate``, ``similar`` and
    #: ``analogy``, ``tag``, ``conv`` and ``cnn-shapes``): each has ``register(sub)``; a module may serve several
    #: tasks (``lmlab classify`` labels texts and images), and a verb given a run of a task that does not declare
    #: its module says so in one line (:func:`lmlab.tasks.check_run_task`)
    commands: tuple[str, ...] = ()
    #: the kinds of named corpus (lmlab.data.registry) the task trains on, for lists of what it can read
    data_kinds: tuple[str, ...] = ()
    #: "module:function", evaluate(args, run_cfg) -> exit status, or None (``run_cfg``: the run's config.json as
    #: ``lmlab eval`` read it, None for a file): ``lmlab eval`` of the runs it can evaluate
    #: without importing the modules ``cli`` imports (a language model's n-gram model file: no NumPy), called
    #: before ``cli``'s evaluate, which runs where it returns None ("": the task has none)
    lean_eval: str = ""

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

    def lean_eval_fn(self) -> Any:
        """The task's lean ``lmlab eval`` (see ``lean_eval``), or None."""
        return self._load(self.lean_eval) if self.lean_eval else None

    def preset_names(self) -> list[str]:
        return list(self._load(self.presets)) if self.presets else []

    def load_run(self, path: Any) -> Any:
        """The task's :class:`lmlab.api.TrainedRun` for the run at ``path``."""
        if not self.api:
            from lmlab.errors import LmlabError

            raise LmlabError(f"the {self.name} task has no inference API yet (lmlab.load)")
        return self._load(self.api)(path)


__all__ = ["Task"]
