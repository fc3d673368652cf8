"""The graph task as the shared layers see it: its name, families, command-line parts, comparison profile and
inference API, each named as a "module:attr" string loaded on first use (reading it imports no PyTorch)."""

from lmlab.taskspec import Task

SPEC = Task(
    "graph",
    "node classification on a graph (accuracy)",
    "lmlab.graph.models:GRAPH_MODELS",
    "lmlab.cli.graph_task",
    "lmlab.graph.compare:GRAPH_PROFILE",
    api="lmlab.graph.api:load_run",
    verbs=("attention", "plot_embeddings"),
    noun="a graph run",
    data_kinds=("graph",),
)
