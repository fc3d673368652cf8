"""The playground page of ``lmlab serve`` in a real browser (Playwright driving Debian's chromium).

One server is started (``lmlab serve --root ROOT --port 0``) over tiny runs of every task trained once for the
module. For every task's view the page renders, an interaction gives the model's own answer (equal to
``lmlab.load(RUN).predict`` / ``explain`` on the same input, read from the numbers the page keeps in its
``data-value`` attributes), generation streams the tokens ``generate`` gives with the same seed, one after another,
and the convolution worked by hand in JavaScript gives ``lmlab conv``'s numbers. A training started from the page
shows its curve and can be stopped (when the named corpus it trains on, cora, is in the data directory).

Every page fails its test on a request to any host but the server, on a script error and on a Content Security
Policy violation. A screenshot of each view is written to ``$LMLAB_SCREENSHOTS`` (``docs/playground`` for the
README) or to a temporary folder.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("starlette", reason="lmlab serve needs the serve extra: pip install -e '.[serve]'")

import lmlab  # noqa: E402
from lmlab.cli.main import main  # noqa: E402
from lmlab.serve.app import decode_image  # noqa: E402
from tests.classify.test_task import make_examples, write_tsv  # noqa: E402
from tests.graph.conftest import write_graph  # noqa: E402
from tests.tag.test_cli import pos_sentence, write_conllu  # noqa: E402
from tests.translate.conftest import write_corpus as write_parallel  # noqa: E402
from tests.vision.conftest import write_mnist_like  # noqa: E402
from tests.word2vec.conftest import write_corpus as write_word2vec_corpus  # noqa: E402

TOKEN = "browser-test-token"
LINES = [f"the {a} {v} on the {b}" for a in ("cat", "dog", "bird") for v in ("sat", "slept") for b in ("mat", "log")]
STEPS = ["--max-steps", "5", "--epochs", "1", "--batch-size", "4", "--seq-len", "8", "--device", "cpu", "--seed", "1"]
NEURAL = ["--device", "cpu", "--seed", "1"]


def train_runs(root: Path, data: Path, trained=lambda name: None) -> None:
    """One tiny run of each task (three language models: an n-gram, a GRU, a Transformer) and a comparison report;
    ``trained(name)`` after each run."""
    lm = data / "lm"
    lm.mkdir(parents=True)
    (lm / "train.txt").write_text("\n".join(LINES * 3) + "\n", encoding="utf-8")
    (lm / "valid.txt").write_text("the cat sat on the log\nthe bird slept\n", encoding="utf-8")
    (lm / "test.txt").write_text("the dog sat on the mat\nthe cow sat\n", encoding="utf-8")
    texts = data / "sentiment"
    texts.mkdir()
    for split, n, seed in (("train", 120, 0), ("valid", 20, 1), ("test", 20, 2)):
        write_tsv(texts / f"{split}.tsv", make_examples(n, seed))
    tags = data / "tags"
    tags.mkdir()
    rng = random.Random(0)
    for split, n in (("train", 60), ("dev", 8), ("test", 4)):
        write_conllu(tags / f"toy-ud-{split}.conllu", [pos_sentence(rng) for _ in range(n)])
    parallel = write_parallel(data / "toy", sizes=(("train", 200), ("valid", 8), ("test", 4)))
    words = write_word2vec_corpus(data / "topics.txt", n=200)
    images = data / "digits"
    write_mnist_like(images, 60, 12)
    graph = write_graph(data / "graph" / "tiny")
    runs = {
        "lm/trigram": ["--model", "ngram", "--order", "3", "--data", lm],
        "lm/gru": ["--model", "gru", "--d-embed", "6", "--d-hidden", "5", "--data", lm, *STEPS],
        "lm/transformer": ["--model", "transformer", "--n-layer", "2", "--n-head", "2", "--d-model", "8",
                           "--block-size", "8", "--warmup-steps", "0", "--data", lm, *STEPS],
        "classify/attention": ["--task", "classify", "--model", "attention", "--d-embed", "8", "--d-hidden", "4",
                               "--d-attention", "4", "--hops", "2", "--data", texts, "--epochs", "1",
                               "--batch-size", "40", *NEURAL],
        "translate/bahdanau": ["--task", "translate", "--model", "bahdanau", "--d-embed", "12", "--d-hidden", "12",
                               "--d-attention", "8", "--data", parallel, "--src", "de", "--tgt", "en", "--tokenizer",
                               "word", "--epochs", "2", "--batch-size", "25", "--lr", "1e-2", "--no-val-bleu",
                               "--main-metric", "loss", *NEURAL],
        "word2vec/skipgram": ["--task", "word2vec", "--model", "skipgram", "--dim", "8", "--min-count", "2",
                              "--epochs", "1", "--threads", "1", "--seed", "1", "--data", words],
        "image/lenet5": ["--task", "image", "--model", "lenet5", "--data", images, "--epochs", "1",
                         "--batch-size", "32", *NEURAL],
        "graph/gat": ["--task", "graph", "--model", "gat", "--hidden", "4", "--heads", "2", "--data", graph,
                      "--split", "random", "--split-seed", "1", "--train-per-class", "5", "--num-valid", "15",
                      "--num-test", "30", "--epochs", "3", "--lr", "0.05", "--device", "cpu"],
        "tag/hmm": ["--task", "tag", "--model", "hmm", "--data", tags, "--seed", "1"],
    }  # fmt: skip
    for name, flags in runs.items():
        assert main(["train", *map(str, flags), "--out", str(root / name)]) == 0, name
        trained(name)
    report = ["compare", "--data", str(lm), "--models", "ngram", "--tokenizer", "word", "--out", str(root / "report")]
    assert main(report) == 0


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks run fastest on one thread, the more so on a shared machine; the server (started inside) and
    this process then also compute in the same order, so their numbers agree to the last bit."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LMLAB_THREADS", "1")
        yield


@contextlib.contextmanager
def serving(root: Path):
    """``lmlab serve`` on a free port over ``root``: its base URL (http://127.0.0.1:PORT); SIGTERM, then SIGKILL."""
    argv = [sys.executable, "-m", "lmlab", "serve", "--root", str(root), "--port", "0", "--token", TOKEN]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(120)
    try:
        found = re.search(r"at (http://127\.0\.0\.1:\d+)/\?token=(\S+)", first[0] if first else "")
        assert found, f"lmlab serve printed {first!r}"
        assert found.group(2) == TOKEN
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keep its pipe from filling
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load_in_server(base: str, path: str) -> None:
    """Ask the server to describe the run at ``path``, which loads it (and PyTorch, the first time)."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/runs", headers=auth), timeout=120) as answer:
        run = next(r["id"] for r in json.load(answer)["runs"] if r["path"] == path)
    urllib.request.urlopen(urllib.request.Request(f"{base}/api/runs/{run}", headers=auth), timeout=120).close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, one_thread):
    """The server, started on an empty root that the runs are then trained into (it finds runs as they appear):
    it starts, and loads its first neural model, while the test process trains the others."""
    base = tmp_path_factory.mktemp("playground")
    root = base / "runs"
    root.mkdir()
    with serving(root) as url:
        warm = threading.Thread(target=load_in_server, args=(url, "lm/gru"), daemon=True)
        train_runs(root, base / "data", trained=lambda name: warm.start() if name == "lm/gru" else None)
        warm.join(120)
        yield url, root


@pytest.fixture(scope="module")
def server(served) -> str:
    return served[0]


@pytest.fixture(scope="module")
def root(served) -> Path:
    return served[1]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("LMLAB_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(browser, server):
    """A page opened at the start-up URL; afterwards, no request went to another host, no script failed and no
    Content Security Policy was violated."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    ours = urlsplit(server).netloc
    foreign, problems = [], []

    def only_ours(route):
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != ours:
            foreign.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_ours)  # the page and any tab it opens (a report)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{server}/?token={TOKEN}")
    page.wait_for_selector("#runs[data-state=ready]")
    yield page
    context.close()
    assert not foreign, f"requests to other hosts: {foreign}"
    assert not problems, problems


