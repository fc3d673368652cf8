"""lmlab serve's HTTP API through Starlette's test client: every endpoint against ``lmlab.load`` on the same runs,
the guard (token, Host, Origin, JSON, body size), bad input as one JSON line with a 4xx status, and no path from a
request reaching outside the root."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

import lmlab  # noqa: E402
from lmlab.cli.main import main  # noqa: E402
from lmlab.serve.app import MAX_INPUTS, create_app  # noqa: E402
from lmlab.serve.security import MAX_BODY  # noqa: E402
from tests.api.test_lm import LINES  # noqa: E402
from tests.vision.conftest import write_mnist_like  # noqa: E402
from tests.word2vec.conftest import write_corpus  # noqa: E402

TOKEN = "test-token-1234"
BASE = "http://127.0.0.1:8000"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STEP = ["--max-steps", "1", "--epochs", "1", "--batch-size", "4", "--seq-len", "8"]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A root with an n-gram and a GRU language model, word vectors and an image classifier, one of each trained
    for a step, a comparison-report folder, and a secret file beside the root that nothing may serve."""
    top = tmp_path_factory.mktemp("serve")
    root = top / "runs"
    root.mkdir()
    (top / "secret.txt").write_text("not for the page")
    data = top / "corpus"
    data.mkdir()
    (data / "train.txt").write_text("\n".join(LINES * 3) + "\n")
    (data / "valid.txt").write_text("the cat sat on the log\nthe bird slept\n")
    (data / "test.txt").write_text("the dog sat on the mat\nthe cow sat\n")
    trainings = [
        ["--model", "ngram", "--order", "3", "--data", data, "--out", root / "ngram"],
        ["--model", "gru", "--d-embed", "6", "--d-hidden", "5", *STEP, "--data", data, "--out", root / "lms" / "gru"],
        ["--task", "word2vec", "--model", "skipgram", "--data", write_corpus(top / "w2v.txt", n=200),
         "--dim", "8", "--min-count", "2", "--epochs", "1", "--threads", "1", "--seed", "1", "--out", root / "w2v"],
    ]  # fmt: skip
    images = top / "idx"
    images.mkdir()
    write_mnist_like(images, 60, 12)
    trainings.append(["--task", "image", "--model", "mlp", "--hidden", "16", "--data", images, "--epochs", "1",
                      "--device", "cpu", "--out", root / "digits"])  # fmt: skip
    for argv in trainings:
        assert main(["train", *map(str, argv)]) == 0
    report = root / "cmp"
    report.mkdir()
    (report / "results.json").write_text("{}")
    (report / "report.html").write_text("<html><body>report</body></html>")
    os.symlink(top / "secret.txt", report / "linked.html")
    return root


