"""The per-run metrics log ``RUN/metrics.jsonl``: one JSON object per line, appended as training goes.

Two kinds of rows:

* a logged training step: ``{"step", "epoch", "train_loss", "train_perplexity", "lr", "grad_norm",
  "tokens_per_s", "elapsed_s"}``, the loss being the token-weighted mean since the previous row;
* an evaluation: ``{"step", "epoch", "val_loss", "val_perplexity", "elapsed_s"}``.

Each row is flushed when written, so the file can be followed (or plotted) while a run goes on. The file is opened
with ``O_NOFOLLOW``: a ``metrics.jsonl`` that is a link out of the run is an error, not a way to write elsewhere.
Optionally the same scalars go to TensorBoard (``pip install tensorboard``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from lmlab.errors import LmlabError
from lmlab.io import atomic_open, open_append
from lmlab.rundir import require_no_link


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a metrics file; a last line cut short by a crash is skipped."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def truncate_metrics(path: str | Path, step: int) -> None:
    """Keep only the rows up to ``step`` (a resumed run rewrites what came after its checkpoint)."""
    path = Path(path)
    require_no_link(path, directory=False)
    if not path.exists():
        return
    rows = [r for r in read_metrics(path) if r.get("step", 0) <= step]
    with atomic_open(path) as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def tensorboard_available() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


class MetricsLog:
    """Appends rows to ``metrics.jsonl`` (and TensorBoard when ``tensorboard_dir`` is given)."""

    def __init__(self, path: str | Path, tensorboard_dir: str | Path | None = None):
        self._open(Path(path), tensorboard_dir)

    def _open(self, path: Path, tensorboard_dir: str | Path | None) -> None:
        self.path = path
        self._file = open_append(path)
        self._tb = None
        if tensorboard_dir is not None:
            if not tensorboard_available():
                raise LmlabError("--tensorboard needs the tensorboard package: pip install 'lmlab[tensorboard]'")
            from torch.utils.tensorboard import SummaryWriter

            require_no_link(tensorboard_dir, directory=True)
            self._tb = SummaryWriter(str(tensorboard_dir))

    def move(self, path: str | Path, tensorboard_dir: str | Path | None = None) -> None:
        """Go on writing at ``path`` (the run's folder was renamed into place: see :class:`lmlab.rundir.RunBuild`)."""
        self.close()
        self._open(Path(path), tensorboard_dir)

    def write(self, row: dict[str, Any]) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        self._file.write(json.dumps(clean) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in row.items():
                if key not in ("step", "epoch") and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, row["step"])

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class NoMetricsLog:
    """The log of a process that writes no files (ranks > 0 of a multi-process run): rows go nowhere."""

    def move(self, path: str | Path, tensorboard_dir: str | Path | None = None) -> None:
        return None

    def write(self, row: dict[str, Any]) -> None:
        return None

    def __enter__(self) -> NoMetricsLog:
        return self

    def __exit__(self, *exc) -> None:
        return None


__all__ = ["MetricsLog", "NoMetricsLog", "read_metrics", "tensorboard_available", "truncate_metrics"]
