"""The tag task as the shared layers see it: its name, families, command-line parts, comparison profile and
inference API, each named as a "module:attr" string loaded on first use (reading it imports no PyTorch)."""

from lmlab.taskspec import Task

SPEC = Task(
    "tag",
    "sequence labelling: part-of-speech tags, named entities (accuracy per word, span F1)",
    "lmlab.tag.models:TAGGERS",
    "lmlab.cli.tag_task",
    "lmlab.tag.compare:TAG_PROFILE",
    api="lmlab.tag.api:load_run",
    verbs=("attention",),
    noun="a tagging run",
    commands=("lmlab.cli.tag_cmd",),
    data_kinds=("tagging",),
)