def open_run(page, path: str) -> None:
    page.click(f'button.run[data-path="{path}"]')
    page.wait_for_selector(f"#view[data-view]:not([data-view=loading]) h2:has-text('{path}')")


def values(page, selector: str, key: str = "value") -> list[str]:
    return page.eval_on_selector_all(selector, f"els => els.map(e => e.dataset.{key})")


def view_shot(page, path: Path) -> None:
    """A screenshot of the view (the list of runs beside it is in runs.png)."""
    page.locator("#view").screenshot(path=path)


def numbers(page, selector: str, key: str = "value") -> list[float]:
    return [float(v) for v in values(page, selector, key)]


def texts(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.textContent)")


def wait_ready(page, selector: str, text: str | None = None) -> None:
    """Wait until the panel ``selector`` shows an answer (to ``text`` when given: not one to an earlier input)."""
    page.wait_for_function(
        "([sel, text]) => { const e = document.querySelector(sel);"
        " return e && e.dataset.state === 'ready' && (text === null || e.dataset.for === text); }",
        arg=[selector, text],
    )


# ---- the list of runs


def test_the_list_shows_every_run_with_its_task_data_and_metrics(page, root, shots):
    listed = dict(
        zip(values(page, "button.run", "path"), zip(values(page, "button.run", "task"), texts(page, "button.run")))
    )
    for path in ["lm/trigram", "lm/gru", "lm/transformer", "classify/attention", "translate/bahdanau",
                 "word2vec/skipgram", "image/lenet5", "graph/gat", "tag/hmm", "report/runs/ngram"]:  # fmt: skip
        assert listed[path][0] == json.loads((root / path / "config.json").read_text()).get("task", "lm")
    assert "val perplexity" in listed["lm/gru"][1] and "lm" in listed["lm/gru"][1]
    page.screenshot(path=shots / "runs.png")