@pytest.fixture(scope="module")
def client(root):
    with TestClient(create_app(root, token=TOKEN), base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def ids(client) -> dict[str, str]:
    r = client.get("/api/runs", headers=AUTH)
    assert r.status_code == 200
    return {run["path"]: run["id"] for run in r.json()["runs"]}


def post(client, path, body, **headers):
    return client.post(path, content=json.dumps(body), headers={**AUTH, "Content-Type": "application/json", **headers})


def one_line_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    message = r.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


# ---- listing and describing
def test_runs_are_listed_with_task_family_path_and_metrics(client, ids):
    runs = {r["path"]: r for r in client.get("/api/runs", headers=AUTH).json()["runs"]}
    assert set(runs) == {"ngram", "lms/gru", "w2v", "digits"}
    assert (runs["lms/gru"]["task"], runs["lms/gru"]["family"]) == ("lm", "gru")
    assert runs["digits"]["task"] == "image" and runs["w2v"]["task"] == "word2vec"
    assert any(k.startswith("final_val_") for k in runs["lms/gru"]["metrics"])
    for run in runs.values():
        assert len(run["id"]) == 16 and "/" not in run["id"] and not run["path"].startswith("/")


def test_describe_equals_lmlab_load(client, root, ids):
    r = client.get(f"/api/runs/{ids['lms/gru']}", headers=AUTH).json()
    expected = lmlab.load(root / "lms" / "gru").describe()
    assert r["parameters"] == expected["parameters"] and r["family"] == "gru" and r["verbs"] == ["generate"]
    assert r["path"] == "lms/gru" and r["inputs"] == "text"


# ---- each verb equals the API's
def test_predict_and_explain_equal_lmlab_load(client, root, ids):
    for path in ("ngram", "lms/gru"):
        m = lmlab.load(root / path)
        r = post(client, f"/api/runs/{ids[path]}/predict", {"inputs": ["the cat sat"], "options": {"top_k": 3}})
        assert r.status_code == 200, r.text
        assert r.json()["outputs"] == json.loads(json.dumps(m.predict(["the cat sat"], top_k=3)))
        r = post(client, f"/api/runs/{ids[path]}/explain", {"input": "the cat sat"})
        assert r.status_code == 200 and r.json() == json.loads(json.dumps(m.explain("the cat sat")))


def test_generation_streams_the_apis_tokens_in_order(client, root, ids):
    m = lmlab.load(root / "lms" / "gru")
    expected = [s["token"] for s in m.generate("the", max_tokens=12, seed=7, temperature=1.0)]
    url = f"/api/runs/{ids['lms/gru']}/generate?prompt=the&max_tokens=12&seed=7&temperature=1.0"
    with client.stream("GET", url, headers=AUTH) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    events = [block for block in body.split("\n\n") if block.strip()]
    tokens = [json.loads(e.removeprefix("data: "))["token"] for e in events if e.startswith("data: ")]
    assert tokens == expected and events[-1].startswith("event: done")
    assert client.app.state.streams["active"] == 0


def test_word_vectors_neighbours_and_analogies(client, root, ids):
    m = lmlab.load(root / "w2v")
    word = m.vectors.index_to_key[0] if hasattr(m.vectors, "index_to_key") else m.predict(["king"])[0]["word"]
    r = post(client, f"/api/runs/{ids['w2v']}/predict", {"inputs": [word], "options": {"topn": 3}})
    assert r.status_code == 200 and r.json()["outputs"] == json.loads(json.dumps(m.predict([word], topn=3)))
    r = post(client, f"/api/runs/{ids['w2v']}/analogy", {"a": "king", "b": "queen", "c": "cat"})
    assert r.status_code == 200 and r.json()["outputs"] == json.loads(json.dumps(m.analogy("king", "queen", "cat")))
    message = one_line_error(post(client, f"/api/runs/{ids['ngram']}/analogy", {"a": "a", "b": "b", "c": "c"}), 400)
    assert "answers no analogies" in message


def test_images_as_png_or_pixels_equal_lmlab_load(client, root, ids):
    from PIL import Image

    m = lmlab.load(root / "digits")
    a = np.zeros((28, 28), np.uint8)
    a[4:24, 12:16] = 255
    buffer = io.BytesIO()
    Image.fromarray(a).save(buffer, format="PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    r = post(client, f"/api/runs/{ids['digits']}/predict", {"inputs": [{"png": png}, {"pixels": a.tolist()}]})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"] == json.loads(json.dumps(m.predict([a, a])))  # the same batch: the same numbers
    r = post(client, f"/api/runs/{ids['digits']}/explain", {"input": {"pixels": a.tolist()}})
    assert r.status_code == 200 and r.json()["feature_maps"] == json.loads(json.dumps(m.explain(a)))["feature_maps"]


# ---- bad input: one JSON line, 4xx
@pytest.mark.parametrize(
    "path, body, status, message",
    [
        ("ngram/predict", {"inputs": []}, 400, "inputs must be a non-empty JSON list"),
        ("ngram/predict", {"inputs": "the cat"}, 400, "inputs must be a non-empty JSON list"),
        ("ngram/predict", {"inputs": ["x"] * (MAX_INPUTS + 1)}, 400, f"at most {MAX_INPUTS} inputs"),
        ("ngram/predict", {"inputs": ["x" * 5000]}, 400, "longer than 4,000 characters"),
        ("ngram/predict", {"inputs": [""]}, 400, "empty"),
        ("ngram/predict", {"inputs": [{"a": 1}]}, 400, "an input is a string"),
        ("ngram/predict", {"inputs": ["a"], "options": {"bogus": 1}}, 400, "unknown option 'bogus'"),
        ("ngram/predict", {"inputs": ["a"], "options": {"top_k": 10**9}}, 400, "at most 1,000"),
        ("ngram/predict", {"inputs": ["a"], "options": {"top_k": [1]}}, 400, "must be a number"),
        ("ngram/predict", {"inputs": ["a"], "options": []}, 400, "options must be a JSON object"),
        ("ngram/explain", {}, 400, 'give the "input"'),
        ("digits/predict", {"inputs": ["not an image"]}, 400, "an image is"),
        ("digits/predict", {"inputs": [{"png": "%%%"}]}, 400, "not valid base64"),
        ("digits/predict", {"inputs": [{"png": base64.b64encode(b"GIF89a nonsense").decode()}]}, 400, "not an image"),
        ("digits/predict", {"inputs": [{"pixels": [[1, 2], [3]]}]}, 400, "pixels must be"),
        ("digits/predict", {"inputs": [{"pixels": [[0] * 5000]}]}, 400, "at most 4096 a side"),
        ("w2v/predict", {"inputs": ["nosuchword"]}, 400, "nosuchword"),
    ],
)
def test_bad_input_is_one_json_line(client, ids, path, body, status, message):
    run, verb = path.split("/")
    assert message in one_line_error(post(client, f"/api/runs/{ids[run]}/{verb}", body), status)


def test_a_png_claiming_huge_dimensions_is_refused_from_its_header(client, ids):
    from tests.safety.test_cli_bounds import png_header

    png = base64.b64encode(png_header(100_000, 100_000)).decode()
    message = one_line_error(post(client, f"/api/runs/{ids['digits']}/predict", {"inputs": [{"png": png}]}), 400)
    assert "100000 x 100000" in message or "not an image" in message


def test_bad_generation_requests(client, ids):
    gru = ids["lms/gru"]
    for query, message in [
        ("max_tokens=0", "max_tokens must be from 1 to 1000"),
        ("max_tokens=abc", "max_tokens must be an integer"),
        ("temperature=-1", "temperature"),
        ("top_p=2", "top_p"),
        ("prompt=" + "x" * 5000, "longer than 4,000"),
    ]:
        assert message in one_line_error(client.get(f"/api/runs/{gru}/generate?{query}", headers=AUTH), 400)
    message = one_line_error(client.get(f"/api/runs/{ids['w2v']}/generate", headers=AUTH), 400)
    assert "does not generate text" in message
    assert client.app.state.streams["active"] == 0


def test_unknown_ids_pages_and_methods(client):
    assert "no run" in one_line_error(client.get("/api/runs/0123456789abcdef", headers=AUTH), 404)
    one_line_error(post(client, "/api/runs/../../etc/passwd/predict", {"inputs": ["a"]}), 404)
    one_line_error(post(client, "/api/runs/..%2F..%2Fetc%2Fpasswd/predict", {"inputs": ["a"]}), 404)
    one_line_error(client.get("/nothing/here", headers=AUTH), 404)
    one_line_error(client.get("/static/../app.py", headers=AUTH), 404)
    one_line_error(client.put("/api/runs", headers=AUTH), 405)
    one_line_error(post(client, "/api/runs", {}), 405)


def test_nothing_outside_the_root_is_served(client, root):
    reports = client.get("/api/reports", headers=AUTH).json()["reports"]
    assert [r["path"] for r in reports] == ["cmp"]
    rid = reports[0]["id"]
    r = client.get(f"/reports/{rid}/report.html", headers=AUTH)
    assert r.text.startswith("<html>") and "style-src 'self' 'unsafe-inline'" in r.headers["content-security-policy"]
    assert "script-src" not in r.headers["content-security-policy"]  # inline scripts stay refused
    for name in ("linked.html", "..%2Fsecret.txt", "%2E%2E", ".hidden.html", "results.py"):
        r = client.get(f"/reports/{rid}/{name}", headers=AUTH)
        assert r.status_code == 404 and "not for the page" not in r.text


def test_runs_behind_symbolic_links_are_not_listed(root, tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "run").mkdir(parents=True)
    (outside / "run" / "config.json").write_text('{"format": "lmlab-run", "version": 1, "task": "lm"}')
    linked_root = tmp_path / "root"
    linked_root.mkdir()
    os.symlink(outside, linked_root / "link")
    with TestClient(create_app(linked_root, token=TOKEN), base_url=BASE) as c:
        assert c.get("/api/runs", headers=AUTH).json() == {"runs": []}


# ---- the guard
def test_the_token_is_required(client):
    assert "token" in one_line_error(client.get("/api/runs"), 401)
    assert "token" in one_line_error(client.get("/api/runs", headers={"Authorization": "Bearer wrong"}), 401)
    assert "token" in one_line_error(client.get("/?token=wrong"), 401)
    r = client.get(f"/?token={TOKEN}")
    assert r.status_code == 200 and "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=strict" in r.headers["set-cookie"].lower()
    with TestClient(client.app, base_url=BASE) as fresh:  # the cookie alone authorises the page's GETs
        fresh.cookies.set("lmlab_token", TOKEN)
        assert fresh.get("/api/runs").status_code == 200


def test_host_origin_and_content_type_are_checked(client, ids):
    url = f"/api/runs/{ids['ngram']}/predict"
    for host in ("evil.example", "127.0.0.1.evil.example", "localhost.evil"):
        assert "is not this server" in one_line_error(client.get("/api/runs", headers={**AUTH, "Host": host}), 400)
    for host in ("localhost:8000", "127.0.0.1:9", "[::1]:8000"):
        assert client.get("/api/runs", headers={**AUTH, "Host": host}).status_code == 200
    assert "Origin" in one_line_error(post(client, url, {"inputs": ["a"]}, Origin="http://evil.example"), 403)
    assert post(client, url, {"inputs": ["a"]}, Origin=BASE).status_code == 200
    r = client.post(url, content=json.dumps({"inputs": ["a"]}), headers={**AUTH, "Content-Type": "text/plain"})
    assert "JSON" in one_line_error(r, 415)
    with TestClient(client.app, base_url=BASE) as page:  # the cookie without an Origin: not the page
        page.cookies.set("lmlab_token", TOKEN)
        r = page.post(url, content=json.dumps({"inputs": ["a"]}), headers={"Content-Type": "application/json"})
        assert "Origin" in one_line_error(r, 403)
    assert "not valid JSON" in one_line_error(
        client.post(url, content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}), 400
    )


