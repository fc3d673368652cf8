"""What a task declares to lmlab's shared layers (one ``spec.py`` in each task package, gathered in
:data:`lmlab.tasks.TASKS`). Every part is named lazily, as ``"module:attr"``, so reading the table imports no
PyTorch."""

from __future__ import annotations

from lmlab.lazy import import_module

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any


class Task:
    """A task's declaration: its name and one-line summary, then each part named as ``"module:attr"`` (or a module).

    A plain class with slots, not a dataclass: every lmlab command reads the table of tasks, and the dataclasses
    module imports inspect (ast, dis, tokenize), about a tenth of ``lmlab eval``'s time on an n-gram model file.

    - ``families``: ``"module:ATTR"``, a dict of family name -> family (with config_class())
    - ``cli``: the task's command-line module: add_train_flags(parser, family, resuming), train(args),
      evaluate(args), and the optional verbs it declares in ``verbs``
    - ``compare``: ``"module:ATTR"``, the task's lmlab.compare.CompareProfile
    - ``single_process``: why the task cannot train on several processes ("" when it can: it trains on lmlab's
      engine)
    - ``api``: ``"module:function"``: load_run(path) -> lmlab.api.TrainedRun, what lmlab.load returns for the
      task's runs
    - ``verbs``: the optional functions of ``cli`` the shared verbs call: attention, export, plot_words,
      plot_embeddings, plot_network (declared, never looked for)
    - ``presets``: ``"module:ATTR"``, the task's named recipes (``--preset``), a dict of name -> recipe ("" when it
      has none)
    - ``noun``: what one of its runs is called in a message ("a language-model run", "a translation run")
    - ``commands``: the modules of the task's own verbs (``lmlab generate``, ``classify``, ``translate``,
      ``similar`` and ``analogy``, ``tag``, ``conv`` and ``cnn-shapes``): each has ``register(sub)``; a module may
      serve several tasks (``lmlab classify`` labels texts and images), and a verb given a run of a task that does
      not declare its module says so in one line (:func:`lmlab.tasks.check_run_task`)
    - ``data_kinds``: the kinds of named corpus (lmlab.data.registry) the task trains on, for lists of what it can
      read
    - ``lean_eval``: ``"module:function"``, evaluate(args, run_cfg) -> exit status, or None (``run_cfg``: the run's
      config.json as ``lmlab eval`` read it, None for a file): ``lmlab eval`` of the runs it can evaluate without
      importing the modules ``cli`` imports (a language model's n-gram model file: no NumPy), called before
      ``cli``'s evaluate, which runs where it returns None ("": the task has none)
    - ``lean_export``: ``"module:function"``, export(args, run_cfg) -> exit status, or None: ``lmlab export`` of the
      runs it can write without importing the modules the task's ``export`` verb imports (a language model's n-gram
      model file as ARPA: no NumPy), called before that verb, which runs where it returns None ("": none)
    - ``eval_flags``: ``"module:function"``, add_eval_flags(parser): the task's own ``lmlab eval`` flags (word
      vectors: ``--analogies``, ``--similarity``), in a module every ``lmlab eval`` imports, so a light one ("":
      none)
    """

    __slots__ = (
        "name",
        "summary",
        "families",
        "cli",
        "compare",
        "single_process",
        "api",
        "verbs",
        "presets",
        "noun",
        "commands",
        "data_kinds",
        "lean_eval",
        "lean_export",
        "eval_flags",
    )

    def __init__(
        self,
        name: str,
        summary: str,
        families: str,
        cli: str,
        compare: str,
        *,
        single_process: str = "",
        api: str = "",
        verbs: tuple[str, ...] = (),
        presets: str = "",
        noun: str = "",
        commands: tuple[str, ...] = (),
        data_kinds: tuple[str, ...] = (),
        lean_eval: str = "",
        lean_export: str = "",
        eval_flags: str = "",
    ):
        self.name, self.summary, self.families, self.cli, self.compare = name, summary, families, cli, compare
        self.single_process, self.api, self.verbs, self.presets = single_process, api, verbs, presets
        self.noun, self.commands, self.data_kinds = noun, commands, data_kinds
        self.lean_eval, self.lean_export, self.eval_flags = lean_eval, lean_export, eval_flags

    def __repr__(self) -> str:
        return f"Task({self.name!r})"

    @staticmethod
    def _load(ref: str) -> Any:
        module, _, attr = ref.partition(":")
        return getattr(import_module(module), attr)

    def family_table(self) -> dict[str, Any]:
        return self._load(self.families)

    def compare_profile(self) -> Any:
        return self._load(self.compare)

    def cli_module(self) -> ModuleType:
        return import_module(self.cli)

    def verb(self, name: str) -> Any:
        """The task's function for the optional verb ``name``, or None when the task declares none."""
        if name not in self.verbs:
            return None
        return getattr(self.cli_module(), name)

    def eval_flags_fn(self) -> Any:
        """The task's function adding its own ``lmlab eval`` flags (see ``eval_flags``), or None."""
        return self._load(self.eval_flags) if self.eval_flags else None

    def lean_eval_fn(self) -> Any:
        """The task's lean ``lmlab eval`` (see ``lean_eval``), or None."""
        return self._load(self.lean_eval) if self.lean_eval else None

    def lean_export_fn(self) -> Any:
        """The task's lean ``lmlab export`` (see ``lean_export``), or None."""
        return self._load(self.lean_export) if self.lean_export else None

    def preset_names(self) -> list[str]:
        return list(self._load(self.presets)) if self.presets else []

    def load_run(self, path: Any) -> Any:
        """The task's :class:`lmlab.api.TrainedRun` for the run at ``path``."""
        if not self.api:
            from lmlab.errors import LmlabError

            raise LmlabError(f"the {self.name} task has no inference API yet (lmlab.load)")
        return self._load(self.api)(path)


__all__ = ["Task"]