# ---- language models


def test_generation_streams_the_models_tokens_one_by_one(page, root, shots):
    open_run(page, "lm/trigram")
    page.evaluate(
        """() => { window.appended = [];
        new MutationObserver(records => { for (const r of records) for (const n of r.addedNodes)
          if (n.dataset && n.dataset.token !== undefined) window.appended.push([n.dataset.index, n.textContent]); })
        .observe(document.querySelector('#gen-output'), {childList: true}); }"""
    )
    page.fill("#gen-prompt", "the")
    page.fill("#gen-max", "12")
    page.fill("#gen-seed", "7")
    page.click("#gen-start")
    page.wait_for_selector("#gen-output[data-state=done]")
    expected = list(lmlab.load(root / "lm/trigram").generate("the", max_tokens=12, seed=7))
    assert [s["text"] for s in expected] == texts(page, "#gen-output .tok")
    assert [s["p"] for s in expected] == numbers(page, "#gen-output .tok", "p")
    assert page.evaluate("window.appended") == [[str(i), s["text"]] for i, s in enumerate(expected)]
    view_shot(page, shots / "lm-generate.png")


def test_generation_stops_when_asked(page):
    """Stop is pressed as the first token arrives (from the page itself, so nothing races it): the stream ends there,
    no token is shown after it, and the sample is left as it was (a thousand tokens were asked for)."""
    open_run(page, "lm/transformer")
    page.evaluate(
        """() => { window.late = 0; let pressed = false;
        new MutationObserver(records => {
          if (!records.some(r => [...r.addedNodes].some(n => n.dataset && n.dataset.token !== undefined))) return;
          if (pressed) { window.late++; return; }
          pressed = true; document.querySelector('#gen-stop').click(); })
        .observe(document.querySelector('#gen-output'), {childList: true}); }"""
    )
    page.fill("#gen-prompt", "the")
    page.fill("#gen-max", "1000")
    page.fill("#gen-topk", "1")  # the most likely token each time: after "the" it is not </s>, the sample goes on
    page.click("#gen-start")
    page.wait_for_selector("#gen-output[data-state=stopped]")
    assert page.evaluate("window.late") == 0
    assert 1 <= int(page.get_attribute("#gen-output", "data-tokens")) < 1000


def test_next_token_distributions_and_surprisal_side_by_side(page, root, shots):
    open_run(page, "lm/transformer")
    page.check("input[name=compare][value]:not(:checked) >> nth=0")
    page.check("input[name=compare][value]:not(:checked) >> nth=0")
    page.fill("#lm-context", "the cat")
    wait_ready(page, "#lm-columns", "the cat")
    columns = page.eval_on_selector_all(".lm-column", "cs => cs.map(c => c.dataset.run)")
    paths = {r["id"]: r["path"] for r in page.evaluate("state.runs")}
    assert sorted(paths[c] for c in columns) == ["lm/gru", "lm/transformer", "lm/trigram"]
    for run in columns:
        [want] = lmlab.load(root / paths[run]).predict(["the cat"], top_k=10)
        column = f".lm-column[data-run='{run}']"
        assert values(page, f"{column} .next .value", "label") == [n["token"] for n in want["next"]]
        assert [float(v) for v in values(page, f"{column} .next .value")] == [n["p"] for n in want["next"]]
        assert values(page, f"{column} .surprisal span[data-token]", "token") == want["tokens"]
        assert [float(v) for v in values(page, f"{column} .surprisal span[data-token]", "logprob")] == want["logprobs"]
    view_shot(page, shots / "lm-compare.png")


