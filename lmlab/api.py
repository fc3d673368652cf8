"""One way to use any trained run: ``lmlab.load(RUN)`` and three verbs, whatever the task.

::

    import lmlab
    m = lmlab.load("runs/bahdanau")      # any task's run directory (or an ARPA file)
    m.task, m.family                     # "translate", "bahdanau"
    m.predict(["ein Hund läuft ."])      # a list of JSON-ready dicts, one per input
    m.explain("ein Hund läuft .")        # the task's views of one input: matrices as nested lists, with labels
    m.describe()                         # configuration, parameter count, data, final metrics

``load`` reads the run's ``config.json`` as untrusted input (:func:`lmlab.runfiles.read_versioned_json`), finds its
task in :data:`lmlab.tasks.TASKS` and hands the folder to that task's ``load_run``, which returns a
:class:`TrainedRun`. Nothing here knows a task: the shared layers (the CLI's verbs, a web page) use this contract
and never import a task package. Outputs are plain dicts of strings, numbers and lists (``json.dumps`` takes them),
their sizes bounded by the options (top-k, feature-map sizes), so that a caller can put them on a page.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmlab.errors import LmlabError


class TrainedRun(ABC):
    """A trained model of any task, loaded from its run directory (see the module docstring)."""

    #: the task's name in :data:`lmlab.tasks.TASKS` ("lm", "classify", ...)
    task: str = ""
    #: what ``predict`` takes: "text" (a string), "image" (a file path or an array), "node" (an id), "word"
    inputs: str = "text"
    #: the verbs beyond predict/explain/describe the run answers: "generate" (language models), "analogy" (word
    #: vectors)
    verbs: tuple[str, ...] = ()

    def __init__(self, path: str | Path, config: dict[str, Any]):
        self.path = Path(path)
        self.config = config
        self.family: str = str(config.get("family", ""))

    @abstractmethod
    def predict(self, inputs: Sequence[Any], **options: Any) -> list[dict[str, Any]]:
        """One JSON-ready dict per input (a text, a sentence, an image, a node id, a word: the task says)."""

    @abstractmethod
    def explain(self, one_input: Any, **options: Any) -> dict[str, Any]:
        """The task's views of one input (attention, alignments, feature maps, ...), JSON-ready."""

    def num_parameters(self) -> int:
        """Trained numbers in the model (0 when the task cannot say)."""
        return 0

    def describe(self) -> dict[str, Any]:
        """What the run is: its task, family, configuration, size, data and final metrics."""
        stats = self.config.get("stats") if isinstance(self.config.get("stats"), dict) else {}
        metrics = {k: v for k, v in stats.items() if k.startswith(("best_val_", "final_val_")) and _is_number(v)}
        return json_ready(
            {
                "path": str(self.path),
                "task": self.task,
                "family": self.family,
                "model": self.config.get("model", {}),
                "parameters": self.num_parameters(),
                "data": self.config.get("data", {}),
                "status": stats.get("status"),
                "metrics": metrics,
                "train_seconds": stats.get("train_seconds"),
                "created": self.config.get("created"),
                "command": self.config.get("command"),
            }
        )

    def __repr__(self) -> str:
        return f"<lmlab {self.task} run {self.family!r} at {self.path}>"


def load(path: str | Path) -> TrainedRun:
    """The trained model of the run directory ``path`` (any task), or of an ARPA file (a language model).

    A folder that is not a run, a run of a task this lmlab does not know, or a damaged file is one
    :class:`~lmlab.errors.LmlabError` line.
    """
    from lmlab.runfiles import read_versioned_json
    from lmlab.tasks import DEFAULT_TASK, get_task

    path = Path(path)
    if path.is_file():  # only language models come as one file (ARPA)
        return get_task(DEFAULT_TASK).load_run(path)
    if not path.is_dir():
        raise LmlabError(f"{path} does not exist (expected a run directory or an ARPA file)")
    cfg = read_versioned_json(
        path / "config.json", "lmlab-run", 1, "run configuration", missing=f"{path} is not a run (no config.json)"
    )
    task = cfg.get("task", DEFAULT_TASK)
    if not isinstance(task, str):
        raise LmlabError(f"{path / 'config.json'}: field 'task' must be a string")
    try:
        spec = get_task(task)
    except LmlabError as e:
        raise LmlabError(f"{path / 'config.json'}: field 'task': {e}") from None
    return spec.load_run(path)


# ---- helpers every task's TrainedRun uses
def json_ready(value: Any) -> Any:
    """``value`` with numpy arrays and scalars, tuples and paths made plain JSON types; non-finite floats None.

    >>> import numpy as np
    >>> json_ready({"a": np.arange(3), "b": (np.float32(0.5), float("nan")), "c": Path("x")})
    {'a': [0, 1, 2], 'b': [0.5, None], 'c': 'x'}
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars, torch tensors
        return json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def bounded_int(value: Any, name: str, low: int, high: int) -> int:
    """``value`` if it is an integer in ``[low, high]``, else an LmlabError naming the option and the range.

    >>> bounded_int(5, "top_k", 1, 100)
    5
    >>> bounded_int(0, "top_k", 1, 100)
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: top_k must be an integer from 1 to 100, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LmlabError(f"{name} must be an integer from {low} to {high:,}, got {value!r}")
    return value


def inputs_list(inputs: Any, what: str) -> list[Any]:
    """``predict``'s inputs as a list: a single string is one input, not a sequence of characters."""
    if isinstance(inputs, (str, bytes, Path)) or not isinstance(inputs, Sequence):
        raise LmlabError(f"predict takes a list of {what}; wrap a single one in a list")
    return list(inputs)


def nonempty_text(text: Any, what: str = "text") -> str:
    """``text`` if it is a string with something besides white space, else an LmlabError."""
    if not isinstance(text, str):
        raise LmlabError(f"a {what} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise LmlabError(f"the {what} is empty; give at least one word")
    return text


__all__ = ["TrainedRun", "bounded_int", "inputs_list", "json_ready", "load", "nonempty_text"]
