"""The lm task as the shared layers see it: its name, families, command-line parts, comparison profile and
inference API, each named as a "module:attr" string loaded on first use (reading it imports no PyTorch)."""

from lmlab.taskspec import Task

SPEC = Task(
    "lm",
    "language modelling (perplexity)",
    "lmlab.lm.models:FAMILIES",
    "lmlab.lm.cli",
    "lmlab.lm.compare:LM_PROFILE",
    api="lmlab.lm.api:load_run",
    lean_eval="lmlab.lm.lean_eval:evaluate",
    lean_export="lmlab.lm.lean_eval:export",
    verbs=("attention", "export"),
    presets="lmlab.lm.presets:PRESETS",
    noun="a language-model run",
    commands=("lmlab.cli.generate_cmd",),
    data_kinds=("text", "names"),
)
