"""The classify task as the shared layers see it: its name, families, command-line parts, comparison profile and
inference API, each named as a "module:attr" string loaded on first use (reading it imports no PyTorch)."""

from lmlab.taskspec import Task

SPEC = Task(
    "classify",
    "text classification (accuracy)",
    "lmlab.classify.models:CLASSIFIERS",
    "lmlab.cli.classify_task",
    "lmlab.classify.compare:CLASSIFY_PROFILE",
    api="lmlab.classify.api:load_run",
    verbs=("attention",),
    noun="a classification run",
    commands=("lmlab.cli.classify_cmd",),
    data_kinds=("classification",),
)
