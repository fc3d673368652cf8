"""``lmlab serve``: the HTTP API over every run under a root, and the page that uses only it.

Every endpoint answers JSON (or a stream of server-sent events); bad input is ``{"error": "one line"}`` with a 4xx
status, never a traceback. The server knows tasks only through :func:`lmlab.load` (``predict``, ``explain``,
``describe``, and a run's declared ``verbs``: ``generate``, ``analogy``) and the task table (:mod:`lmlab.tasks`).

====================================  ==========================================================================
``GET  /api/runs``                    ``{"runs": [{"id", "task", "family", "path", "data", "metrics", ...}]}``
``GET  /api/runs/{id}``               the run's ``describe()``, its ``id``, ``inputs`` kind and ``verbs``
``POST /api/runs/{id}/predict``       ``{"inputs": [...], "options": {...}}`` -> ``{"outputs": [...]}``
``POST /api/runs/{id}/explain``       ``{"input": ..., "options": {...}}`` -> the run's ``explain``
``POST /api/runs/{id}/analogy``       ``{"a", "b", "c", "options"}`` -> ``{"outputs": [...]}`` (word vectors)
``GET  /api/runs/{id}/generate``      ``?prompt=&max_tokens=&temperature=&top_k=&top_p=&seed=&condition=``:
                                      ``text/event-stream``, one ``data: {"token", "p", "text"}`` per token,
                                      then ``event: done``
``GET  /api/tasks``                   the tasks, their families and the named corpora each can train on
``GET  /api/status``                  generations streaming now, the training running, models loaded
``POST /api/train``                   ``{"task", "model", "data", "max_seconds", "name"?}`` -> ``{"job": ID}``
``GET  /api/jobs``, ``/api/jobs/{id}`` the trainings started here and their state
``GET  /api/jobs/{id}/events``        ``text/event-stream``: ``metrics`` rows as metrics.jsonl grows, then ``end``
``POST /api/jobs/{id}/stop``          SIGINT: the run is saved as after Ctrl-C
``GET  /api/reports``                 comparison reports under the root; ``/reports/{id}/{file}`` their files
====================================  ==========================================================================

Images are sent as ``{"png": BASE64}`` (any format PIL reads; at most :data:`MAX_IMAGE_SIDE` pixels a side, read
from the header before decoding) or ``{"pixels": [[...]]}`` (rows of 0-255 values, or rows of [r, g, b]).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import inspect
import io
import json
import math
import secrets
import threading
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from lmlab.errors import LmlabError
from lmlab.serve.jobs import Jobs, read_new_rows
from lmlab.serve.runs import RunIndex
from lmlab.serve.security import COOKIE, Guard

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
MAX_INPUTS = 64  # inputs in one predict request
MAX_TEXT = 4000  # characters of one text input or prompt
MAX_GENERATE = 1000  # tokens of one generation
MAX_STREAMS = 64  # generations at once
MAX_OPTION = 1000  # any integer option (top_k, beam, max_tokens, ...), except a seed
MAX_IMAGE_SIDE = 4096
#: options only Python callers may pass (objects, not JSON)
PYTHON_ONLY = {"decoding", "rng"}
REPORT_FILES = (".html", ".png", ".svg", ".json", ".md", ".csv")


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message.splitlines()[0] if message else "bad request"}, status_code=status)


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def check_options(method: Any, options: Any, first: str) -> dict[str, Any]:
    """``options`` as keyword arguments of ``method`` (after its first argument ``first``): a JSON object of
    names the method takes, each a JSON number, string, boolean or null, integers at most :data:`MAX_OPTION`."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise BadRequest("options must be a JSON object")
    params = inspect.signature(method).parameters
    allowed = [n for n, p in params.items() if n != first and n not in PYTHON_ONLY and p.kind is not p.VAR_KEYWORD]
    for name, value in options.items():
        if name not in allowed:
            raise BadRequest(f"unknown option {name!r}; this run takes: {', '.join(allowed) or 'none'}")
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise BadRequest(f"option {name!r} must be a number, a string, true/false or null")
        if isinstance(value, float) and not math.isfinite(value):
            raise BadRequest(f"option {name!r} must be finite")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise BadRequest(f"option {name!r} is longer than {MAX_TEXT:,} characters")
        if isinstance(value, int) and not isinstance(value, bool) and name != "seed" and abs(value) > MAX_OPTION:
            raise BadRequest(f"option {name!r} must be at most {MAX_OPTION:,}, got {value:,}")
    return options