@pytest.mark.parametrize(
    "path, method, shot", [("lm/transformer", "attention", "lm-attention"), ("lm/gru", "recurrent", "lm-gates"),
                           ("lm/trigram", "backoff", "lm-backoff")]
)  # fmt: skip
def test_inside_each_language_model(page, root, shots, path, method, shot):
    open_run(page, path)
    page.fill("#lm-context", "the dog sat")
    page.click("#explain-button")
    page.wait_for_selector(f"#explain-output[data-state=ready][data-method={method}]")
    want = lmlab.load(root / path).explain("the dog sat")
    if method == "attention":
        page.select_option("#att-layer", "1")
        page.select_option("#att-head", "1")
        cells = numbers(page, "#att-map rect")
        assert cells == [v for row in want["layers"][1]["heads"][1] for v in row]
    elif method == "recurrent":
        page.select_option("#gate-pick", "0:update")
        cells = numbers(page, "#gate-map rect")
        g = np.asarray(want["layers"][0]["gates"]["update"]["first_units"])
        assert np.allclose(cells, ((g - g.min()) / (g.max() - g.min())).ravel(), rtol=0, atol=1e-12)
    else:
        assert values(page, "#backoff-table tbody tr", "token") == [s["token"] for s in want["steps"]]
        assert values(page, "#backoff-table tbody tr", "order") == [str(s["order"]) for s in want["steps"]]
        assert numbers(page, "#backoff-table td[data-value]") == [s["prob"] for s in want["steps"]]
    view_shot(page, shots / f"{shot}.png")


# ---- the other tasks


def test_classification_as_you_type(page, root, shots):
    open_run(page, "classify/attention")
    text = "a superb and lovely film"
    page.type("#cls-text", text)
    wait_ready(page, "#cls-result", text)
    model = lmlab.load(root / "classify/attention")
    [want] = model.predict([text])
    assert values(page, "#cls-label") == [want["label"]]
    assert (
        dict(zip(values(page, "#cls-probs .value", "label"), numbers(page, "#cls-probs .value")))
        == want["probabilities"]
    )
    assert numbers(page, "#cls-words span", "weight") == model.explain(text)["weights"]
    view_shot(page, shots / "classify.png")


def test_translation_nbest_and_alignment(page, root, shots):
    open_run(page, "translate/bahdanau")
    page.fill("#tr-source", "ein hund läuft .")
    page.fill("#tr-beam", "3")
    page.fill("#tr-nbest", "3")
    page.click("#tr-go")
    wait_ready(page, "#tr-result", "ein hund läuft .")
    model = lmlab.load(root / "translate/bahdanau")
    [want] = model.predict(["ein hund läuft ."], beam=3, n_best=3)
    assert values(page, "#tr-translation") == [want["translation"]]
    assert values(page, "#tr-nbest-list td[data-value]:nth-child(2)") == [h["translation"] for h in want["nbest"]]
    assert numbers(page, "#tr-nbest-list td:nth-child(3)") == [h["score"] for h in want["nbest"]]
    explained = model.explain("ein hund läuft .")
    assert numbers(page, "#tr-alignment rect") == [v for row in explained["alignment"] for v in row]
    view_shot(page, shots / "translate.png")


def test_word_vectors_neighbours_analogies_and_projection(page, root, shots):
    open_run(page, "word2vec/skipgram")
    model = lmlab.load(root / "word2vec/skipgram")
    page.fill("#w2v-word", "king")
    page.fill("#w2v-topn", "5")
    page.click("#w2v-go")
    wait_ready(page, "#w2v-neighbours", "king")
    [want] = model.predict(["king"], topn=5)
    assert values(page, "#w2v-neighbours .value", "label") == [n["word"] for n in want["neighbours"]]
    assert numbers(page, "#w2v-neighbours .value") == [n["cosine"] for n in want["neighbours"]]
    for k, word in zip("abc", ["cat", "dog", "king"]):
        page.fill(f"#w2v-{k}", word)
    page.click("#w2v-analogy-go")
    wait_ready(page, "#w2v-analogy")
    answers = model.analogy("cat", "dog", "king", topn=5)["answers"]
    assert values(page, "#w2v-analogy .value", "label") == [a["word"] for a in answers]
    page.fill("#w2v-words", "king queen cat dog car apple")
    page.click("#w2v-plot-go")
    wait_ready(page, "#w2v-plot")
    assert values(page, "#w2v-plot circle", "label") == ["king", "queen", "cat", "dog", "car", "apple"]
    view_shot(page, shots / "word2vec.png")


