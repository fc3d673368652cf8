"""The runs and comparison reports under ``lmlab serve --root``, by opaque id.

A run is a directory holding an lmlab ``config.json`` (``"format": "lmlab-run"``); a report is a directory holding
``results.json`` and ``report.html`` (``lmlab compare``). They are found by walking the root (resolved once) without
following symbolic links and without entering hidden folders (lmlab's partial builds and locks start with a dot), a
bounded number of entries deep and wide. A run's id is a hash of its path relative to the root: requests name ids,
never paths, so nothing outside the root can be asked for. Models are loaded through :func:`lmlab.load` (safetensors
and checked JSON only) and kept while they are used: the most recently used :data:`MAX_LOADED`, each reloaded when its
``config.json`` changes (a training that goes on in place).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmlab.errors import LmlabError

MAX_DEPTH = 4  # root/group/report/runs/family
MAX_ENTRIES = 20_000  # directory entries looked at in one walk
MAX_LOADED = 8
_MAX_CONFIG_BYTES = 16 << 20


@dataclass(frozen=True)
class Found:
    id: str
    path: Path  # resolved, inside the root
    rel: str  # relative to the root, with "/"
    kind: str  # "run" or "report"


def _id(rel: str, kind: str) -> str:
    return hashlib.sha256(f"{kind}:{rel}".encode()).hexdigest()[:16]


def _small_json(path: Path) -> Any:
    try:
        st = path.lstat()
        if not path.is_file() or path.is_symlink() or st.st_size > _MAX_CONFIG_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class RunIndex:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self._models: OrderedDict[str, tuple[float, Any, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    # ---- finding
    def walk(self) -> list[Found]:
        """Every run and report under the root, sorted by path."""
        found: list[Found] = []
        seen = 0
        stack = [(self.root, 0)]
        while stack and seen < MAX_ENTRIES:
            folder, depth = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            names = {e.name for e in entries}
            rel = folder.relative_to(self.root).as_posix()
            if "config.json" in names and folder != self.root:
                cfg = _small_json(folder / "config.json")
                if isinstance(cfg, dict) and cfg.get("format") == "lmlab-run":
                    found.append(Found(_id(rel, "run"), folder, rel, "run"))
                    continue  # a run's own folders (checkpoints) hold no runs
            if {"results.json", "report.html"} <= names and folder != self.root:
                found.append(Found(_id(rel, "report"), folder, rel, "report"))
            if depth >= MAX_DEPTH:
                continue
            for e in entries:
                seen += 1
                if e.name.startswith(".") or not e.is_dir(follow_symlinks=False):
                    continue
                stack.append((Path(e.path), depth + 1))
        return sorted(found, key=lambda f: f.rel)

    def find(self, item_id: str, kind: str = "run") -> Found:
        for f in self.walk():
            if f.id == item_id and f.kind == kind:
                return f
        raise KeyError(item_id)

    # ---- loading
    def model(self, item_id: str) -> tuple[Any, threading.Lock]:
        """The loaded run ``item_id`` and the lock its predictions take (one at a time per model)."""
        import lmlab

        found = self.find(item_id)
        try:
            stamp = (found.path / "config.json").stat().st_mtime
        except OSError:
            raise KeyError(item_id) from None
        with self._lock:
            cached = self._models.get(item_id)
            if cached is not None and cached[0] == stamp:
                self._models.move_to_end(item_id)
                return cached[1], cached[2]
        model = lmlab.load(found.path)  # outside the index's lock: loading may take a while
        lock = threading.Lock()
        with self._lock:
            self._models[item_id] = (stamp, model, lock)
            self._models.move_to_end(item_id)
            while len(self._models) > MAX_LOADED:
                self._models.popitem(last=False)
        return model, lock

    @property
    def loaded(self) -> int:
        return len(self._models)

    def summary(self, found: Found) -> dict[str, Any]:
        """What the list of runs shows: task, family, data and final metrics, read from config.json alone."""
        cfg = _small_json(found.path / "config.json")
        if not isinstance(cfg, dict):
            raise LmlabError(f"{found.rel}: config.json is not readable")
        stats = cfg.get("stats") if isinstance(cfg.get("stats"), dict) else {}
        metrics = {
            k: v
            for k, v in stats.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k.startswith(("best_val_", "final_val_"))
        }
        data = cfg.get("data") if isinstance(cfg.get("data"), dict) else {}
        return {
            "id": found.id,
            "task": str(cfg.get("task", "lm")),
            "family": str(cfg.get("family", "")),
            "path": found.rel,
            "data": Path(str(data.get("spec") or "")).name,  # a named corpus, or a file's name (not its path)
            "metrics": metrics,
            "status": stats.get("status"),
            "created": cfg.get("created"),
        }


__all__ = ["Found", "MAX_LOADED", "RunIndex"]