def decode_image(item: Any) -> np.ndarray:
    """An uploaded image: ``{"png": BASE64}`` or ``{"pixels": rows}`` as an array ``lmlab.load(...).predict``
    takes; the size is checked before the pixels are decoded."""
    from PIL import Image, UnidentifiedImageError

    if not isinstance(item, dict) or not ({"png", "pixels"} & item.keys()):
        raise BadRequest('an image is {"png": BASE64} (the file\'s bytes) or {"pixels": [[0-255, ...], ...]}')
    if "pixels" in item:
        try:
            a = np.asarray(item["pixels"], dtype=np.float64)
        except (ValueError, TypeError):
            raise BadRequest("pixels must be rows of numbers (or of [r, g, b]) of equal length") from None
        if a.ndim not in (2, 3) or a.size == 0 or max(a.shape[:2]) > MAX_IMAGE_SIDE or not np.isfinite(a).all():
            raise BadRequest(f"pixels must be a 2-D or 3-D array of finite numbers, at most {MAX_IMAGE_SIDE} a side")
        return np.clip(a, 0, 255).astype(np.uint8)
    data = item["png"]
    if not isinstance(data, str):
        raise BadRequest("png must be a base64 string")
    try:
        raw = base64.b64decode(data.split(",", 1)[1] if data.startswith("data:") else data, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("png is not valid base64") from None
    try:
        with Image.open(io.BytesIO(raw)) as img:
            if max(img.size) > MAX_IMAGE_SIDE or min(img.size) < 1:
                raise BadRequest(f"an image of {img.size[0]} x {img.size[1]} pixels; at most {MAX_IMAGE_SIDE} a side")
            img.load()
            if img.mode not in ("L", "RGB"):
                img = img.convert("RGBA") if "A" in img.mode or img.mode == "P" else img.convert("RGB")
            return np.asarray(img)
    except BadRequest:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise BadRequest("png is not an image PIL can read (PNG, JPEG, ...)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise BadRequest(f"png is not a readable image ({e})") from None


def check_inputs(model: Any, inputs: Any) -> list[Any]:
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("inputs must be a non-empty JSON list")
    if len(inputs) > MAX_INPUTS:
        raise BadRequest(f"at most {MAX_INPUTS} inputs at once, got {len(inputs)}")
    return [check_input(model, x) for x in inputs]


def check_input(model: Any, x: Any) -> Any:
    if model.inputs == "image":
        return decode_image(x)
    if isinstance(x, str) and len(x) > MAX_TEXT:
        raise BadRequest(f"an input is longer than {MAX_TEXT:,} characters")
    if isinstance(x, list) and (len(x) > MAX_TEXT or not all(isinstance(w, str) and len(w) <= 200 for w in x)):
        raise BadRequest(f"a list input must be at most {MAX_TEXT:,} words (strings)")
    if x is not None and not isinstance(x, (str, int, list)) or isinstance(x, bool):
        raise BadRequest("an input is a string (a text, a sentence, a word), a node id, or a list of words")
    return x


def create_app(root: str | Path, token: str | None = None, host: str = "127.0.0.1") -> Any:
    """The ASGI application over the runs under ``root``, guarded by ``token`` (:mod:`lmlab.serve.security`)."""
    from lmlab.tasks import TASKS

    token = token or secrets.token_urlsafe(24)
    index = RunIndex(root)
    jobs = Jobs(index.root)
    streams = {"active": 0}
    streams_lock = threading.Lock()

    def run_or_404(run_id: str) -> Any:
        try:
            return index.find(run_id)
        except KeyError:
            raise BadRequest(f"no run {run_id!r} under the root", 404) from None

    async def load(run_id: str) -> tuple[Any, threading.Lock]:
        run_or_404(run_id)
        try:
            return await run_in_threadpool(index.model, run_id)
        except KeyError:
            raise BadRequest(f"no run {run_id!r} under the root", 404) from None

    async def call(lock: threading.Lock, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from lmlab.api import json_ready

        def locked() -> Any:
            with lock:
                return json_ready(fn(*args, **kwargs))

        return await run_in_threadpool(locked)

    # ---- pages
    async def page(request: Request) -> Response:
        response = FileResponse(STATIC / "index.html", media_type="text/html")
        if "token" in request.query_params:
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES or not (STATIC / name).is_file():
            return error(f"no file {name!r}", 404)
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name])

    # ---- runs
    async def list_runs(request: Request) -> Response:
        found = await run_in_threadpool(index.walk)
        runs = []
        for f in found:
            if f.kind == "run":
                try:
                    runs.append(index.summary(f))
                except LmlabError:
                    continue
        return JSONResponse({"runs": runs})

    async def describe(request: Request) -> Response:
        model, lock = await load(request.path_params["id"])
        out = await call(lock, model.describe)
        out["path"] = run_or_404(request.path_params["id"]).rel  # relative to the root, as in the list
        out |= {"id": request.path_params["id"], "inputs": model.inputs, "verbs": list(model.verbs)}
        return JSONResponse(out)

    async def predict(request: Request) -> Response:
        body = await json_body(request)
        model, lock = await load(request.path_params["id"])
        inputs = check_inputs(model, body.get("inputs"))
        options = check_options(model.predict, body.get("options"), first=_first(model.predict))
        return JSONResponse({"outputs": await call(lock, model.predict, inputs, **options)})

    async def explain(request: Request) -> Response:
        body = await json_body(request)
        if "input" not in body:
            raise BadRequest('give the "input" to explain')
        model, lock = await load(request.path_params["id"])
        one = check_input(model, body["input"])
        options = check_options(model.explain, body.get("options"), first=_first(model.explain))
        return JSONResponse(await call(lock, model.explain, one, **options))

    async def analogy(request: Request) -> Response:
        body = await json_body(request)
        model, lock = await load(request.path_params["id"])
        if "analogy" not in model.verbs:
            raise BadRequest(f"a {model.task} run answers no analogies (word vectors do)")
        words = [body.get(k) for k in ("a", "b", "c")]
        if not all(isinstance(w, str) and 0 < len(w) <= 200 for w in words):
            raise BadRequest('give the words "a", "b" and "c" (a is to b as c is to ?)')
        options = check_options(model.analogy, body.get("options"), first="c")
        options = {k: v for k, v in options.items() if k not in ("a", "b")}
        return JSONResponse({"outputs": await call(lock, model.analogy, *words, **options)})

    async def generate(request: Request) -> Response:
        model, lock = await load(request.path_params["id"])
        if "generate" not in model.verbs:
            raise BadRequest(f"a {model.task} run does not generate text (language models do)")
        q = request.query_params
        prompt = q.get("prompt", "")
        if len(prompt) > MAX_TEXT:
            raise BadRequest(f"the prompt is longer than {MAX_TEXT:,} characters")
        options: dict[str, Any] = {"prompt": prompt}
        numbers = {"max_tokens": int, "temperature": float, "top_k": int, "top_p": float, "seed": int}
        for name, kind in numbers.items():
            if q.get(name) not in (None, ""):
                try:
                    options[name] = kind(q[name])
                except ValueError:
                    raise BadRequest(f"{name} must be a{'n integer' if kind is int else ' number'}") from None
        if not 1 <= options.get("max_tokens", 100) <= MAX_GENERATE:
            raise BadRequest(f"max_tokens must be from 1 to {MAX_GENERATE}")
        if q.get("condition"):
            options["condition"] = q["condition"]
        if q.get("greedy") in ("1", "true"):
            options["greedy"] = True
        with streams_lock:
            if streams["active"] >= MAX_STREAMS:
                raise BadRequest(f"{MAX_STREAMS} generations are running; try again when one ends", 503)
            streams["active"] += 1

        def start() -> Any:
            with lock:  # taken in a worker thread: the event loop never waits on a model's lock
                return model.generate(**options)  # the options are checked here

        try:
            steps = await run_in_threadpool(start)
        except BaseException:
            with streams_lock:
                streams["active"] -= 1
            raise

        async def events():
            try:
                while True:
                    if await request.is_disconnected():
                        return
                    step = await run_in_threadpool(_next_step, steps, lock)
                    if step is None:
                        break
                    payload = {"token": step["token"], "p": step["p"], "text": step["text"], "id": step.get("id")}
                    yield f"data: {json.dumps(payload)}\n\n"
                yield "event: done\ndata: {}\n\n"
            except LmlabError as e:
                yield f"event: error\ndata: {json.dumps({'error': str(e)})}\n\n"
            finally:
                with streams_lock:
                    streams["active"] -= 1

        return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})

    async def status(request: Request) -> Response:
        """What the server is doing: generations streaming now, trainings running, models loaded."""
        running = jobs.running()
        return JSONResponse(
            {
                "generations": streams["active"],
                "training": running.id if running is not None else None,
                "loaded": index.loaded,
            }
        )

    # ---- tasks and trainings
    async def tasks(request: Request) -> Response:
        from lmlab.data.registry import DATASETS

        out = []
        for spec in TASKS.values():
            out.append(
                {
                    "name": spec.name,
                    "summary": spec.summary,
                    "families": list(spec.family_table()),
                    "data": [d.name for d in DATASETS.values() if d.kind in spec.data_kinds],
                    "takes_tokenizer": spec.compare_profile().takes_tokenizer,
                    "presets": spec.preset_names(),
                }
            )
        return JSONResponse({"tasks": out})

    async def train(request: Request) -> Response:
        body = await json_body(request)
        try:
            job = await run_in_threadpool(jobs.start, body)
        except ValueError as e:
            raise BadRequest(str(e)) from None
        except RuntimeError as e:
            raise BadRequest(str(e), 409) from None
        return JSONResponse({"job": job.id, **job.describe()})

    def job_or_404(job_id: str) -> Any:
        job = jobs.jobs.get(job_id)
        if job is None:
            raise BadRequest(f"no job {job_id!r}", 404)
        return job

    async def list_jobs(request: Request) -> Response:
        return JSONResponse({"jobs": [j.describe() for j in jobs.jobs.values()]})

    async def job_state(request: Request) -> Response:
        return JSONResponse(job_or_404(request.path_params["id"]).describe())

    async def job_stop(request: Request) -> Response:
        job = job_or_404(request.path_params["id"])
        jobs.stop(job)
        return JSONResponse(job.describe())

    async def job_events(request: Request) -> Response:
        job = job_or_404(request.path_params["id"])

        async def events():
            offset = 0
            while True:
                if await request.is_disconnected():
                    return
                done = job.process.poll() is not None
                rows, offset = read_new_rows(job.metrics_file(), offset)
                for row in rows:
                    yield f"event: metrics\ndata: {json.dumps(row)}\n\n"
                if done:
                    state = job.describe()
                    placed = await run_in_threadpool(index.walk)
                    rel = state["out"]
                    state["run"] = next((f.id for f in placed if f.kind == "run" and f.rel == rel), None)
                    yield f"event: end\ndata: {json.dumps(state)}\n\n"
                    return
                await asyncio.sleep(0.25)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})

    # ---- comparison reports
    async def reports(request: Request) -> Response:
        found = await run_in_threadpool(index.walk)
        return JSONResponse({"reports": [{"id": f.id, "path": f.rel} for f in found if f.kind == "report"]})

    async def report_file(request: Request) -> Response:
        try:
            found = index.find(request.path_params["id"], kind="report")
        except KeyError:
            return error("no such report", 404)
        name = request.path_params["name"]
        path = found.path / name
        if (
            "/" in name
            or name.startswith(".")
            or not name.endswith(REPORT_FILES)
            or path.is_symlink()
            or not path.is_file()
        ):
            return error(f"no file {name!r} in this report", 404)
        return FileResponse(path)

    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except BadRequest as e:
                return error(str(e), e.status)
            except LmlabError as e:
                return error(str(e), 400)

        return run

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/runs", guarded(list_runs)),
        Route("/api/runs/{id}", guarded(describe)),
        Route("/api/runs/{id}/predict", guarded(predict), methods=["POST"]),
        Route("/api/runs/{id}/explain", guarded(explain), methods=["POST"]),
        Route("/api/runs/{id}/analogy", guarded(analogy), methods=["POST"]),
        Route("/api/runs/{id}/generate", guarded(generate)),
        Route("/api/tasks", guarded(tasks)),
        Route("/api/status", guarded(status)),
        Route("/api/train", guarded(train), methods=["POST"]),
        Route("/api/jobs", guarded(list_jobs)),
        Route("/api/jobs/{id}", guarded(job_state)),
        Route("/api/jobs/{id}/events", guarded(job_events)),
        Route("/api/jobs/{id}/stop", guarded(job_stop), methods=["POST"]),
        Route("/api/reports", guarded(reports)),
        Route("/reports/{id}/{name}", report_file),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        return error("no such page" if status == 404 else f"method not allowed here ({request.method})", status)

    async def server_error(request: Request, exc: Exception) -> Response:
        return error(f"the server failed on this request ({type(exc).__name__}); see the server's log", 500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        await run_in_threadpool(jobs.stop_all)  # a training started here stops (and is saved) with the server

    app = Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: not_found, 500: server_error},
        lifespan=lifespan,
    )
    app.state.index, app.state.jobs, app.state.streams, app.state.token = index, jobs, streams, token
    guard = Guard(app, token, host)
    guard.state = app.state  # type: ignore[attr-defined]
    return guard


def _first(method: Any) -> str:
    """The name of a method's first parameter (its input)."""
    return next(iter(inspect.signature(method).parameters))


def _next_step(steps: Any, lock: threading.Lock) -> dict[str, Any] | None:
    with lock:
        return next(steps, None)


__all__ = ["MAX_GENERATE", "MAX_INPUTS", "create_app"]