def test_an_image_drawn_and_an_image_uploaded(page, root, shots, tmp_path):
    from PIL import Image

    open_run(page, "image/lenet5")
    model = lmlab.load(root / "image/lenet5")
    box = page.locator("#img-canvas").bounding_box()
    with page.expect_request(lambda r: r.url.endswith("/predict")) as sent:
        page.mouse.move(box["x"] + 140, box["y"] + 50)
        page.mouse.down()
        for y in range(60, 240, 20):
            page.mouse.move(box["x"] + 140, box["y"] + y)
        page.mouse.up()
    wait_ready(page, "#img-result")
    [drawn] = json.loads(sent.value.post_data)["inputs"]
    [want] = model.predict([decode_image(drawn)])
    assert values(page, "#img-label") == [want["label"]]
    assert numbers(page, "#img-probs .value") == list(want["probabilities"].values())
    stages = model.explain(decode_image(drawn))["feature_maps"]
    assert values(page, "#img-maps .stage", "layer") == [s["layer"] for s in stages]
    view_shot(page, shots / "image.png")

    a = np.full((30, 40), 20, dtype=np.uint8)
    a[5:25, 18:22] = 230  # a vertical bar, light on dark
    Image.fromarray(a).save(tmp_path / "bar.png")
    page.set_input_files("#img-file", str(tmp_path / "bar.png"))
    page.wait_for_selector("#img-result[data-state=ready] >> text=bar.png")
    [want] = model.predict([np.asarray(Image.open(tmp_path / "bar.png"))])
    assert numbers(page, "#img-probs .value") == list(want["probabilities"].values())
    sent_png = base64.b64encode((tmp_path / "bar.png").read_bytes()).decode()
    assert np.array_equal(decode_image({"png": sent_png}), np.asarray(Image.open(tmp_path / "bar.png")))


def lmlab_conv_matrices(capsys, *args: str) -> dict[str, list[list[float]]]:
    """The matrices ``lmlab conv`` prints, by the heading above each (``feature map``, ``pooled``, ...)."""
    assert main(["conv", *args]) == 0
    out: dict[str, list[list[float]]] = {}
    heading = None
    for line in capsys.readouterr().out.splitlines():
        if line.strip().startswith("["):
            out.setdefault(heading, []).append([float(v) for v in line.strip(" []").split()])
        elif line.endswith(":"):
            heading = line.split(" (")[0].rstrip(":")
    return out


def page_matrix(page, table: str) -> list[list[float]]:
    rows = page.eval_on_selector_all(f"{table} tr", "rs => rs.map(r => [...r.cells].map(c => c.dataset.value))")
    return [[float(v) for v in row] for row in rows]


@pytest.mark.parametrize(
    "image, kernel, padding, stride, activation, pool",
    [("1 2 3; 4 5 6; 7 8 9", "1 2; 3 4", "1,0,1,0", "1", "abs(50-x)", "2"),  # the lecture's padded example
     ("0 1 2 3 4; 5 6 7 8 9; 1 0 1 0 1; 2 2 2 2 2; 9 8 7 6 5", "1 0 -1; 2 0 -2; 1 0 -1", "1", "2", "relu", "2")],
)  # fmt: skip
def test_the_convolution_by_hand_gives_lmlab_convs_numbers(page, shots, capsys, image, kernel, padding, stride,
                                                            activation, pool):  # fmt: skip
    open_run(page, "image/lenet5")
    page.fill("#conv-image", image)
    page.fill("#conv-kernel", kernel)
    page.fill("#conv-padding", padding)
    page.fill("#conv-stride", stride)
    page.select_option("#conv-activation", activation)
    page.fill("#conv-pool", pool)
    page.click("#conv-go")
    wait_ready(page, "#conv-output")
    formula = "relu(x)" if activation == "relu" else activation
    want = lmlab_conv_matrices(capsys, "--image", image, "--kernel", kernel, "--padding", padding, "--stride", stride,
                               "--activation", formula, "--pool", pool)  # fmt: skip
    assert page_matrix(page, "#conv-feature-map") == want["feature map"]
    assert page_matrix(page, "#conv-activated") == want[f"activation {formula}"]
    assert page_matrix(page, "#conv-pooled") == want["pooled"]
    page.click("#conv-feature-map tr:nth-child(2) td:nth-child(2) button")
    assert page.text_content("#conv-step").startswith("out[1,1] = ")
    if padding == "1,0,1,0":
        page.locator("#conv-output").screenshot(path=shots / "conv.png")
    page.fill("#conv-stride", "5")  # (W - K + P)/5 + 1 is not an integer: refused as lmlab conv refuses it
    page.click("#conv-go")
    page.wait_for_selector("#conv-output[data-state=error] >> text=is not an integer")