def test_security_headers_and_no_cors(client, ids):
    for r in (client.get("/api/runs", headers=AUTH), client.get("/api/runs"), client.get(f"/?token={TOKEN}")):
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert not any(h.lower().startswith("access-control-") for h in r.headers)


def test_oversized_bodies_are_refused(client, ids):
    url = f"/api/runs/{ids['ngram']}/predict"
    big = b'{"inputs": ["' + b"a" * (MAX_BODY + 10) + b'"]}'
    assert "larger than" in one_line_error(
        client.post(url, content=big, headers={**AUTH, "Content-Type": "application/json"}), 413
    )

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"inputs": ["'
        for _ in range(MAX_BODY // (1 << 20) + 2):
            yield b"a" * (1 << 20)
        yield b'"]}'

    r = client.post(url, content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert "larger than" in one_line_error(r, 413)


# ---- trainings
def test_a_training_from_the_api_streams_its_metrics_and_can_be_stopped(client, root, tmp_path, monkeypatch):
    tasks = {t["name"]: t for t in client.get("/api/tasks", headers=AUTH).json()["tasks"]}
    assert "gru" in tasks["lm"]["families"] and "tinyshakespeare" in tasks["lm"]["data"]
    assert tasks["image"]["takes_tokenizer"] is False and "names-gru" in tasks["lm"]["presets"]
    for body, message in [
        ({"task": "nope", "model": "gru", "data": "names"}, "task must be one of"),
        ({"task": "lm", "model": "nope", "data": "names"}, "model must be one of"),
        ({"task": "lm", "model": "gru", "data": "/etc/passwd"}, "data must be a named corpus"),
        ({"task": "lm", "model": "gru", "data": "../secret.txt"}, "data must be a named corpus"),
        ({"task": "lm", "model": "gru", "data": "cmp/linked.html"}, "data must be a named corpus"),
        ({"task": "lm", "model": "gru", "data": "names", "max_seconds": 10**9}, "max_seconds must be"),
        ({"task": "lm", "model": "gru", "data": "names", "name": "../up"}, "name must be"),
    ]:
        assert message in one_line_error(post(client, "/api/train", body), 400)
    assert "preset must be" in one_line_error(
        post(client, "/api/train", {"model": "gru", "data": "names", "preset": "x"}), 400
    )
    corpus = root / "corpus"  # data under the root, enough for the default batch of 20 x 35 tokens
    corpus.mkdir(exist_ok=True)
    for split in ("train", "valid", "test"):
        (corpus / f"{split}.txt").write_text("\n".join(LINES * 40) + "\n")
    body = {"task": "lm", "model": "gru", "data": "corpus", "max_seconds": 300, "name": "page-gru"}
    r = post(client, "/api/train", body)
    assert r.status_code == 200, r.text
    job = r.json()["job"]
    assert "already running" in one_line_error(post(client, "/api/train", {**body, "name": "second"}), 409)
    rows, end = [], None
    with client.stream("GET", f"/api/jobs/{job}/events", headers=AUTH) as events:
        for block in _events(events):
            if block[0] == "metrics":
                rows.append(block[1])
                if any("val_loss" in row for row in rows) and len(rows) >= 2:
                    assert post(client, f"/api/jobs/{job}/stop", {}).status_code == 200
            elif block[0] == "end":
                end = block[1]
                break
    assert end is not None and end["status"] == "stopped", end
    assert [row["step"] for row in rows if "train_loss" in row][:2] == [2, 4]
    assert end["run"] in {r["id"] for r in client.get("/api/runs", headers=AUTH).json()["runs"]}
    assert lmlab.load(root / "playground" / "page-gru").family == "gru"


def _events(response):
    buffer = ""
    for text in response.iter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            kind, data = "message", ""
            for line in block.splitlines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data += line[6:]
            yield kind, json.loads(data or "{}")


def test_run_ids_are_stable_and_opaque(root):
    from lmlab.serve.runs import RunIndex

    a, b = RunIndex(root).walk(), RunIndex(root).walk()
    assert [f.id for f in a] == [f.id for f in b]
    assert all(str(root) not in f.id for f in a)
    assert time.time()  # the walk above took no model load
