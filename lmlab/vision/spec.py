"""The image task as the shared layers see it: its name, families, command-line parts, comparison profile and
inference API, each named as a "module:attr" string loaded on first use (reading it imports no PyTorch)."""

from lmlab.taskspec import Task

SPEC = Task(
    "image",
    "image classification (accuracy)",
    "lmlab.vision.models:IMAGE_MODELS",
    "lmlab.cli.image_task",
    "lmlab.vision.compare:IMAGE_PROFILE",
    api="lmlab.vision.api:load_run",
    verbs=("attention", "plot_network"),
    noun="an image-classification run",
    commands=("lmlab.cli.classify_cmd", "lmlab.cli.vision_cmd"),
    data_kinds=("images",),
)