def test_graph_pick_a_node(page, root, shots):
    open_run(page, "graph/gat")
    wait_ready(page, "#graph-result")
    model = lmlab.load(root / "graph/gat")
    first = model.predict([0], by_index=True)[0]
    assert page.input_value("#graph-node") == first["node"]
    neighbour = first["neighbours"][0]
    page.click(f"#graph-neighbours button:text-is('{neighbour}')")
    wait_ready(page, "#graph-result", neighbour)
    [want] = model.predict([neighbour])
    assert values(page, "#graph-label") == [want["label"]]
    assert numbers(page, "#graph-probs .value") == list(want["probabilities"].values())
    assert texts(page, "#graph-neighbours button") == want["neighbours"]
    explained = model.explain(neighbour)
    layer = explained["attention"]["layers"][0]
    assert numbers(page, "#graph-attention figure:first-child rect") == [v for r in layer for v in r]
    assert len(values(page, "#graph-plot circle", "label")) == len(explained["embeddings"]["ids"])
    assert values(page, "#graph-plot circle.picked", "label") == [neighbour]
    view_shot(page, shots / "graph.png")


def test_tagger_pairs_and_distributions(page, root, shots):
    open_run(page, "tag/hmm")
    sentence = "the old man sees a dog ."
    page.type("#tag-text", sentence)
    wait_ready(page, "#tag-result", sentence)
    model = lmlab.load(root / "tag/hmm")
    [want] = model.predict([sentence])
    assert values(page, "#tag-pairs .pair", "tag") == want["tags"]
    assert values(page, "#tag-pairs .pair", "token") == want["tokens"]
    probs = model.explain(sentence)["probabilities"]
    assert numbers(page, "#tag-probs rect") == [p for row in probs for p in row]
    view_shot(page, shots / "tag.png")


def test_reports_open_from_the_page(page, shots):
    page.click("header nav a:text-is('Reports')")
    wait_ready(page, "#reports-list")
    link = page.locator("#reports-list a:text-is('report')")
    with page.context.expect_page() as opened:
        link.click()
    report = opened.value
    report.wait_for_load_state()
    assert report.locator("table#results td:text-is('ngram')").count() == 1
    report.close()


def test_training_from_the_page_shows_its_curve_and_stops(page, server, shots):
    from lmlab.data.registry import DATASETS, data_dir

    if not all((data_dir() / f.path).is_file() for f in DATASETS["cora"].files if not f.optional):
        pytest.skip(f"the cora corpus is not in {data_dir()}")
    page.click("header nav a:text-is('Train')")
    page.select_option("#train-task", "graph")
    page.select_option("#train-model", "gcn")
    page.fill("#train-data", "cora")
    page.fill("#train-seconds", "300")
    page.click("#train-start")
    page.wait_for_selector("#train-status[data-status=running]")
    page.wait_for_function(  # the first rows come once lmlab train has started (seconds, on a busy machine)
        "() => { const c = document.querySelector('#train-chart').dataset; return c.train >= 3 && c.valid >= 3; }",
        timeout=120_000,
    )
    assert page.locator("#train-chart polyline.series-valid").count() == 1
    view_shot(page, shots / "train.png")
    page.click("#train-stop")
    page.wait_for_selector("#train-status[data-status=stopped]", timeout=60_000)
    path = page.text_content("#train-run")
    assert path.startswith("playground/graph-gcn-")
    page.wait_for_selector(f'button.run[data-path="{path}"]')  # the list of runs was read again
