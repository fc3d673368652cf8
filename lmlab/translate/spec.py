"""The translate task as the shared layers see it: its name, families, command-line parts, comparison profile and
inference API, each named as a "module:attr" string loaded on first use (reading it imports no PyTorch)."""

from lmlab.taskspec import Task

SPEC = Task(
    "translate",
    "machine translation (BLEU)",
    "lmlab.translate.models:TRANSLATORS",
    "lmlab.cli.translate_task",
    "lmlab.translate.compare:TRANSLATE_PROFILE",
    api="lmlab.translate.api:load_run",
    verbs=("attention",),
    noun="a translation run",
    commands=("lmlab.cli.translate_cmd",),
    data_kinds=("parallel",),
    presets="lmlab.translate.presets:PRESETS",
)
