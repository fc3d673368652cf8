"""Trainings started from the page: one at a time, each an ``lmlab train`` process writing a run under the root.

A job is the command ``lmlab train --task T --model M --data D --max-seconds S --out ROOT/playground/NAME`` in a
process of its own (its own session, so that the server's Ctrl-C is not its Ctrl-C). Its curve is its
``metrics.jsonl``, read as it grows (from the partial folder until the run is placed, then from the run); its last
lines of output are kept to show why it stopped. Stopping sends SIGINT: the trainer saves the run as after
Ctrl-C. What a job may train is what ``lmlab train`` accepts; its one-line error is the job's error.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_SECONDS = 3600.0  # a training started from the page runs at most an hour
LOG_EVERY = 2  # steps between metrics rows of a training started from the page (the curve's resolution)
PLAYGROUND = "playground"  # the folder under the root where the page's trainings go
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Job:
    id: str
    out: Path
    argv: list[str]
    process: subprocess.Popen
    started: float = field(default_factory=time.time)
    output: deque = field(default_factory=lambda: deque(maxlen=40))
    stopping: bool = False

    @property
    def status(self) -> str:
        code = self.process.poll()
        if code is None:
            return "stopping" if self.stopping else "running"
        if code == 0:
            return "finished"
        if self.stopping or code in (130, -signal.SIGINT):
            return "stopped"
        return "failed"

    def metrics_file(self) -> Path | None:
        """Where the job's metrics are now: the run once placed, before that its partial build."""
        placed = self.out / "metrics.jsonl"
        if placed.is_file():
            return placed
        partial = sorted(self.out.parent.glob(f".{self.out.name}.partial-*/metrics.jsonl"))
        return partial[0] if partial else None

    def describe(self) -> dict[str, Any]:
        lines = list(self.output)
        error = next((line for line in reversed(lines) if line.startswith("lmlab: error:")), None)
        return {
            "job": self.id,
            "status": self.status,
            "command": " ".join(self.argv[2:]),
            "out": f"{PLAYGROUND}/{self.out.name}",
            "seconds": round(time.time() - self.started, 1),
            "error": error,
            "output": lines[-10:],
        }


class Jobs:
    def __init__(self, root: Path):
        self.root = root
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def running(self) -> Job | None:
        return next((j for j in self.jobs.values() if j.process.poll() is None), None)

    def start(self, request: dict[str, Any]) -> Job:
        """Start ``lmlab train`` for ``request`` (task, model, data, max_seconds, optional name and tokenizer), or
        ValueError with one line (another training runs; a field missing or of the wrong kind)."""
        from lmlab.tasks import TASKS

        task = request.get("task", "lm")
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        model = request.get("model")
        families = TASKS[task].family_table()
        if model not in families:
            raise ValueError(f"model must be one of the {task} task's: {', '.join(families)}; got {model!r}")
        data = request.get("data")
        if not isinstance(data, str) or not data:
            raise ValueError("data must be the name of a corpus lmlab knows (lmlab data list)")
        data = self._data(data)
        seconds = request.get("max_seconds", 60)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 1 <= seconds <= MAX_SECONDS:
            raise ValueError(f"max_seconds must be a number from 1 to {MAX_SECONDS:g}")
        name = request.get("name") or f"{task}-{model}-{time.strftime('%Y%m%d-%H%M%S')}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError("name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        tokenizer = request.get("tokenizer")
        if tokenizer is not None and tokenizer not in ("char", "word", "bpe"):
            raise ValueError(f"tokenizer must be char, word or bpe; got {tokenizer!r}")
        preset = request.get("preset")
        if preset is not None and preset not in TASKS[task].preset_names():
            names = ", ".join(TASKS[task].preset_names()) or "none"
            raise ValueError(f"preset must be one of the {task} task's ({names}); got {preset!r}")
        out = self.root / PLAYGROUND / name
        argv = [sys.executable, "-m", "lmlab", "train", "--task", task, "--model", model, "--data", data]
        argv += ["--max-seconds", f"{float(seconds):g}", "--out", str(out)]
        if tokenizer is not None:
            argv += ["--tokenizer", tokenizer]
        if preset is not None:
            argv += ["--preset", preset]
        if not TASKS[task].single_process:  # it trains on lmlab's engine: a row every few steps, for a live curve
            argv += ["--log-every", str(LOG_EVERY)]
        with self._lock:
            if self.running() is not None:
                raise RuntimeError("a training is already running; stop it or wait for it to finish")
            if out.exists():
                raise ValueError(f"{PLAYGROUND}/{name} exists already; choose another name")
            out.parent.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                cwd=self.root,
            )
            job = Job(secrets.token_hex(8), out, argv, process)
            self.jobs[job.id] = job
        threading.Thread(target=_collect_output, args=(job,), daemon=True).start()
        return job

    def _data(self, data: str) -> str:
        """A named corpus, or a file or folder under the root given relative to it (no '..', no link out)."""
        from lmlab.data.registry import DATASETS

        if data in DATASETS:
            return data
        path = self.root / data
        inside = not Path(data).is_absolute() and ".." not in Path(data).parts
        if inside and path.exists() and not path.is_symlink() and path.resolve().is_relative_to(self.root):
            return str(path.resolve())
        raise ValueError(
            f"data must be a named corpus ({', '.join(sorted(DATASETS))}) or a file or folder under the root; "
            f"got {data!r}"
        )

    def stop(self, job: Job) -> None:
        if job.process.poll() is None:
            job.stopping = True
            job.process.send_signal(signal.SIGINT)

    def stop_all(self, grace: float = 10.0) -> None:
        for job in self.jobs.values():
            self.stop(job)
        for job in self.jobs.values():
            try:
                job.process.wait(grace)
            except subprocess.TimeoutExpired:
                job.process.kill()


def _collect_output(job: Job) -> None:
    assert job.process.stdout is not None
    for raw in job.process.stdout:
        for line in raw.decode("utf-8", "replace").replace("\r", "\n").splitlines():
            if line.strip():
                job.output.append(line.rstrip()[:500])
    job.process.stdout.close()


def read_new_rows(path: Path | None, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The complete JSON lines of ``path`` after byte ``offset``, and the offset after them."""
    if path is None:
        return [], offset
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read(1 << 20)
    except OSError:
        return [], offset
    end = chunk.rfind(b"\n") + 1
    rows = []
    for line in chunk[:end].splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows, offset + end


__all__ = ["Job", "Jobs", "MAX_SECONDS", "PLAYGROUND", "read_new_rows"]
